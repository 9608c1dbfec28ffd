"""Rebuild the quickstart's teacher, student and data, seeded and offline (CPU, minutes).

The toy task is string reversal: the user writes `reverse: abcde`, the assistant answers
`edcba`. The teacher is trained on it until it answers held-out prompts almost perfectly.
The student is smaller and has been trained only to *copy* strings (`copy: abcde` ->
`abcde`): it knows the chat format and how to end an answer, but not the task, so it
answers reversal prompts with a copy. `gkd run examples/quickstart/config.yaml` then
distills the teacher into it.

Run from the repository root (needs the `train` extra):

    python examples/quickstart/build_assets.py

It overwrites `teacher/`, `student/`, `train.jsonl` and `eval.jsonl` next to this file.
"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path
from typing import Any

import torch
from transformers import (
    AutoTokenizer,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedTokenizerBase,
)

HERE = Path(__file__).resolve().parent
# The character tokenizer is the tests' (`tests/tiny_models.py`), so both stay one.
sys.path.insert(0, str(HERE.parents[1] / "tests"))
import tiny_models  # noqa: E402

SEED = 1234
ALPHABET = "abcdefghij"
LENGTHS = range(3, 7)
N_TRAIN, N_EVAL = 2000, 200
# Sizes chosen so both checkpoints together stay far below the 10 MB budget. Both are
# Llama models with a head dimension of 32, so vLLM (also its CPU build, whose attention
# needs a head dimension of at least 32) can generate with them natively: vLLM serves
# some other architectures (OLMo-2 among them) through its transformers fallback, which
# patches transformers' model class in-process and breaks training that class there.
TEACHER = {"hidden_size": 128, "num_layers": 3, "num_heads": 4, "num_kv_heads": 2}
STUDENT = {"hidden_size": 64, "num_layers": 2, "num_heads": 2, "num_kv_heads": 1}
TEACHER_STEPS, STUDENT_STEPS = 600, 400
# Both models are trained with label smoothing (real language models are rarely
# certain): a student that is 100% sure of a wrong token gets almost no gradient from
# the generalized JSD loss, and a smoothed teacher has "dark knowledge" to pass on.
LABEL_SMOOTHING = 0.1



def build_tokenizer(out_dir: Path) -> PreTrainedTokenizerBase:
    """Save the tests' character-level tokenizer (chat template, pad token) and load it back.

    One token per character keeps the vocabulary tiny and the task exactly checkable.
    Loaded back the way every user will, so the tokenizer class is what they get.
    """
    return AutoTokenizer.from_pretrained(str(tiny_models.build_tokenizer(out_dir)))


def new_model(
    tok: PreTrainedTokenizerBase, hidden_size: int, num_layers: int, num_heads: int, num_kv_heads: int
) -> LlamaForCausalLM:
    """A randomly initialised Llama model (its tokenizer stays the generic character one)."""
    config = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        num_key_value_heads=num_kv_heads,
        max_position_embeddings=64,
        tie_word_embeddings=True,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        bos_token_id=None,
    )
    model = LlamaForCausalLM(config)
    model.generation_config.eos_token_id = tok.eos_token_id
    model.generation_config.pad_token_id = tok.pad_token_id
    model.generation_config.bos_token_id = None
    return model


def random_word(rng: random.Random) -> str:
    """A random string of the task's alphabet and lengths."""
    return "".join(rng.choice(ALPHABET) for _ in range(rng.choice(LENGTHS)))


def example(task: str, word: str) -> dict[str, Any]:
    """One conversation in the `messages` format."""
    answer = word[::-1] if task == "reverse" else word
    return {
        "messages": [
            {"role": "user", "content": f"{task}: {word}"},
            {"role": "assistant", "content": answer},
        ]
    }


