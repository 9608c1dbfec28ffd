"""Inputs built to cost as much as possible per byte, shared by the limit tests and the benchmark."""

from __future__ import annotations


def nested_merges(levels: int = 12, width: int = 8) -> str:
    """Each level merges the previous one and holds it `width` times: x`width` values per level."""
    lines = ["l0: &l0 {" + ", ".join(f"k{i}: {i}" for i in range(width)) + "}"]
    for level in range(1, levels):
        uses = ", ".join(f"u{i}: *l{level - 1}" for i in range(width))
        lines.append(f"l{level}: &l{level} {{<<: *l{level - 1}, {uses}}}")
    return "\n".join(lines) + "\n"


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """The billion laughs: each list holds the previous one `width` times."""
    lines = ["a0: &a0 [" + ", ".join(['"lol"'] * width) + "]"]
    for level in range(1, levels):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def deep_flow(levels: int) -> str:
    """`a: [[[...]]]`, `levels` deep."""
    return "a: " + "[" * levels + "]" * levels + "\n"


def flat_values(count: int) -> str:
    """One flow list of `count` small integers: many values, no alias."""
    return "a: [" + ", ".join("1" for _ in range(count)) + "]\n"


def big_config(target_bytes: int) -> str:
    """A valid config just under `target_bytes`, most of it in `training.extra_args`."""
    head = (
        "model:\n  name_or_path: Qwen/Qwen2.5-0.5B-Instruct\n"
        "gkd:\n  teacher_model_name_or_path: Qwen/Qwen2.5-1.5B-Instruct\n"
        "data:\n  train:\n    path: data/train.jsonl\n"
        "training:\n  output_dir: runs/x\n  extra_args:\n"
    )
    lines = [head]
    size = len(head)
    index = 0
    while True:
        line = f"    key_{index:06d}: {'a string value that is long enough to weigh something ' * 2}{index}\n"
        if size + len(line) > target_bytes:
            break
        lines.append(line)
        size += len(line)
        index += 1
    return "".join(lines)
