"""Fetch a Hub model's config and tokenizer files, never its weights, so preflight can check it.

A model that is not cached would otherwise have its vocabulary, tokenizer and length
checks skipped, and a teacher with another tokenizer would be found only after both
models downloaded and loaded. Its file list (one API request) and the few small files
below are enough for every check; `gkd run` downloads the rest into the same snapshot.
A repo that does not exist, is gated or lacks a model is a located error here, in
seconds, instead of a traceback once loading starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatch
from typing import Any

from gkd_schema.config.diagnostics import Diagnostic, Loc
from gkd_schema.runner.preflight.guard import exception_text
from gkd_schema.runner.preflight.hub_access import hub_endpoint
from gkd_schema.runner.preflight.locate import TOKENIZER_FILES, WEIGHT_PATTERNS, hub_cache_dir

# Every file the checks read: config.json and generation_config.json for sizes, positions
# and dtypes; the rest is whatever `AutoTokenizer` may load (fast or slow, chat template).
FETCHED_FILES = (
    "config.json",
    "generation_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "tokenizer.model",
    "spiece.model",
    "vocab.json",
    "vocab.txt",
    "merges.txt",
    "chat_template.jinja",
    "chat_template.json",
)
# Per request; the library's defaults (10 s, then a minute of retries) are for weights.
FETCH_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class HubModel:
    """A config key that names a Hub repo, and what preflight reads from it.

    Attributes:
        loc: The key, e.g. `("gkd", "teacher_model_name_or_path")`.
        repo_id: The repo it names.
        revision: `model.revision` for the student; None for the default branch.
        need_weights: A model (student, teacher); False for `model.tokenizer_name_or_path`.
    """

    loc: Loc
    repo_id: str
    revision: str | None = None
    need_weights: bool = True

    @property
    def marker(self) -> str:
        """The file whose presence in the cache means preflight can check this model."""
        return "config.json" if self.need_weights else "tokenizer_config.json"

    @property
    def key(self) -> str:
        """The config key as users write it."""
        return ".".join(map(str, self.loc))


def _silent_bar() -> Any:
    """A progress-bar class that never draws: a bar per small file would only be noise."""
    from huggingface_hub.utils.tqdm import tqdm as hub_tqdm

    class SilentBar(hub_tqdm):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["disable"] = True
            super().__init__(*args, **kwargs)  # type: ignore[no-untyped-call]

    return SilentBar


def _missing_parts(model: HubModel, names: set[str], endpoint: str) -> list[Diagnostic]:
    """What the repo's file list lacks for `from_pretrained`: a config, weights, a tokenizer."""
    top = {name for name in names if "/" not in name}  # from_pretrained reads the root only
    where = f"`{model.repo_id}` on the Hub at {endpoint}"
    if not model.need_weights:
        if top & set(TOKENIZER_FILES):
            return []
        return [
            Diagnostic(
                loc=model.loc,
                message=(
                    f"{where} holds no tokenizer (none of {', '.join(TOKENIZER_FILES)}); point "
                    f"`{model.key}` at a repo or folder saved with `tokenizer.save_pretrained`"
                ),
                type="not_a_tokenizer",
            )
        ]
    if "config.json" not in top:
        hint = (
            " It holds a PEFT adapter (adapter_config.json): point it at the base model and merge "
            "the adapter first (`merge_and_unload`)."
            if "adapter_config.json" in top
            else ""
        )
        return [
            Diagnostic(
                loc=model.loc,
                message=(
                    f"{where} holds no model: it has no config.json (GGUF or ONNX-only repos are not "
                    f"transformers checkpoints); point `{model.key}` at a repo saved with "
                    f"`save_pretrained`.{hint}"
                ),
                type="not_a_model",
            )
        ]
    if not any(fnmatch(name, pattern) for name in top for pattern in WEIGHT_PATTERNS):
        return [
            Diagnostic(
                loc=model.loc,
                message=(
                    f"{where} has a config.json but no weights (*.safetensors or pytorch_model*.bin); "
                    f"point `{model.key}` at the repo that has them"
                ),
                type="no_weights",
            )
        ]
    return []


def _download(model: HubModel, endpoint: str) -> list[Diagnostic]:
    """List the repo's files, download the small ones; raises what huggingface_hub raises."""
    from huggingface_hub import HfApi, hf_hub_download

    info = HfApi(endpoint=endpoint).model_info(model.repo_id, revision=model.revision, timeout=FETCH_TIMEOUT_S)
    names = {sibling.rfilename for sibling in info.siblings or ()}
    if problems := _missing_parts(model, names, endpoint):
        return problems
    bar = _silent_bar()
    for name in FETCHED_FILES:
        if name in names:
            # The branch name, not the commit: the download records `refs/<branch>`, which
            # is how the cache lookup (and `from_pretrained` offline) finds the snapshot.
            hf_hub_download(
                model.repo_id,
                name,
                revision=model.revision,
                cache_dir=hub_cache_dir(),
                endpoint=endpoint,
                etag_timeout=FETCH_TIMEOUT_S,
                tqdm_class=bar,
            )
    return []


def fetch_model_files(model: HubModel) -> list[Diagnostic]:
    """Download the config and tokenizer files of a Hub model into the local cache.

    Args:
        model: The key and the repo; the Hub is `HF_ENDPOINT`, the cache `HF_HUB_CACHE`.

    Returns:
        Nothing when the files are cached now. Otherwise one diagnostic at the model's key
        (or `model.revision`): an error when the run could not load the repo either (it
        does not exist, is gated, lacks a config, weights or tokenizer), a warning when the
        fetch itself failed (the run will try again).
    """
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError, RevisionNotFoundError

    endpoint = hub_endpoint()
    login = "log in with an account that can read it (`hf auth login`, or set `HF_TOKEN`)"
    try:
        return _download(model, endpoint)
    except GatedRepoError:
        return [
            Diagnostic(
                loc=model.loc,
                message=(
                    f"`{model.repo_id}` is gated on the Hub: accept its conditions at "
                    f"{endpoint}/{model.repo_id}, then {login}; or choose another model for `{model.key}`"
                ),
                type="hub_gated",
            )
        ]
    except RepositoryNotFoundError:
        return [
            Diagnostic(
                loc=model.loc,
                message=(
                    f"`{model.repo_id}` is not a model repo on the Hub at {endpoint}, or it is private; "
                    f"check the spelling of `{model.key}`, or {login}"
                ),
                type="hub_repo_not_found",
            )
        ]
    except RevisionNotFoundError:
        return [
            Diagnostic(
                loc=("model", "revision"),  # only the student has a revision
                message=(
                    f"revision `{model.revision}` of `{model.repo_id}` does not exist on the Hub at "
                    f"{endpoint}; set `model.revision` to a branch, tag or commit of the repo"
                ),
                type="hub_revision_not_found",
            )
        ]
    except Exception as exc:  # httpx, OSError and the library's own kinds: all mean "not fetched"
        return [
            Diagnostic(
                loc=model.loc,
                message=(
                    f"could not fetch the config and tokenizer of `{model.repo_id}` from {endpoint} "
                    f"({exception_text(exc)}), so its checks were skipped; `gkd run` downloads it. To "
                    f"check it now, run `hf download {model.repo_id}` and preflight again"
                ),
                type="hub_fetch_failed",
                severity="warning",
            )
        ]