def encode(tok: PreTrainedTokenizerBase, rows: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
    """Right-padded ids and labels (-100 on the prompt and padding) for plain training."""
    ids, labels = [], []
    for row in rows:
        prompt = tok.apply_chat_template(row["messages"][:-1], add_generation_prompt=True, tokenize=False)
        full = tok.apply_chat_template(row["messages"], tokenize=False)
        p_ids = tok(prompt, add_special_tokens=False)["input_ids"]
        f_ids = tok(full, add_special_tokens=False)["input_ids"]
        ids.append(f_ids)
        labels.append([-100] * len(p_ids) + f_ids[len(p_ids) :])
    width = max(map(len, ids))
    pad = tok.pad_token_id
    return {
        "input_ids": torch.tensor([x + [pad] * (width - len(x)) for x in ids]),
        "attention_mask": torch.tensor([[1] * len(x) + [0] * (width - len(x)) for x in ids]),
        "labels": torch.tensor([x + [-100] * (width - len(x)) for x in labels]),
    }


def train(
    model: LlamaForCausalLM,
    tok: PreTrainedTokenizerBase,
    task: str,
    steps: int,
    rng: random.Random,
    held_out: set[str],
    lr: float = 3e-3,
    batch_size: int = 64,
) -> None:
    """Supervised training on fresh random strings of `task`, never the held-out ones."""
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.05)
    model.train()
    for step in range(1, steps + 1):
        words: list[str] = []
        while len(words) < batch_size:
            word = random_word(rng)
            if word not in held_out:
                words.append(word)
        batch = encode(tok, [example(task, w) for w in words])
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        loss = torch.nn.functional.cross_entropy(
            logits[:, :-1].flatten(0, 1),
            batch["labels"][:, 1:].flatten(),
            ignore_index=-100,
            label_smoothing=LABEL_SMOOTHING,
        )
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % 100 == 0 or step == steps:
            print(f"  {task} step {step}/{steps} loss {loss.item():.4f}", flush=True)
    model.eval()


@torch.no_grad()
def accuracy(model: LlamaForCausalLM, tok: PreTrainedTokenizerBase, rows: list[dict[str, Any]]) -> float:
    """Exact-match accuracy of greedy answers."""
    tok.padding_side = "left"
    prompts = [
        tok.apply_chat_template(r["messages"][:-1], add_generation_prompt=True, tokenize=False) for r in rows
    ]
    enc = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
    out = model.generate(**enc, max_new_tokens=max(LENGTHS) + 2, do_sample=False)
    answers = tok.batch_decode(out[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)
    return sum(a == r["messages"][-1]["content"] for a, r in zip(answers, rows, strict=True)) / len(rows)


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    """Write rows, one JSON object per line."""
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row) + "\n")


def main() -> None:
    """Build and save the data, the teacher and the student; print their accuracies."""
    start = time.perf_counter()
    rng = random.Random(SEED)
    torch.manual_seed(SEED)
    # Held-out words are drawn first and never used for training anything.
    eval_words: list[str] = []
    while len(eval_words) < N_EVAL:
        word = random_word(rng)
        if word not in eval_words:
            eval_words.append(word)
    held_out = set(eval_words)
    train_words = []
    while len(train_words) < N_TRAIN:
        word = random_word(rng)
        if word not in held_out:
            train_words.append(word)
    eval_rows = [example("reverse", w) for w in eval_words]
    write_jsonl(HERE / "train.jsonl", [example("reverse", w) for w in train_words])
    write_jsonl(HERE / "eval.jsonl", eval_rows)

    tok = build_tokenizer(HERE / "teacher")
    build_tokenizer(HERE / "student")

    print("Training the teacher on reversal ...", flush=True)
    teacher = new_model(tok, **TEACHER)
    train(teacher, tok, "reverse", TEACHER_STEPS, rng, held_out)
    teacher.save_pretrained(str(HERE / "teacher"))

    print("Training the student on copying (not reversal) ...", flush=True)
    student = new_model(tok, **STUDENT)
    train(student, tok, "copy", STUDENT_STEPS, rng, held_out)
    student.save_pretrained(str(HERE / "student"))

    copy_rows = [example("copy", w) for w in eval_words]
    print(f"teacher reversal accuracy (held out): {accuracy(teacher, tok, eval_rows):.1%}")
    print(f"student reversal accuracy (held out): {accuracy(student, tok, eval_rows):.1%}")
    print(f"student copy accuracy (held out):     {accuracy(student, tok, copy_rows):.1%}")
    print(f"built in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
