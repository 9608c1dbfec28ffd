"""The commented starter config `gkd init` writes.

Values and comments come from the models (defaults, examples, descriptions), so
the starter always validates as written and documents the same facts as the
hover and docs/reference.md. Its first line is a yaml-language-server modeline
pointing at a schema file that exists on this machine.
"""

from __future__ import annotations

import os
import re
import textwrap
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticCustomError

from gkd_schema.artifacts.schema_export import (
    SCHEMA_FILE_NAMES,
    SchemaBlock,
    packaged_schema_path,
    source_checkout_root,
)
from gkd_schema.models import (
    DataSection,
    DatasetSource,
    GkdSection,
    ModelSection,
    RunConfig,
    TrainingSection,
)
from gkd_schema.models.identifiers import check_model_id

DEFAULT_STUDENT = "Qwen/Qwen2.5-0.5B-Instruct"
DEFAULT_TEACHER = "Qwen/Qwen2.5-1.5B-Instruct"
MODELINE_PREFIX = "# yaml-language-server: $schema="
_WIDTH = 88
# The keys a starter spells out, per section, in this order. Everything else keeps
# its default and is one hover (or docs/reference.md) away.
_LAYOUT: tuple[tuple[str, type[BaseModel], tuple[str, ...]], ...] = (
    ("model", ModelSection, ("name_or_path", "dtype")),
    (
        "gkd",
        GkdSection,
        (
            "teacher_model_name_or_path",
            "temperature",
            "lmbda",
            "beta",
            "max_new_tokens",
            "seq_kd",
            "disable_dropout",
            "loss_implementation",
        ),
    ),
    ("data", DataSection, ("train",)),
    (
        "training",
        TrainingSection,
        (
            "output_dir",
            "learning_rate",
            "per_device_train_batch_size",
            "gradient_accumulation_steps",
            "num_train_epochs",
            "max_length",
            "logging_steps",
            "save_steps",
            "seed",
        ),
    ),
)
_PLAIN = re.compile(r"^[A-Za-z_./~][A-Za-z0-9_./~-]*$")
# Plain scalars some YAML reader would not read back as a string.
_YAML_WORDS = frozenset(
    {"null", "true", "false", "yes", "no", "on", "off", "y", "n", "~", ".inf", ".nan"}
)
_NUMBER_LIKE = re.compile(r"^\.[0-9]")


class StarterConfigError(ValueError):
    """The starter cannot be written as asked (bad model id, existing file)."""


def schema_reference(config_path: Path) -> str:
    """The `$schema` value for a config written at `config_path`.

    Inside a gkd source checkout, a relative path to the committed
    `schemas/gkd-config.schema.json`, so the config keeps working for everyone who
    clones the repository. Anywhere else, a `file://` URI of the schema shipped in
    the installed package: it exists on any machine where gkd is installed.

    Raises:
        FileNotFoundError: the installed package has no schema file.
    """
    config_dir = config_path.absolute().parent
    root = source_checkout_root()
    if root is not None and config_dir.resolve().is_relative_to(root):
        committed = root / "schemas" / SCHEMA_FILE_NAMES[SchemaBlock.CONFIG]
        relative = Path(os.path.relpath(committed, config_dir.resolve())).as_posix()
        return relative if relative.startswith("../") else f"./{relative}"
    return packaged_schema_path(SchemaBlock.CONFIG).as_uri()


