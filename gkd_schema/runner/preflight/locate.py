"""Find the files behind a model or dataset reference, on disk or in the local Hub cache.

Relative paths resolve against `base_dir`, the directory gkd runs in (the current
working directory, as with TRL and `transformers`), not the config file's directory.
Hub repo ids resolve through the local Hugging Face cache only: locating never touches
the network, so an uncached repo is reported as skipped (`checklist.check_run` fetches
a missing model's small files first, when it may: `hub_fetch.py`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from gkd_schema.config.diagnostics import Diagnostic, Loc
from gkd_schema.models.identifiers import is_local_path

WEIGHT_PATTERNS = ("*.safetensors", "pytorch_model*.bin", "model.safetensors.index.json")
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "tokenizer.model",
    "vocab.json",
    "spiece.model",
)


@dataclass(frozen=True)
class Located:
    """A model reference found on this machine.

    Attributes:
        directory: The local folder (a snapshot folder for Hub repos).
        label: How messages name it: the path as written, or the repo id.
        from_hub: Whether it came from the Hub cache (then files may be partial).
    """

    directory: Path
    label: str
    from_hub: bool


def resolve_path(value: str, base_dir: Path) -> Path:
    """Resolve a path from the config: `~` expanded, relative ones against `base_dir`."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else (base_dir / path)


def is_local_model(value: str, base_dir: Path) -> bool:
    """Whether `from_pretrained(value)` reads a local folder, as transformers decides.

    A value written as a path (`./`, `/`, `~`, `../`) is local; so is a bare name such as
    `models/teacher` or `gpt2` when that folder exists under `base_dir`, because
    transformers tries `os.path.isdir` before the Hub.
    """
    return is_local_path(value) or resolve_path(value, base_dir).is_dir()


def model_source(value: str, base_dir: Path) -> str:
    """Where a model is read from, for the banner: `local folder PATH` or `Hub repo`."""
    if is_local_model(value, base_dir):
        return f"local folder {resolve_path(value, base_dir)}"
    return "Hub repo"


def hub_cache_dir() -> Path:
    """The Hub cache folder, read from the environment at call time.

    `huggingface_hub` fixes its constants at import; reading the variables here keeps
    `HF_HUB_CACHE`/`HF_HOME` set later (tests, notebooks) effective.
    """
    if cache := os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE"):
        return Path(cache).expanduser()
    if home := os.environ.get("HF_HOME"):
        return Path(home).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "huggingface" / "hub"


def _not_cached(loc: Loc, repo_id: str, kind: str, checks: str) -> Diagnostic:
    flag = " --repo-type dataset" if kind == "dataset" else ""
    return Diagnostic(
        loc=loc,
        message=(
            f"{kind} `{repo_id}` is not in the local Hugging Face cache ({hub_cache_dir()}); "
            f"{checks} were skipped. `gkd run` downloads it; to check it now, run "
            f"`hf download {repo_id}{flag}` and preflight again"
        ),
        type="not_cached",
        severity="warning",
    )


