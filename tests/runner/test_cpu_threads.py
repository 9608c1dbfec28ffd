"""CPU thread counts come from the cores this process may really use."""

from __future__ import annotations

import pytest

from gkd_schema.runner.preflight import cpu_threads
from gkd_schema.runner.preflight.cpu_threads import busy_cores, choose_threads, usable_cores


@pytest.fixture
def four_cores(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(cpu_threads, "usable_cores", lambda: 4)
    return monkeypatch


@pytest.mark.parametrize(("busy", "threads"), [(0.0, 4), (1.0, 3), (1.4, 3), (2.6, 1), (7.0, 1), (None, 4)])
def test_busy_cores_are_left_to_their_work(four_cores: pytest.MonkeyPatch, busy: float | None, threads: int) -> None:
    four_cores.setattr(cpu_threads, "busy_cores", lambda: busy)
    choice = choose_threads(None)
    assert choice.threads == threads
    assert choice.reason.startswith("4 usable cores")


def test_the_user_overrides_the_choice(four_cores: pytest.MonkeyPatch) -> None:
    four_cores.setattr(cpu_threads, "busy_cores", lambda: 3.0)
    assert choose_threads(3).threads == 3 and choose_threads(3).reason == "training.cpu_threads"
    four_cores.setenv("OMP_NUM_THREADS", "2")
    assert choose_threads(None) == cpu_threads.ThreadChoice(2, "OMP_NUM_THREADS")


def test_processes_split_the_cores_without_counting_each_other(four_cores: pytest.MonkeyPatch) -> None:
    four_cores.setattr(cpu_threads, "busy_cores", lambda: pytest.fail("siblings would count as busy"))
    assert choose_threads(None, processes=2).threads == 2
    assert choose_threads(None, processes=8).threads == 1


def test_the_machine_is_read_for_real() -> None:
    assert usable_cores() >= 1
    busy = busy_cores(sample_s=0.05)
    assert busy is None or busy >= 0.0