def render_starter_config(
    schema_ref: str, student: str = DEFAULT_STUDENT, teacher: str = DEFAULT_TEACHER
) -> str:
    """The starter config text.

    Args:
        schema_ref: What the modeline points at (see `schema_reference`).
        student: The student model id or path.
        teacher: The teacher model id or path.

    Returns:
        YAML text that `gkd validate` accepts as written.

    Raises:
        StarterConfigError: `student` or `teacher` is not a model id or local path.
    """
    chosen = {
        ("model", "name_or_path"): _model_id("--student", student),
        ("gkd", "teacher_model_name_or_path"): _model_id("--teacher", teacher),
        ("data", "train"): {"path": DatasetSource.model_fields["path"].examples[0]},  # type: ignore[index]
        ("training", "output_dir"): TrainingSection.model_fields["output_dir"].examples[0],  # type: ignore[index]
    }
    lines = [
        f"{MODELINE_PREFIX}{schema_ref}",
        "# A gkd distillation run, written by `gkd init`. Check it with `gkd validate`.",
        "# Every key is documented on hover in your editor and in docs/reference.md.",
    ]
    for section, model, keys in _LAYOUT:
        lines.append("")
        lines.extend(_comment(RunConfig.model_fields[section].description or "", 0))
        lines.append(f"{section}:")
        for key in keys:
            field = model.model_fields[key]
            value = chosen.get((section, key), field.get_default(call_default_factory=True))
            lines.extend(_comment(field.description or "", 2))
            lines.extend(_entry(key, value, 2, field.annotation))
    return "\n".join(lines) + "\n"


def write_starter_config(
    path: Path,
    student: str = DEFAULT_STUDENT,
    teacher: str = DEFAULT_TEACHER,
    *,
    force: bool = False,
    schema_ref: str | None = None,
) -> str:
    """Write the starter config to `path` and return its text.

    Raises:
        StarterConfigError: `path` exists and `force` is false, `path` is a
            directory or its directory is missing, or a model id is invalid.
    """
    if path.is_dir():
        raise StarterConfigError(f"{path} is a directory; give a file name like {path}/gkd.yaml")
    if not path.absolute().parent.is_dir():
        raise StarterConfigError(f"the directory of {path} does not exist; create it first")
    if path.exists() and not force:
        raise StarterConfigError(f"{path} already exists; pass --force to overwrite it")
    text = render_starter_config(schema_ref or schema_reference(path), student, teacher)
    path.write_text(text, encoding="utf-8")
    return text


def _model_id(option: str, value: str) -> str:
    try:
        return check_model_id(value)
    except PydanticCustomError as exc:
        raise StarterConfigError(f"{option} {value!r} {exc.message()}") from None


def _comment(text: str, indent: int) -> list[str]:
    prefix = " " * indent + "# "
    return textwrap.wrap(
        text,
        _WIDTH,
        initial_indent=prefix,
        subsequent_indent=prefix,
        break_on_hyphens=False,
        break_long_words=False,
    )


def _entry(key: str, value: Any, indent: int, annotation: Any = None) -> list[str]:
    """`key: value`, or a nested mapping commented from its model's fields."""
    pad = " " * indent
    if not isinstance(value, dict):
        return [f"{pad}{key}: {yaml_scalar(value)}"]
    lines = [f"{pad}{key}:"]
    fields = annotation.model_fields if isinstance(annotation, type) and issubclass(
        annotation, BaseModel
    ) else {}
    for sub_key, sub_value in value.items():
        if sub_key in fields:
            lines.extend(_comment(fields[sub_key].description or "", indent + 2))
        lines.extend(_entry(sub_key, sub_value, indent + 2))
    return lines


def yaml_scalar(value: Any) -> str:
    """A YAML scalar that reads back as `value` under YAML 1.2 and 1.1 alike."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, float):
        text = repr(value)
        mantissa, e, exponent = text.partition("e")
        # YAML 1.1 readers take `5e-05` for a string; `5.0e-05` is a float in both.
        return f"{mantissa}.0e{exponent}" if e and "." not in mantissa else text
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if _PLAIN.match(text) and text.lower() not in _YAML_WORDS and not _NUMBER_LIKE.match(text):
        return text
    return _double_quoted(text)


def _double_quoted(text: str) -> str:
    """A YAML double-quoted scalar; characters YAML may not hold raw become escapes."""
    out = []
    for char in text:
        code = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif char.isprintable():
            out.append(char)
        elif code < 0x100:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return '"' + "".join(out) + '"'

