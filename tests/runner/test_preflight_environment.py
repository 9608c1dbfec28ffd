"""Packages, device, TRL argument types and positions: the checks that need no model files."""

from __future__ import annotations

import tomllib
import typing
from pathlib import Path
from typing import Any, Literal

import pytest

from gkd_schema.models.training_section import ReportTarget
from gkd_schema.runner.preflight.environment import (
    TRACKER_MODULES,
    check_loss_backend,
    check_trackers,
    extra_name,
)
from gkd_schema.runner.preflight.extra_arg_types import check_extra_arg_types
from gkd_schema.runner.preflight.positions import check_max_length

REPO_ROOT = Path(__file__).resolve().parents[2]


def _types(found: list[Any]) -> list[str]:
    return [d.type for d in found]


@pytest.mark.parametrize(
    ("annotation", "good", "bad"),
    [
        (bool, [True, False], [1, 0, "true"]),
        (int, [2, -1], ["2", 2.0, True]),
        (float, [0.5, 3], ["0.5", False]),
        (str | None, ["x", None], [3, ["x"]]),
        (int | str | None, [1, "auto", None], [1.5, True]),
        (list[str], [["a", "b"], []], ["a", [1]]),
        (dict[str, Any] | str | None, [{"a": 1}, "{}", None], [[1]]),
        (Literal["a", "b"], ["a"], ["c", 1]),
        (typing.Union[str, None, Literal[False]], ["x", None, False], [True, 0]),  # noqa: UP007
    ],
)
def test_extra_arg_values_must_have_the_declared_type(annotation: Any, good: list[Any], bad: list[Any]) -> None:
    declared = {"key": annotation}
    for value in good:
        assert check_extra_arg_types({"key": value}, declared) == [], value
    for value in bad:
        found = check_extra_arg_types({"key": value}, declared)
        assert _types(found) == ["extra_arg_wrong_type"], value
        assert found[0].loc == ("training", "extra_args", "key")


def test_annotations_gkd_cannot_judge_accept_anything() -> None:
    class Plugin:
        pass

    assert check_extra_arg_types({"k": {"any": "thing"}}, {"k": Plugin | None}) == []
    assert check_extra_arg_types({"unknown": "x"}, {}) == []  # unknown names are another check


def test_every_tracker_the_schema_offers_has_a_module_and_an_extra() -> None:
    extras = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    trackers = set(typing.get_args(ReportTarget)) - {"none", "all"}
    assert set(TRACKER_MODULES) == trackers
    assert {extra_name(t) for t in trackers} <= set(extras)


def test_missing_trackers_name_their_extra() -> None:
    assert check_trackers(["none"]) == [] and check_trackers(["all"]) == []
    assert check_trackers(["tensorboard"]) == []  # tensorboardX (dev extra) is enough for transformers
    found = check_trackers(["tensorboard", "comet_ml"])
    assert [(d.type, d.loc) for d in found] == [("tracker_not_installed", ("training", "report_to", 1))]
    assert "pip install 'gkd[comet-ml]'" in found[0].message


def test_liger_needs_its_package_and_cuda() -> None:
    assert check_loss_backend("chunked", "cpu") == []
    assert _types(check_loss_backend("liger", "cpu")) == ["liger_not_installed", "liger_needs_cuda"]


def test_max_length_against_both_models_positions() -> None:
    models = [("student", "s", {"max_position_embeddings": 2048}), ("teacher", "t", {"text_config": {}})]
    assert check_max_length(2048, models) == []
    found = check_max_length(4096, [*models, ("teacher", "t2", {"max_position_embeddings": 1024})])
    assert _types(found) == ["max_length_exceeds_positions"]
    assert "student s has 2048" in found[0].message and "teacher t2 has 1024" in found[0].message
    assert "to 1024 or less" in found[0].message
