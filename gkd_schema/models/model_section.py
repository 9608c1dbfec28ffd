"""The `model` section: the student and its tokenizer."""

from __future__ import annotations

from pydantic import Field

from gkd_schema.models.base import StrictModel
from gkd_schema.models.gkd_params import TorchDtype
from gkd_schema.models.identifiers import ModelId


class ModelSection(StrictModel):
    """The student model that is distilled."""

    name_or_path: ModelId = Field(
        description=(
            "The student model: a Hugging Face Hub repo id (`namespace/name`) or a local "
            "path starting with `/`, `./`, `../` or `~`; a name that is an existing folder "
            "in the directory gkd runs in is that folder, as in transformers."
        ),
    )
    tokenizer_name_or_path: ModelId | None = Field(
        default=None,
        description="Where to load the tokenizer from; defaults to `name_or_path`.",
    )
    revision: str | None = Field(
        default=None,
        min_length=1,
        description="Hub branch, tag or commit of the student; the default branch when unset.",
    )
    dtype: TorchDtype = Field(
        default="auto",
        description="Precision to load the student's weights in: auto, float32, float16 or bfloat16.",
    )
    trust_remote_code: bool = Field(
        default=False,
        description="Run custom modelling code shipped with the student's checkpoint.",
    )
    attn_implementation: str | None = Field(
        default=None,
        min_length=1,
        examples=["sdpa", "eager", "flash_attention_2"],
        description="Attention kernel passed to `from_pretrained`; transformers chooses when unset.",
    )
    chat_template: str | None = Field(
        default=None,
        min_length=1,
        pattern=r"^\S(.*\S)?$",
        examples=["qwen2_5", "llama3", "./templates/chat.jinja"],
        description=(
            "The chat template that turns conversations into the student's text (the teacher "
            "reads the same tokens): the name of a template TRL ships (`qwen2_5`, `llama3`, "
            "...) or a path to a .jinja file. Unset: the tokenizer's own. Needed for base "
            "models without one."
        ),
    )
