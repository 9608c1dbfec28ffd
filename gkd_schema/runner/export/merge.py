"""Write the exported model into a folder: an adapter merged into its base, or the saved files copied.

The base loads in the dtype it is stored in (`dtype="auto"`), never quantized: merging a
QLoRA adapter into the full-precision base is how QLoRA models are shipped, and merging
into 4-bit weights would round the adapter away.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from gkd_schema.runner.export.source import ExportSource
from gkd_schema.runner.export.target import is_export_file
from gkd_schema.runner.preflight.locate import TOKENIZER_FILES


def merge_adapter(source: ExportSource, staging: Path) -> None:
    """Load the base, apply the adapter, fold it into the weights and save model and tokenizer.

    Raises:
        OSError, ValueError: A file cannot be read, or the adapter does not fit the base.
    """
    from peft import PeftModel
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    assert source.base is not None  # an adapter source always names its base
    # Loading and writing bars say nothing the one line `gkd export` prints does not.
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    base = AutoModelForCausalLM.from_pretrained(
        str(source.base), dtype="auto", trust_remote_code=source.trust_remote_code
    )
    adapted = PeftModel.from_pretrained(base, str(source.directory))
    merged: Any = adapted.merge_and_unload()
    merged.save_pretrained(str(staging))
    save_tokenizer(source, staging)


def copy_saved(source: ExportSource, staging: Path) -> None:
    """Copy the model (or adapter) and tokenizer files the run saved, without optimizer state."""
    for child in sorted(source.directory.iterdir()):
        if child.is_file() and is_export_file(child.name):
            shutil.copy2(child, staging / child.name)
    if not any((staging / name).is_file() for name in TOKENIZER_FILES):
        save_tokenizer(source, staging)


def save_tokenizer(source: ExportSource, staging: Path) -> None:
    """Load the tokenizer the run used and save it beside the model."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(source.tokenizer), trust_remote_code=source.trust_remote_code)
    tokenizer.save_pretrained(str(staging))
