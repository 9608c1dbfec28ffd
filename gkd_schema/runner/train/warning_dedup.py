"""Show each kind of warning once per run instead of once per step.

TRL and transformers emit deprecation warnings on every on-policy step (the
`is_gradient_checkpointing` rename, `generation_config` together with
`return_dict_in_generate`). Both Python warnings and logger warnings are deduplicated
by their text.
"""

from __future__ import annotations

import logging
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


@contextmanager
def one_warning_per_kind() -> Iterator[DuplicateFilter]:
    """Within the block, each distinct warning is shown once.

    Yields:
        The logging filter (its handlers are detached on exit).
    """
    dedup = DuplicateFilter()
    handlers = _handlers()
    for handler in handlers:
        handler.addFilter(dedup)
    try:
        with warnings.catch_warnings():
            # "once": the first occurrence of each message text, wherever it is raised.
            warnings.simplefilter("once")
            yield dedup
    finally:
        for handler in handlers:
            handler.removeFilter(dedup)
