"""vLLM generation with several training processes, without vLLM: the sync and what is refused.

Two real processes (gloo, accelerate's state from the launcher's environment variables)
share one `VllmServerBackend` sync; a server stand-in accepts or refuses the reload on
rank 0. Before, a refusal left rank 1 at a barrier until a launcher killed it. The real
runs (a vLLM server, and an engine per rank) are in tests/with_vllm/.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from ports import free_port

pytest.importorskip("accelerate")

WORKER = """
import sys
from accelerate import PartialState

from gkd_schema.runner.clients.vllm_server import ServerError
from gkd_schema.runner.generation import vllm_server_backend
from gkd_schema.runner.generation.vllm_engine import close_process_groups
from gkd_schema.runner.train.generation_setup import _from_main_process


class Server:
    reloads = 0

    def reload_weights(self, folder):
        if sys.argv[2] == "refuse":
            raise ServerError("unreachable", "the vLLM server at http://127.0.0.1:9 cannot be reached")
        self.reloads += 1

    def reset_prefix_cache(self):
        pass


state = PartialState(cpu=True)
vllm_server_backend.write_weights = lambda model, folder: None  # no model: only the sync is under test
backend = vllm_server_backend.VllmServerBackend(
    server := Server(), "student", lambda m: m, sync_dir=__import__("pathlib").Path(sys.argv[1]),
    main_process=state.is_main_process, share_from_main=_from_main_process,
)
try:
    backend.sync(object())
    outcome, code = f"synced, {server.reloads} reloads", 0
except Exception as exc:
    outcome, code = f"{type(exc).__name__}: {exc}", 1
# Both ranks get here either way (that is what is under test); leave together, as `gkd run`
# does, or gloo aborts the rank whose peer went first.
state.wait_for_everyone()
close_process_groups()
print(f"rank {state.process_index}: {outcome}", flush=True)
sys.exit(code)
"""



def _two_ranks(tmp_path: Path, server: str) -> tuple[list[int | None], list[str]]:
    port = free_port()
    procs = []
    for rank in (0, 1):
        env = os.environ | {
            "RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": "2", "LOCAL_WORLD_SIZE": "2",
            "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "OMP_NUM_THREADS": "1",
        }
        procs.append(subprocess.Popen([sys.executable, "-c", WORKER, str(tmp_path), server], env=env, text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    outputs = [proc.communicate(timeout=180) for proc in procs]
    lines = [out.strip().splitlines()[-1] if out.strip() else err[-2000:] for out, err in outputs]
    return [proc.returncode for proc in procs], lines


def test_the_main_process_alone_reloads_and_every_rank_goes_on(tmp_path: Path) -> None:
    codes, lines = _two_ranks(tmp_path, "accept")
    assert codes == [0, 0], lines
    assert lines == ["rank 0: synced, 1 reloads", "rank 1: synced, 0 reloads"]


def test_a_failed_reload_on_the_main_process_stops_every_rank_with_its_reason(tmp_path: Path) -> None:
    codes, lines = _two_ranks(tmp_path, "refuse")
    assert codes == [1, 1], lines
    assert lines[0] == "rank 0: ServerError: the vLLM server at http://127.0.0.1:9 cannot be reached"
    assert lines[1] == (
        "rank 1: RuntimeError: the main process could not give the vLLM server the new weights: "
        "ServerError: the vLLM server at http://127.0.0.1:9 cannot be reached"
    )


@pytest.mark.parametrize("mode", ["colocate", "server"])
@pytest.mark.parametrize("shards", ["fsdp", "zero3"])
def test_several_processes_holding_shards_are_refused_with_the_reason(mode: str, shards: str) -> None:
    from gkd_schema.models.generation_section import GenerationSection
    from gkd_schema.runner.train.generation_setup import student_backend

    vllm = {"mode": mode, **({"server_url": "http://127.0.0.1:9"} if mode == "server" else {})}
    settings = GenerationSection.model_validate({"backend": "vllm", "vllm": vllm})
    plugin = SimpleNamespace(zero_stage=3) if shards == "zero3" else None
    trainer = SimpleNamespace(
        is_fsdp_enabled=shards == "fsdp",
        accelerator=SimpleNamespace(num_processes=2, state=SimpleNamespace(deepspeed_plugin=plugin)),
    )
    with pytest.raises(RuntimeError, match=f"`generation.vllm.mode: {mode}` with several processes needs each"):
        student_backend(trainer, settings, None)
