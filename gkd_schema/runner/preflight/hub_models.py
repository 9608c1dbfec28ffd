"""The Hub models a run names: what preflight fetches of the missing ones, and what the run downloads.

`check_run` calls `prepare_hub_models` before the checks. A model that is not cached has
its config and tokenizer files fetched (`hub_fetch.py`) when the Hub may be used, so the
checks run on it instead of being skipped. A model whose files are cached but not its
weights is what the run will download; `hub_access.check_hub_access` turns that into an
error when the download cannot happen.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gkd_schema.config.diagnostics import Diagnostic, Loc
from gkd_schema.models import RunConfig
from gkd_schema.runner.preflight import STUDENT_LOC, TOKENIZER_LOC
from gkd_schema.runner.preflight.hub_access import HubAccess
from gkd_schema.runner.preflight.hub_fetch import HubModel, fetch_model_files
from gkd_schema.runner.preflight.locate import cached_snapshot, hub_cache_dir, is_local_model
from gkd_schema.runner.preflight.vocab import TEACHER_LOC
from gkd_schema.runner.preflight.weights import has_all_weights


@dataclass(frozen=True)
class HubModels:
    """What preflight did with the Hub models of a run.

    Attributes:
        fetch_problems: A diagnostic per model whose files could not be fetched.
        failed: The keys of those models: their `not_cached` warnings say less and are dropped.
        to_download: A `not_cached` note per model whose config is cached but not all its
            weights: the run downloads them.
    """

    fetch_problems: list[Diagnostic]
    failed: frozenset[Loc]
    to_download: list[Diagnostic]


def hub_models(config: RunConfig, base_dir: Path) -> list[HubModel]:
    """The student, teacher and tokenizer keys whose values are Hub repos, not local folders."""
    named = [
        HubModel(STUDENT_LOC, config.model.name_or_path, config.model.revision),
        HubModel(TEACHER_LOC, config.gkd.teacher_model_name_or_path),
    ]
    if config.model.tokenizer_name_or_path is not None:
        named.append(HubModel(TOKENIZER_LOC, config.model.tokenizer_name_or_path, need_weights=False))
    return [model for model in named if not is_local_model(model.repo_id, base_dir)]


def _cached(model: HubModel) -> Path | None:
    return cached_snapshot(model.repo_id, model.marker, model.revision)


def prepare_hub_models(config: RunConfig, base_dir: Path, hub: HubAccess) -> HubModels:
    """Fetch the config and tokenizer of each missing Hub model the Hub may serve.

    Args:
        config: The run config.
        base_dir: Where relative paths start (a name that is a folder there is not a repo).
        hub: Whether the Hub may be used; it is asked only when a model is missing.

    Returns:
        The fetch failures, and the models whose weights the run still has to download.
    """
    models = hub_models(config, base_dir)
    problems: list[Diagnostic] = []
    failed: set[Loc] = set()
    for model in models:
        if _cached(model) is None and hub.usable() and (found := fetch_model_files(model)):
            problems += found
            failed.add(model.loc)
    to_download = [
        Diagnostic(
            loc=model.loc,
            message=(
                f"the weights of model `{model.repo_id}` are not in the local Hugging Face cache "
                f"({hub_cache_dir()}); `gkd run` downloads them"
            ),
            type="not_cached",
            severity="warning",
        )
        for model in models
        if model.need_weights and (folder := _cached(model)) is not None and not has_all_weights(folder)
    ]
    return HubModels(problems, frozenset(failed), to_download)
