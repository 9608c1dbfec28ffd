"""Show each kind of warning once per run instead of once per step, and no library notices.

TRL and transformers emit deprecation warnings on every on-policy step (the
`is_gradient_checkpointing` rename, `generation_config` together with
`return_dict_in_generate`). Both Python warnings and logger warnings are deduplicated
by their text.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager


class DuplicateFilter(logging.Filter):
    """Let the first record of each (logger, level, message) through, drop repeats."""

    def __init__(self) -> None:
        super().__init__()
        self._seen: set[tuple[str, int, str]] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        """Whether to emit `record`; INFO and below always pass (progress, metrics)."""
        if record.levelno < logging.WARNING:
            return True
        key = (record.name, record.levelno, record.getMessage())
        if key in self._seen:
            return False
        self._seen.add(key)
        return True


def _handlers() -> list[logging.Handler]:
    """Every handler attached to the root or a named logger right now."""
    handlers = list(logging.getLogger().handlers)
    for logger in logging.root.manager.loggerDict.values():
        if isinstance(logger, logging.Logger):
            handlers.extend(logger.handlers)
    return list(dict.fromkeys(handlers))


# Notices about how TRL calls transformers, not about the user's config: nothing a user
# can change, so a run does not show them (FutureWarnings of the checkpointing rename,
# the `generation_config` with `return_dict_in_generate` deprecation).
_LIBRARY_NOTICES = (
    r"`(is_)?gradient_checkpointing\w*` is deprecated",
    r"Passing `generation_config` together with generation-related arguments",
)


# A checkpoint of a model that ties its output layer to its embeddings stores the weight
# once; transformers reports the tied copy as missing when it loads one.
TIED_LM_HEAD_NOTICE = r"missing keys in the checkpoint model loaded: \['lm_head\.weight'\]"


class LibraryNoticeFilter(logging.Filter):
    """Drop the logger records of `_LIBRARY_NOTICES` and of the notices added with `also`."""

    def __init__(self) -> None:
        super().__init__()
        self.patterns = list(_LIBRARY_NOTICES)

    def also(self, pattern: str) -> None:
        """Drop records matching `pattern` too (a notice known to be spurious for this run)."""
        self.patterns.append(pattern)

    def filter(self, record: logging.LogRecord) -> bool:
        """Whether `record` is anything but a known library notice."""
        message = record.getMessage()
        return not any(re.search(pattern, message) for pattern in self.patterns)


@contextmanager
def one_warning_per_kind() -> Iterator[LibraryNoticeFilter]:
    """Within the block, each distinct warning is shown once, and library notices not at all.

    Yields:
        The notice filter, to add notices found spurious later (detached on exit).
    """
    dedup, notices = DuplicateFilter(), LibraryNoticeFilter()
    handlers = _handlers()
    for handler in handlers:
        handler.addFilter(notices)
        handler.addFilter(dedup)
    try:
        with warnings.catch_warnings():
            # "once": the first occurrence of each message text, wherever it is raised.
            warnings.simplefilter("once")
            for pattern in _LIBRARY_NOTICES:
                warnings.filterwarnings("ignore", message=f".*{pattern}")
            yield notices
    finally:
        for handler in handlers:
            handler.removeFilter(notices)
            handler.removeFilter(dedup)
