"""Exceptions inside preflight: one line for a message, and a bug becomes a warning, not a block."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from gkd_schema.config.diagnostics import Diagnostic, Loc


@contextmanager
def guarded(what: str, loc: Loc, out: list[Diagnostic]) -> Iterator[None]:
    """Turn an unexpected exception into a warning: a preflight bug must not block a run."""
    try:
        yield
    except Exception as exc:
        out.append(
            Diagnostic(
                loc=loc,
                message=(
                    f"preflight could not check {what} ({type(exc).__name__}: {exc}); the "
                    "run may still fail there. Please report this as a gkd bug"
                ),
                type="preflight_failed",
                severity="warning",
            )
        )


def exception_text(exc: BaseException) -> str:
    """The first line of an exception's message (libraries raise multi-line ones), or its type."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
