"""What a run records of its batches: the on-policy decisions, how generation went, and a teacher server's cost."""

from __future__ import annotations

from dataclasses import dataclass, field

from gkd_schema.runner.generation.backend import GenerationStats
from gkd_schema.runner.teacher.server_topk import TeacherServerStats


@dataclass
class OnPolicyRecord:
    """Decisions and generation time, per micro-batch, and the backend's totals."""

    decisions: list[tuple[int, int, bool]] = field(default_factory=list)
    # Wall time in generation calls (sync included): what the step timer splits out.
    generation_seconds: float = 0.0
    backend: str = "transformers"
    stats: GenerationStats = field(default_factory=GenerationStats)
    teacher: TeacherServerStats | None = None  # with `teacher.backend: server`
