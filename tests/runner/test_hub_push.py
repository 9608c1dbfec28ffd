"""`training.push_to_hub` before any weights load: a Hub token, the Hub not switched off, the Hub left on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from gkd_schema.cli.app import app
from gkd_schema.models import TrainingSection
from gkd_schema.runner.preflight.checklist import check_run
from gkd_schema.runner.preflight.hub_access import HubAccess
from gkd_schema.runner.preflight.hub_push import check_push

PUSH = {"push_to_hub": True, "hub_model_id": "me/tiny-gkd"}


@pytest.fixture
def no_token(online: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """Online, with neither `HF_TOKEN` nor a token file: a machine where `hf auth login` never ran."""
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_OIDC_RESOURCE"):
        online.delenv(name, raising=False)
    from huggingface_hub import constants

    online.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "no-token-here"))
    return online


def _types(training: TrainingSection, hub: HubAccess) -> list[str]:
    return [d.type for d in check_push(training, hub)]


def test_without_push_to_hub_nothing_is_checked(no_token: pytest.MonkeyPatch) -> None:
    assert _types(TrainingSection(output_dir="out"), HubAccess(offline_flag=True)) == []


def test_no_token_is_an_error_at_push_to_hub(no_token: pytest.MonkeyPatch) -> None:
    [found] = check_push(TrainingSection(output_dir="out", push_to_hub=True), HubAccess())
    assert (found.loc, found.type, found.severity) == (("training", "push_to_hub"), "hub_token_missing", "error")
    assert "`hf auth login`" in found.message and "`HF_TOKEN`" in found.message


def test_a_token_in_the_environment_or_the_token_file_is_enough(
    no_token: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    training = TrainingSection(output_dir="out", push_to_hub=True)
    no_token.setenv("HF_TOKEN", "hf_example")
    assert _types(training, HubAccess()) == []
    no_token.delenv("HF_TOKEN")
    token_file = tmp_path / "token"
    token_file.write_text("hf_from_login\n")
    from huggingface_hub import constants

    no_token.setattr(constants, "HF_TOKEN_PATH", str(token_file))
    assert _types(training, HubAccess()) == []


def test_offline_is_an_error_even_with_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_example")
    training = TrainingSection(output_dir="out", push_to_hub=True)
    [flag] = check_push(training, HubAccess(offline_flag=True))
    assert flag.type == "hub_push_offline" and "drop `--offline`" in flag.message
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    [variable] = check_push(training, HubAccess())
    assert variable.type == "hub_push_offline" and "unset `HF_HUB_OFFLINE`" in variable.message


@pytest.mark.parametrize(
    ("options", "expected"),
    [([], "hub_token_missing"), (["--offline"], "hub_push_offline")],
    ids=["no token", "--offline"],
)
def test_validate_deep_names_what_stops_the_push(
    write_config: Any, tmp_path: Path, no_token: pytest.MonkeyPatch, options: list[str], expected: str
) -> None:
    cfg = write_config(tmp_path, training=PUSH)
    result = CliRunner().invoke(
        app, ["validate", "--deep", str(cfg), *options, "--format", "json"], catch_exceptions=False
    )
    assert result.exit_code == 1, result.output
    [error] = json.loads(result.stdout)["files"][0]["errors"]
    assert (error["type"], error["loc"]) == (expected, ["training", "push_to_hub"])


def test_a_run_that_pushes_keeps_the_hub_on_though_every_model_is_local(
    write_config: Any, tmp_path: Path, no_token: pytest.MonkeyPatch
) -> None:
    from gkd_schema.config.validation import validate_file

    no_token.setenv("HF_TOKEN", "hf_example")
    for training, offline in (({}, True), (PUSH, False)):
        report = validate_file(write_config(tmp_path, training=training))
        assert report.config is not None
        check = check_run(report.config, base_dir=tmp_path)
        assert check.plan is not None, check.errors
        assert check.plan.offline is offline
        assert check.plan.gkd_config.push_to_hub is (not offline)
