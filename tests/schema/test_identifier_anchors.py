"""Identifier rules end at the end of the text, as the schema's JavaScript patterns do.

Python's `$` also matches before a final newline; `"Qwen/x\\n"` must be refused by
the models, the schema and the hints alike (issue 16, class 6).
"""

from __future__ import annotations

import pytest
from pydantic_core import PydanticCustomError
from schema_oracles import disagreement, load_config_file
from test_schema_differential import CASES

from gkd_schema.models import RunConfig
from gkd_schema.models.identifiers import check_hub_repo_id, check_model_id
from gkd_schema.models.rules import check_rules
from gkd_schema.models.run_config import COLLECT_RULES


@pytest.mark.parametrize("value", ["Qwen/x\n", "x\n", "Qwen/x\r\n"])
@pytest.mark.parametrize("check", [check_model_id, check_hub_repo_id])
def test_a_trailing_newline_is_not_a_repo_id(check: object, value: str) -> None:
    with pytest.raises(PydanticCustomError):
        check(value)  # type: ignore[operator]


def test_a_url_hint_never_suggests_an_id_with_a_newline() -> None:
    with pytest.raises(PydanticCustomError) as info:
        check_model_id("https://huggingface.co/Qwen/x\n")
    assert "\n" not in info.value.message()


def test_a_pushed_repo_named_after_output_dir_must_be_a_whole_repo_id() -> None:
    data = load_config_file(CASES / "agree" / "valid" / "minimal.yaml")
    data["training"] = {**data["training"], "output_dir": "runs/qwen\n", "push_to_hub": True}
    assert disagreement(data) is None
    cfg = RunConfig.model_validate(data, context={COLLECT_RULES: True})
    # `qwen\n` is no repo name: an error, not a warning promising `<namespace>/qwen\n`.
    assert [f.type for f in check_rules(cfg)] == ["output_dir_not_a_repo_name"]
