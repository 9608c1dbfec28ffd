"""The colocated vLLM backend on real engines: weights in sync, token-exact with transformers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import tiny_models
import torch

from gkd_schema.runner.generation.vllm_backend import VllmBackend
from gkd_schema.runner.generation.vllm_engine import EngineSpec, start_engine

# Heads 32 wide: the narrowest the CPU build's attention runs.
STUDENT = {"hidden_size": 64, "num_layers": 2, "architecture": "llama", "num_heads": 2, "num_kv_heads": 1}
MAX_NEW = 12
WORDS = ["abc", "hello world", "x", "reverse: fghij"]


@pytest.fixture(scope="module")
def student_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_models.build_model(tmp_path_factory.mktemp("llama") / "student", seed=3, **STUDENT)


def _spec(model_dir: Path) -> EngineSpec:
    return EngineSpec(
        model=str(model_dir),
        tokenizer=str(model_dir),
        revision=None,
        dtype="float32",
        device="cpu",
        max_model_len=64,
        max_num_seqs=len(WORDS),
        gpu_memory_utilization=0.3,
        kv_cache_bytes=64 << 20,
        tensor_parallel_size=1,
        enable_prefix_caching=True,
        seed=0,
    )


@pytest.fixture(scope="module")
def engine(student_dir: Path) -> Any:
    torch.set_num_threads(2)
    llm = start_engine(_spec(student_dir), threads=2)
    return llm


def _load(model_dir: Path) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    return AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32), tokenizer


def _batch(tokenizer: Any) -> dict[str, Any]:
    """Left-padded chat prompts of different lengths, as TRL's collator gives them."""
    rows = [
        tokenizer.apply_chat_template([{"role": "user", "content": w}], add_generation_prompt=True, tokenize=True)
        for w in WORDS
    ]
    rows = [r["input_ids"] if isinstance(r, dict) or hasattr(r, "keys") else r for r in rows]
    width = max(len(r) for r in rows)
    prompts = torch.full((len(rows), width), tokenizer.pad_token_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        prompts[i, width - len(r) :] = torch.tensor(r)
        mask[i, width - len(r) :] = 1
    return {"prompts": prompts, "prompt_attention_mask": mask}


def _greedy(tokenizer: Any, eos: int | list[int]) -> Any:
    from transformers import GenerationConfig

    return GenerationConfig(
        max_new_tokens=MAX_NEW, do_sample=False, eos_token_id=eos, pad_token_id=tokenizer.pad_token_id, use_cache=True
    )


def _transformers(model: Any, inputs: dict[str, Any], config: Any) -> tuple[Any, Any, Any]:
    from gkd_schema.runner.preflight.trl_compat import gkd_classes

    with torch.no_grad():
        return gkd_classes()[1].generate_on_policy_outputs(model, inputs, config)  # type: ignore[no-any-return]


def _optimizer_step(model: Any, inputs: dict[str, Any]) -> None:
    """One real Adam step on the prompts' language-modelling loss: every weight moves by about `lr`."""
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    prompts, mask = inputs["prompts"], inputs["prompt_attention_mask"]
    loss = model(input_ids=prompts, attention_mask=mask, labels=prompts).loss
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()


def _assert_same(got: tuple[Any, Any, Any], want: tuple[Any, Any, Any]) -> None:
    for name, a, b in zip(("input_ids", "attention_mask", "labels"), got, want, strict=True):
        assert a.shape == b.shape, name
        assert torch.equal(a, b), f"{name} differ:\n{a}\n{b}"


def test_greedy_completions_after_an_update_equal_transformers_token_for_token(
    engine: Any, student_dir: Path
) -> None:
    model, tokenizer = _load(student_dir)
    inputs = _batch(tokenizer)
    width = inputs["prompts"].shape[1]
    backend = VllmBackend(engine, lambda m: m)
    free = _greedy(tokenizer, tokenizer.eos_token_id)
    before = backend.generate(model, inputs, free, weights_version=0)
    _assert_same(before, _transformers(model, inputs, free))

    _optimizer_step(model, inputs)
    moved = _transformers(model, inputs, free)
    assert not torch.equal(moved[0], before[0]), "the step did not change greedy completions"
    # Same weights version: no sync, so the engine still answers with the old weights.
    _assert_same(backend.generate(model, inputs, free, weights_version=0), before)

    # A second stop token that the updated student reaches mid-completion, so that early
    # stops, padding after them and a list of stop ids are all exercised.
    stop = int(moved[0][0, width + 3])
    config = _greedy(tokenizer, [tokenizer.eos_token_id, stop])
    after = backend.generate(model, inputs, config, weights_version=1)
    want = _transformers(model, inputs, config)
    _assert_same(after, want)
    assert int(want[1][0, width:].sum()) <= 4 < MAX_NEW, "row 0 stopped at its stop token"
    assert backend.stats.syncs == 2
    assert backend.stats.completion_tokens == sum(int(b[1][:, width:].sum()) for b in (before, before, after))


def test_the_engine_syncs_only_when_the_weights_version_moves(engine: Any, student_dir: Path) -> None:
    model, tokenizer = _load(student_dir)
    inputs = _batch(tokenizer)
    backend = VllmBackend(engine, lambda m: m)
    config = _greedy(tokenizer, tokenizer.eos_token_id)
    for version in (0, 0, 0, 1, 1):
        backend.generate(model, inputs, config, weights_version=version)
    assert backend.stats.syncs == 2
    assert backend.stats.generations == 5
    assert backend.stats.tokens_per_second is not None


def lora_student(model: Any) -> Any:
    """`model` with LoRA adapters on q and v whose B matrices are random (they start as a no-op)."""
    from peft import LoraConfig, get_peft_model

    peft_model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"]))
    with torch.no_grad():
        for name, param in peft_model.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.5)
    return peft_model


