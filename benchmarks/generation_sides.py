"""The sides `generation.py` runs, each in its own fresh process (one vLLM engine per process).

Generation (one batch of chat prompts at a time, every completion full length):
- `transformers`: TRL's `GKDTrainer.generate_on_policy_outputs` (transformers' `generate`
  with the KV cache, as gkd's default backend calls it).
- `vllm-bare`: the engine gkd builds (`vllm_engine.start_engine`), `llm.generate` on
  token-id prompts with the `SamplingParams` made once; its prefix cache is emptied,
  untimed, before every call, as a sync would.
- `vllm-backend`: gkd's `VllmBackend.generate`, the weights version moved before every
  call, so each one syncs first (as after every optimizer step).

For the on-policy steps (the sides are in `generation.py`), `generation_counters.Counters`
adds up where a step's time goes.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LLAMA = {"architecture": "llama", "num_kv_heads": 2}
STUDENT = {"hidden_size": 128, "num_layers": 2, "num_heads": 4, "seed": 2, **LLAMA}
TEACHER = {"hidden_size": 256, "num_layers": 4, "num_heads": 8, "seed": 1, **LLAMA}
SAMPLING = {"temperature": 0.9, "top_k": 0, "top_p": 1.0}  # TRL GKD's generation config
SHAPES = ((4, 32), (16, 32), (8, 128))  # prompts x new tokens
MAX_MODEL_LEN = 256
ROWS = 64


def build_assets(workdir: Path) -> None:
    """Tiny float32 Llama teacher and student, and 64 chat conversations (once)."""
    import importlib

    sys.path.insert(0, str(ROOT / "tests"))
    tiny_models = importlib.import_module("tiny_models")

    for name, spec in (("teacher", TEACHER), ("student", STUDENT)):
        if not (workdir / name / "config.json").exists():
            tiny_models.build_model(workdir / name, **spec)  # float32, as built
    messages = tiny_models.write_messages_jsonl(workdir / "train.jsonl", rows=ROWS)
    # The same user turns as `prompt` conversations, the format TRL's DistillationTrainer reads.
    import json

    with messages.open() as src, (workdir / "prompts.jsonl").open("w") as dst:
        for line in src:
            user = [m for m in json.loads(line)["messages"] if m["role"] == "user"]
            dst.write(json.dumps({"prompt": user}) + "\n")


def _prompts(workdir: Path, tokenizer: Any, n: int) -> dict[str, Any]:
    """The first `n` chat prompts of the data, left-padded as TRL's collator gives them."""
    import json

    import torch

    lines = (workdir / "prompts.jsonl").read_text().splitlines()[:n]
    rows = []
    for line in lines:
        ids = tokenizer.apply_chat_template(json.loads(line)["prompt"], add_generation_prompt=True, tokenize=True)
        rows.append(list(ids["input_ids"] if hasattr(ids, "keys") else ids))
    width = max(len(r) for r in rows)
    prompts = torch.full((n, width), tokenizer.pad_token_id, dtype=torch.long)
    mask = torch.zeros((n, width), dtype=torch.long)
    for i, r in enumerate(rows):
        prompts[i, width - len(r) :] = torch.tensor(r)
        mask[i, width - len(r) :] = 1
    return {"prompts": prompts, "prompt_attention_mask": mask}


def _generation_config(tokenizer: Any, max_new: int) -> Any:
    """TRL GKD's sampling settings with the KV cache and no stop token.

    So every completion runs to `max_new` tokens on every side (an end token sampled is
    just another token) and the token counts are equal.
    """
    from transformers import GenerationConfig

    return GenerationConfig(  # type: ignore[no-untyped-call]
        max_new_tokens=max_new, do_sample=True, use_cache=True, pad_token_id=tokenizer.pad_token_id,
        eos_token_id=None, **SAMPLING,
    )


def _setup(workdir: Path, threads: int) -> tuple[Any, Any]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    student = str(workdir / "student")
    return AutoModelForCausalLM.from_pretrained(student, dtype=torch.float32), AutoTokenizer.from_pretrained(student)


def _engine(workdir: Path, model: Any, threads: int) -> Any:
    """The engine gkd's `generation_setup.engine_spec` would build for this student."""
    from gkd_schema.runner.generation.vllm_engine import EngineSpec, kv_cache_bytes, start_engine

    batch = max(n for n, _ in SHAPES)
    spec = EngineSpec(
        model=str(workdir / "student"), tokenizer=str(workdir / "student"), revision=None, dtype="float32",
        device="cpu", max_model_len=MAX_MODEL_LEN, max_num_seqs=batch, gpu_memory_utilization=0.3,
        kv_cache_bytes=kv_cache_bytes(model.config, batch, MAX_MODEL_LEN, 4), tensor_parallel_size=1,
        enable_prefix_caching=True, seed=0,
    )
    return start_engine(spec, threads)


def _clock(fn: Any, warmup: int, repeats: int) -> list[float]:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def gen_transformers(workdir: Path, warmup: int, repeats: int, threads: int) -> dict[str, Any]:
    """Seconds per batch of TRL's `generate_on_policy_outputs`, per shape."""
    from gkd_schema.runner.preflight.trl_compat import gkd_classes

    model, tokenizer = _setup(workdir, threads)
    model.generation_config.eos_token_id = None  # else `generate` takes the checkpoint's for the config's None
    generate = gkd_classes()[1].generate_on_policy_outputs
    out: dict[str, Any] = {}
    for n, new in SHAPES:
        inputs, config = _prompts(workdir, tokenizer, n), _generation_config(tokenizer, new)
        tokens: list[int] = []

        def call(inputs: Any = inputs, config: Any = config, tokens: list[int] = tokens) -> None:
            _, mask, _ = generate(model, inputs, config)
            tokens.append(int(mask[:, inputs["prompts"].shape[1] :].sum()))

        out[f"{n}x{new}"] = {"seconds": _clock(call, warmup, repeats), "tokens": tokens[-1]}
    return out


