"""vLLM generation with several training processes, without vLLM: the sync and what is refused.

Two real processes (gloo, accelerate's state from the launcher's environment variables)
share one `VllmServerBackend`; a server stand-in on rank 0 takes the reload and both
ranks' prompts, or refuses either. Before, a refusal left rank 1 at a barrier until a
launcher killed it. The real
runs (a vLLM server, and an engine per rank) are in tests/with_vllm/.
"""

from __future__ import annotations

import os
import subprocess
import sys
from types import SimpleNamespace

import pytest
from ports import free_port

pytest.importorskip("accelerate")

WORKER = """
import sys
from accelerate import PartialState
from transformers import GenerationConfig

from gkd_schema.runner.clients.vllm_server import ServerError
from gkd_schema.runner.generation import vllm_server_backend
from gkd_schema.runner.generation.vllm_engine import close_process_groups
from gkd_schema.runner.train.generation_setup import AccelerateRanks

DOWN = ServerError("unreachable", "the vLLM server at http://127.0.0.1:9 cannot be reached")


class Server:  # counts what reaches it; only the main process may call it
    reloads = requests = 0

    def reset_prefix_cache(self):
        pass

    def complete(self, model, prompts, settings):
        if sys.argv[1] == "refuse-completions":
            raise DOWN
        self.requests += 1
        return [[p[0] * 10 + p[1]] for p in prompts]  # a completion that names its prompt


def hand_over(model):  # the stand-in for writing and reloading a checkpoint
    if sys.argv[1] == "refuse-weights":
        raise DOWN
    server.reloads += 1


state = PartialState(cpu=True)
backend = vllm_server_backend.VllmServerBackend(
    server := Server(), "student", lambda m: m, hand_over,
    main_process=state.is_main_process, ranks=AccelerateRanks(state.process_index),
)
try:
    backend.sync(object())
    rank = state.process_index
    prompts = [[rank + 1, i] for i in range(rank + 2)]  # ranks send different numbers of prompts
    config = GenerationConfig(max_new_tokens=4, do_sample=False, eos_token_id=0, pad_token_id=0)
    completions = backend._sample(prompts, config)
    outcome, code = f"{server.reloads} reloads, {server.requests} requests, {completions}", 0
except Exception as exc:
    outcome, code = f"{type(exc).__name__}: {exc}", 1
# Both ranks get here either way (that is what is under test); leave together, as `gkd run`
# does, or gloo aborts the rank whose peer went first.
state.wait_for_everyone()
close_process_groups()
print(f"rank {state.process_index}: {outcome}", flush=True)
sys.exit(code)
"""



def _two_ranks(server: str) -> tuple[list[int | None], list[str]]:
    port = free_port()
    procs = []
    for rank in (0, 1):
        env = os.environ | {
            "RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": "2", "LOCAL_WORLD_SIZE": "2",
            "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "OMP_NUM_THREADS": "1",
        }
        procs.append(subprocess.Popen([sys.executable, "-c", WORKER, server], env=env, text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    outputs = [proc.communicate(timeout=180) for proc in procs]
    lines = [out.strip().splitlines()[-1] if out.strip() else err[-2000:] for out, err in outputs]
    return [proc.returncode for proc in procs], lines


def test_only_the_main_process_talks_to_the_server_and_each_rank_gets_its_own_completions() -> None:
    codes, lines = _two_ranks("accept")
    assert codes == [0, 0], lines
    # One reload and one request for both ranks' prompts (2 and 3), all on rank 0.
    assert lines == ["rank 0: 1 reloads, 1 requests, [[10], [11]]", "rank 1: 0 reloads, 0 requests, [[20], [21], [22]]"]


@pytest.mark.parametrize(
    ("refused", "what"),
    [
        ("refuse-weights", "give the vLLM server the new weights"),
        ("refuse-completions", "get completions from the vLLM server"),
    ],
)
def test_a_failure_on_the_main_process_stops_every_rank_with_its_reason(refused: str, what: str) -> None:
    codes, lines = _two_ranks(refused)
    assert codes == [1, 1], lines
    assert lines[0] == "rank 0: ServerError: the vLLM server at http://127.0.0.1:9 cannot be reached"
    assert lines[1] == (
        f"rank 1: RuntimeError: the main process could not {what}: "
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