def test_a_lora_student_generates_with_its_merged_weights(engine: Any, student_dir: Path) -> None:
    model, tokenizer = _load(student_dir)
    peft_model = lora_student(model)
    inputs = _batch(tokenizer)
    config = _greedy(tokenizer, tokenizer.eos_token_id)
    got = VllmBackend(engine, lambda m: m).generate(peft_model, inputs, config, weights_version=0)
    _assert_same(got, _transformers(peft_model, inputs, config))
    base, _ = _load(student_dir)
    assert not torch.equal(got[0], _transformers(base, inputs, config)[0])
    # Unmerged again: the adapter still trains separately from the frozen base.
    assert not peft_model.base_model.model.model.layers[0].self_attn.q_proj.merged


def test_the_run_keeps_the_thread_count_gkd_chose(engine: Any) -> None:
    # vLLM drops torch to one thread for serving unless OMP_NUM_THREADS is set;
    # start_engine exports gkd's choice, so training keeps its threads.
    assert torch.get_num_threads() == 2


def test_an_architecture_vllm_serves_through_transformers_is_refused(tmp_path: Path) -> None:
    # In a subprocess: the fallback patches transformers' OLMo-2 class for the whole process.
    model_dir = tiny_models.build_model(tmp_path / "olmo", hidden_size=64, num_heads=2, num_kv_heads=1)
    script = (
        "import sys; from pathlib import Path; sys.path[:0] = [sys.argv[2], str(Path(sys.argv[2]).parent)]\n"
        "from test_vllm_generation import _spec\n"
        "from gkd_schema.runner.generation.vllm_engine import start_engine, UnsupportedStudentError\n"
        "try:\n    start_engine(_spec(Path(sys.argv[1])), threads=1)\n"
        "except UnsupportedStudentError as exc:\n    print('refused:', exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(model_dir), str(Path(__file__).parent)],
        capture_output=True, text=True, timeout=300,
    )
    assert "refused: vLLM runs" in done.stdout, done.stdout + done.stderr[-3000:]
    assert "transformers fallback" in done.stdout
