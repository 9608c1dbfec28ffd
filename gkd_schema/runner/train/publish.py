"""The end of a finished run: the final save, the model card, and the push to the Hub.

transformers pushes from `save_model` when `push_to_hub` is on, which would upload the
card before the run hooks have added the evaluation table. So the model is saved
without a push (on disk before anything can fail), the hooks run, and then the card is
written and, with `push_to_hub`, the output directory pushed once, card included.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gkd_schema.runner.preflight.hub_access import hub_endpoint
from gkd_schema.runner.train.errors import RunFailedError


def save_final(trainer: Any, output_dir: Path, metrics: dict[str, Any], evaluation: Any) -> None:
    """Save the trained model, its metrics and the trainer state into `output_dir`; never push."""
    # `_internal_call` is transformers' own switch for "save, do not push" (`push_to_hub` uses it).
    trainer.save_model(str(output_dir), _internal_call=True)
    trainer.save_metrics("train", metrics)
    trainer.save_state()
    if evaluation is not None:
        trainer.save_metrics("eval", trainer.evaluate())


def card_model_name(args: Any) -> str:
    """The model's name in the card's title, as TRL's checkpoints name it."""
    return str(args.hub_model_id or Path(args.output_dir).name).split("/")[-1]


def publish(trainer: Any, sections: Mapping[str, str]) -> str | None:
    """Write the final model card and, with `push_to_hub`, push `output_dir` to the Hub.

    Every process calls this (a sharded model is gathered to be saved); only the main
    process writes and pushes.

    Args:
        trainer: The finished `GkdTrainer`.
        sections: What the run hooks added to the card (`RunContext.model_card`).

    Returns:
        The pushed repo's address on the main process; None without `push_to_hub`.

    Raises:
        RunFailedError: The push failed; the model stays saved in `output_dir`.
    """
    trainer.card_sections.update(sections)
    args = trainer.args
    if not args.push_to_hub:
        trainer.create_model_card(model_name=card_model_name(args))
        return None
    try:
        # Saves the model again and rewrites the card (with `sections`) before uploading.
        trainer.push_to_hub(commit_message="End of training")
    except Exception as exc:  # network, permissions, quota: the model is safe on disk
        repo = trainer.hub_model_id or args.hub_model_id or "REPO"
        raise RunFailedError(
            f"training finished and the model is saved in {args.output_dir}, but pushing it to the Hub "
            f"failed: {exc}; upload it with `hf upload {repo} {args.output_dir}`"
        ) from exc
    return f"{hub_endpoint()}/{trainer.hub_model_id}" if trainer.hub_model_id else None
