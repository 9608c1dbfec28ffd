"""A tiny run with `push_to_hub`: what transformers asks the Hub for, and when.

The Hub client transformers calls (`transformers.trainer.hf_api`) is replaced by a
recorder, since uploading needs a real account; the suite stays offline.
"""

from __future__ import annotations

from concurrent.futures import Future
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from gkd_schema.config.validation import validate_file
from gkd_schema.runner.eval.run_hooks import CARD_SECTION, RUN_HOOKS
from gkd_schema.runner.preflight.run_plan import plan_run
from gkd_schema.runner.train.run import execute

pytestmark = pytest.mark.slow


class RecordingHub:
    """The two calls transformers makes: create the repo, upload a folder (now or as a future)."""

    def __init__(self) -> None:
        self.repos: list[tuple[str, bool | None]] = []
        self.uploads: list[tuple[str, str | None, str]] = []

    def create_repo(self, repo_id: str, *, private: bool | None = None, **_: Any) -> Any:
        self.repos.append((repo_id, private))
        return SimpleNamespace(repo_id=repo_id)

    def upload_folder(
        self, *, folder_path: str, commit_message: str, path_in_repo: str | None = None,
        run_as_future: bool = False, **_: Any,
    ) -> Any:
        card = Path(folder_path) / "README.md"
        self.uploads.append((commit_message, path_in_repo, card.read_text() if card.is_file() else ""))
        if not run_as_future:
            return SimpleNamespace(commit_url="recorded")
        done: Future[None] = Future()
        done.set_result(None)
        return done


def test_checkpoints_push_during_training_and_one_final_push_carries_the_evaluated_card(
    write_config: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tiny_models
    import transformers.trainer

    hub = RecordingHub()
    monkeypatch.setattr(transformers.trainer, "hf_api", lambda: hub)
    held_out = tiny_models.write_messages_jsonl(tmp_path / "eval.jsonl", rows=2)
    training = {"push_to_hub": True, "hub_model_id": "me/tiny-gkd", "hub_private_repo": True}
    report = validate_file(write_config(tmp_path, training=training, data={"eval": {"path": str(held_out)}}))
    assert report.config is not None
    # The plan without `check_run`, whose push check refuses this offline suite.
    plan = plan_run(report.config, base_dir=tmp_path)
    lines: list[str] = []
    assert execute(report.config, base_dir=tmp_path, echo=lines.append, hooks=RUN_HOOKS, plan=plan) == 0

    assert hub.repos == [("me/tiny-gkd", True)]
    messages = [message for message, _, _ in hub.uploads]
    assert messages == ["Training in progress, step 2", "Training in progress, step 4", "End of training"]
    final_card = hub.uploads[-1][2]
    assert "## Distillation" in final_card and f"### {CARD_SECTION}" in final_card
    assert "| student (after) |" in final_card
    assert CARD_SECTION not in hub.uploads[0][2]  # a checkpoint's card has no evaluation yet
    assert (tmp_path / "out" / "README.md").read_text() == final_card
    assert lines[-1] == "Pushed the model and its card to https://huggingface.co/me/tiny-gkd"