def locate_model(
    value: str,
    *,
    loc: Loc,
    base_dir: Path,
    revision: str | None = None,
    need_weights: bool = True,
) -> tuple[Located | None, list[Diagnostic]]:
    """Find a model folder and check it holds a model.

    Args:
        value: The config value: a local path or a Hub repo id.
        loc: The config key holding `value`, for diagnostics.
        base_dir: Where relative paths start.
        revision: Hub revision (branch, tag or commit); None for the default branch.
        need_weights: Require weight files (a model, not only a tokenizer).

    Returns:
        The located folder, or None with the diagnostics that explain why.
    """
    key = ".".join(map(str, loc))
    if not is_local_model(value, base_dir):
        return _locate_hub_model(value, loc=loc, revision=revision, need_weights=need_weights)
    path = resolve_path(value, base_dir)
    if not path.exists():
        return None, [
            Diagnostic(
                loc=loc,
                message=(
                    f"{value} does not exist (resolved to {path}; relative paths start at "
                    f"the directory gkd runs in, {base_dir}); fix `{key}` or run gkd from "
                    "the directory the path is relative to"
                ),
                type="path_not_found",
            )
        ]
    if not path.is_dir():
        return None, [
            Diagnostic(
                loc=loc,
                message=f"{value} is a file; `{key}` must name the folder that holds the model",
                type="not_a_directory",
            )
        ]
    found = Located(path, value, from_hub=False)
    if not need_weights:
        if any((path / name).is_file() for name in TOKENIZER_FILES):
            return found, []
        return None, [
            Diagnostic(
                loc=loc,
                message=(
                    f"{value} holds no tokenizer (none of {', '.join(TOKENIZER_FILES)}); point "
                    f"`{key}` at a folder saved with `tokenizer.save_pretrained`"
                ),
                type="not_a_tokenizer",
            )
        ]
    if not (path / "config.json").is_file():
        hint = (
            " It holds a PEFT adapter (adapter_config.json): point it at the base model and "
            "merge the adapter first (`merge_and_unload`)."
            if (path / "adapter_config.json").is_file()
            else ""
        )
        return None, [
            Diagnostic(
                loc=loc,
                message=(
                    f"{value} holds no model: {path / 'config.json'} is missing; point `{key}` "
                    f"at a folder saved with `save_pretrained`.{hint}"
                ),
                type="not_a_model",
            )
        ]
    if not any(next(path.glob(pattern), None) for pattern in WEIGHT_PATTERNS):
        return None, [
            Diagnostic(
                loc=loc,
                message=(
                    f"{value} has a config.json but no weights (*.safetensors or "
                    f"pytorch_model*.bin); save the model with `save_pretrained`, or point "
                    f"`{key}` at the folder that has them"
                ),
                type="no_weights",
            )
        ]
    return found, []


def _locate_hub_model(
    repo_id: str, *, loc: Loc, revision: str | None, need_weights: bool
) -> tuple[Located | None, list[Diagnostic]]:
    """Find a Hub model's snapshot folder in the local cache, without network."""
    folder = cached_snapshot(repo_id, "config.json" if need_weights else "tokenizer_config.json", revision)
    if folder is None:
        checks = "its vocabulary and size checks" if need_weights else "its tokenizer checks"
        return None, [_not_cached(loc, repo_id, "model", checks)]
    return Located(folder, repo_id, from_hub=True), []


def cached_snapshot(repo_id: str, marker: str, revision: str | None = None) -> Path | None:
    """The cached snapshot folder of a Hub model that holds `marker`, without network; None if absent."""
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(repo_id, marker, cache_dir=hub_cache_dir(), revision=revision, repo_type="model")
    return Path(cached).parent if isinstance(cached, str) else None


def locate_hub_dataset(repo_id: str, *, loc: Loc) -> tuple[Path | None, list[Diagnostic]]:
    """Find a Hub dataset's snapshot folder in the local cache, without network."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        folder = snapshot_download(
            repo_id, repo_type="dataset", cache_dir=hub_cache_dir(), local_files_only=True
        )
    except (LocalEntryNotFoundError, FileNotFoundError, OSError):
        return None, [_not_cached(loc, repo_id, "dataset", "the checks of its rows")]
    return Path(str(folder)), []


def checkpoint_dtype(value: str, *, base_dir: Path, revision: str | None = None) -> str | None:
    """The dtype a model checkpoint was saved in, from its config.json; None if unknown.

    Args:
        value: A local path or a Hub repo id (looked up in the local cache only).
        base_dir: Where relative paths start.
        revision: Hub revision; None for the default branch.

    Returns:
        `bfloat16`, `float32`, ...; None when the model cannot be found here or its
        config.json does not say.
    """
    from gkd_schema.runner.preflight.weights import config_dtype, read_config

    found, _ = locate_model(value, loc=(), base_dir=base_dir, revision=revision)
    config = read_config(found.directory) if found is not None else None
    return config_dtype(config) if config is not None else None