def gen_vllm_bare(workdir: Path, warmup: int, repeats: int, threads: int) -> dict[str, Any]:
    """Seconds per `llm.generate` of the batch's token-id prompts, per shape."""
    from vllm.inputs import TokensPrompt

    from gkd_schema.runner.generation.completions import prompt_token_lists
    from gkd_schema.runner.generation.vllm_backend import sampling_params

    model, tokenizer = _setup(workdir, threads)
    llm = _engine(workdir, model, threads)
    out: dict[str, Any] = {}
    for n, new in SHAPES:
        inputs = _prompts(workdir, tokenizer, n)
        params = sampling_params(_generation_config(tokenizer, new))
        requests = [TokensPrompt(prompt_token_ids=ids) for ids in prompt_token_lists(*inputs.values())]
        times, tokens = [], 0
        for i in range(warmup + repeats):
            llm.reset_prefix_cache()  # untimed: a sync empties it before every generation
            start = time.perf_counter()
            outputs = llm.generate(requests, params, use_tqdm=False)
            if i >= warmup:
                times.append(time.perf_counter() - start)
            tokens = sum(len(o.outputs[0].token_ids) for o in outputs)
        out[f"{n}x{new}"] = {"seconds": times, "tokens": tokens}
    return out


def gen_vllm_backend(workdir: Path, warmup: int, repeats: int, threads: int) -> dict[str, Any]:
    """Seconds per `VllmBackend.generate` with a sync before each, per shape; and its pieces."""
    from gkd_schema.runner.generation.vllm_backend import VllmBackend

    model, tokenizer = _setup(workdir, threads)
    backend = VllmBackend(_engine(workdir, model, threads), lambda m: m)
    stats = backend.stats
    out: dict[str, Any] = {}
    version = 0
    for n, new in SHAPES:
        inputs, config = _prompts(workdir, tokenizer, n), _generation_config(tokenizer, new)
        rows: dict[str, list[float]] = {"seconds": [], "sync": [], "generate": []}
        tokens = 0
        for i in range(warmup + repeats):
            version += 1  # as after an optimizer step
            sync0, gen0 = stats.sync_seconds, stats.generate_seconds
            start = time.perf_counter()
            _, mask, _ = backend.generate(model, inputs, config, weights_version=version)
            if i >= warmup:
                rows["seconds"].append(time.perf_counter() - start)
                rows["sync"].append(stats.sync_seconds - sync0)
                rows["generate"].append(stats.generate_seconds - gen0)
            tokens = int(mask[:, inputs["prompts"].shape[1] :].sum())
        out[f"{n}x{new}"] = {**rows, "tokens": tokens}
    out["pieces"] = _pieces(workdir, backend, model, tokenizer, max(repeats, 5))
    return out


def _pieces(workdir: Path, backend: Any, model: Any, tokenizer: Any, repeats: int) -> dict[str, float]:
    """Median seconds of each piece of a `VllmBackend.generate` (16 prompts x 32 tokens)."""
    import torch
    from vllm.inputs import TokensPrompt

    from gkd_schema.runner.generation.completions import completion_batch, prompt_token_lists
    from gkd_schema.runner.generation.vllm_backend import sampling_params
    from gkd_schema.runner.generation.vllm_sync import current_weights

    llm = backend.llm
    inputs = _prompts(workdir, tokenizer, 16)
    config = _generation_config(tokenizer, 32)
    requests = [TokensPrompt(prompt_token_ids=ids) for ids in prompt_token_lists(*inputs.values())]
    params = sampling_params(config)
    outputs = llm.generate(requests, params, use_tqdm=False)
    lists = [list(o.outputs[0].token_ids) for o in outputs]

    def weights() -> None:
        with torch.no_grad(), current_weights(model) as w:
            llm.collective_rpc("reload_weights", kwargs={"weights_iterator": w, "is_checkpoint_format": True})

    def listing() -> None:
        with current_weights(model) as w:
            len(w)

    pieces = {
        "sampling_params": lambda: sampling_params(config),
        "prompt lists + TokensPrompt": lambda: [
            TokensPrompt(prompt_token_ids=ids) for ids in prompt_token_lists(*inputs.values())
        ],
        "completion_batch": lambda: completion_batch(inputs["prompts"], inputs["prompt_attention_mask"], lists,
                                                     pad_token_id=config.pad_token_id, eos_token_id=None),
        "sync: list the parameters": listing,
        "sync: reload_weights": weights,
        "sync: reset_prefix_cache": llm.reset_prefix_cache,
        "llm.generate, prefix cache warm": lambda: llm.generate(requests, params, use_tqdm=False),
    }
    return {name: statistics.median(_clock(fn, 2, repeats)) for name, fn in pieces.items()}


GEN_SIDES = {"transformers": gen_transformers, "vllm-bare": gen_vllm_bare, "vllm-backend": gen_vllm_backend}
