"""Models, tokenizer and data for `gpu_acceptance.py`, built offline from real shapes.

The student and teacher are Qwen2.5-0.5B and Qwen2.5-1.5B as their `config.json`s on
the Hub describe them (vocabulary 151,936, hidden sizes, layers, heads), with random
weights stored in bfloat16; the tokenizer is Qwen2's tokenizer class over single bytes,
padded to the same vocabulary. Everything is written to a folder and read back through
`from_pretrained` and `datasets`, as a real run reads it. `--cpu-smoke` uses the same
code at tiny shapes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

VOCAB = 151_936
# From Qwen/Qwen2.5-0.5B-Instruct and Qwen/Qwen2.5-1.5B-Instruct config.json.
_QWEN_COMMON: dict[str, Any] = {
    "max_position_embeddings": 32_768,
    "rope_theta": 1_000_000.0,
    "rms_norm_eps": 1e-6,
    "tie_word_embeddings": True,
    "hidden_act": "silu",
}
SHAPES: dict[str, dict[str, dict[str, Any]]] = {
    "gpu": {
        "student": {"hidden_size": 896, "intermediate_size": 4864, "num_hidden_layers": 24,
                    "num_attention_heads": 14, "num_key_value_heads": 2, "vocab_size": VOCAB},
        "teacher": {"hidden_size": 1536, "intermediate_size": 8960, "num_hidden_layers": 28,
                    "num_attention_heads": 12, "num_key_value_heads": 2, "vocab_size": VOCAB},
    },
    "smoke": {
        "student": {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                    "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 1024},
        "teacher": {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
                    "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 1024},
    },
}
ROWS_OF_DATA = 64
_DONE = "assets.json"


CHAT_TEMPLATE = (  # ChatML, as Qwen2.5-Instruct formats conversations
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
_SPECIAL = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")


def _tokenizer(folder: Path, vocab_size: int) -> None:
    """Qwen2's tokenizer class over every byte (no merges), padded to `vocab_size` ids.

    Byte-level like the real one, so TRL's collator gets the byte offsets it expects.
    """
    from tokenizers import pre_tokenizers
    from transformers import Qwen2Tokenizer

    symbols = [*_SPECIAL, *sorted(pre_tokenizers.ByteLevel.alphabet())]  # alphabet() has no fixed order
    symbols += [f"<|extra_{i}|>" for i in range(vocab_size - len(symbols))]
    tokenizer = Qwen2Tokenizer(
        vocab={symbol: i for i, symbol in enumerate(symbols)},
        merges=[],
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(str(folder))


def _model(folder: Path, shape: dict[str, Any], seed: int) -> None:
    import torch
    from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM

    _tokenizer(folder, shape["vocab_size"])
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    config = Qwen2Config(
        **_QWEN_COMMON, **shape, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id
    )
    torch.manual_seed(seed)
    # Random initialisation of 1.5B parameters is minutes on a CPU and seconds on a GPU.
    with torch.device("cuda" if torch.cuda.is_available() else "cpu"):
        model = Qwen2ForCausalLM(config).to(torch.bfloat16)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(str(folder))


def ensure_assets(workdir: Path, scale: str) -> dict[str, Any]:
    """Build the student, teacher and data under `workdir` once; returns what was built."""
    marker = workdir / _DONE
    if marker.is_file():
        built: dict[str, Any] = json.loads(marker.read_text())
        if built.get("scale") == scale:
            return built
    workdir.mkdir(parents=True, exist_ok=True)
    for seed, role in enumerate(("student", "teacher")):
        _model(workdir / role, SHAPES[scale][role], seed)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    import tiny_models

    tiny_models.write_reversal_jsonl(
        workdir / "train.jsonl", ROWS_OF_DATA, alphabet="abcdefghijklmnopqrstuvwxyz ", prompt="reverse: "
    )
    built = {"scale": scale, "shapes": SHAPES[scale]}
    marker.write_text(json.dumps(built))
    return built
