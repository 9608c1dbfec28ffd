"""The error a run that got past preflight ends with: one sentence, no traceback."""

from __future__ import annotations


class RunFailedError(Exception):
    """Loading the models, building the trainer, training or pushing failed; the message says why."""
