"""Tiny, local, randomly initialised models and tokenizers for tests (no model hub).

Everything is saved with `save_pretrained` so the code under test goes through the
real `from_pretrained` loading path on a local directory.
"""

from __future__ import annotations

import json
import string
from pathlib import Path
from typing import Any

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "<|{{ message['role'] }}|>{{ message['content'] }}<|end|>"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
SPECIAL_TOKENS = ["<pad>", "<|end|>", "<|system|>", "<|user|>", "<|assistant|>", "<unk>"]
CHARACTERS = list(string.ascii_letters + string.digits + string.punctuation + " \n")


def build_tokenizer(
    out_dir: Path, *, chat_template: bool = True, pad_token: bool = True, extra_tokens: int = 0
) -> Path:
    """Save a character-level fast tokenizer with a chat template to `out_dir`.

    Args:
        out_dir: Where to save it.
        chat_template: Give the tokenizer a chat template.
        pad_token: Give the tokenizer a pad token.
        extra_tokens: Extra dummy tokens, to make vocabularies of different sizes.

    Returns:
        `out_dir`.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {tok: i for i, tok in enumerate(SPECIAL_TOKENS + CHARACTERS)}
    for i in range(extra_tokens):
        vocab[f"<extra_{i}>"] = len(vocab)
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
    core.decoder = decoders.Fuse()
    kwargs: dict[str, Any] = {"eos_token": "<|end|>", "unk_token": "<unk>"}
    if pad_token:
        kwargs["pad_token"] = "<pad>"
    tok = PreTrainedTokenizerFast(tokenizer_object=core, **kwargs)
    tok.add_special_tokens({"additional_special_tokens": SPECIAL_TOKENS[2:5]})
    if chat_template:
        tok.chat_template = CHAT_TEMPLATE
    out_dir.mkdir(parents=True, exist_ok=True)
    tok.save_pretrained(str(out_dir))
    return out_dir


def build_model(
    out_dir: Path,
    *,
    hidden_size: int = 32,
    num_layers: int = 2,
    vocab_size: int | None = None,
    seed: int = 0,
    with_tokenizer: bool = True,
    max_position_embeddings: int = 512,
    architecture: str = "olmo2",
    num_heads: int = 4,
    num_kv_heads: int = 2,
    **tokenizer_kwargs: Any,
) -> Path:
    """Save a tiny random OLMo-2 (or Llama) causal LM (and, by default, its tokenizer) to `out_dir`.

    OLMo-2 because transformers 5 picks the tokenizer class from the model type,
    and OLMo-2's is the generic one that keeps this character-level tokenizer.
    `architecture="llama"` for vLLM, which implements Llama itself (it runs OLMo-2
    through a transformers fallback that cannot share a process with training); its
    CPU build needs heads at least 32 wide (`hidden_size / num_heads`).

    Args:
        out_dir: Where to save it.
        hidden_size: Width of the model.
        num_layers: Number of decoder layers.
        vocab_size: Embedding rows; the tokenizer's length when None.
        seed: Seed of the random initialisation.
        with_tokenizer: Also save a tokenizer built by `build_tokenizer`.
        max_position_embeddings: The longest sequence the model is built for.
        architecture: `olmo2` or `llama`.
        num_heads: Attention heads.
        num_kv_heads: Key/value heads.
        **tokenizer_kwargs: Passed to `build_tokenizer`.

    Returns:
        `out_dir`.
    """
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM, Olmo2Config, Olmo2ForCausalLM

    if with_tokenizer:
        build_tokenizer(out_dir, **tokenizer_kwargs)
        tok = AutoTokenizer.from_pretrained(str(out_dir))
        vocab_size = vocab_size or len(tok)
        eos_id, pad_id = tok.eos_token_id, tok.pad_token_id
    else:
        vocab_size = vocab_size or len(SPECIAL_TOKENS) + len(CHARACTERS)
        eos_id, pad_id = 1, 0
    torch.manual_seed(seed)
    config_cls, model_cls = {"olmo2": (Olmo2Config, Olmo2ForCausalLM), "llama": (LlamaConfig, LlamaForCausalLM)}[
        architecture
    ]
    config = config_cls(
        vocab_size=vocab_size,
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        num_key_value_heads=num_kv_heads,
        max_position_embeddings=max_position_embeddings,
        tie_word_embeddings=True,
        eos_token_id=eos_id,
        pad_token_id=pad_id,
        bos_token_id=None,
    )
    model = model_cls(config)
    model.generation_config.eos_token_id = eos_id
    model.generation_config.pad_token_id = pad_id
    model.save_pretrained(str(out_dir))
    return out_dir


def write_messages_jsonl(path: Path, rows: int = 8, *, last_role: str = "assistant") -> Path:
    """Write `rows` short conversations in the `messages` format."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for i in range(rows):
            messages = [
                {"role": "user", "content": f"reverse abc{i}"},
                {"role": last_role, "content": f"{i}cba"},
            ]
            fh.write(json.dumps({"messages": messages}) + "\n")
    return path


_WORDS = ("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "theta", "kappa", "lambda", "sigma")


def _corpus(seed: int, lines: int = 200) -> list[str]:
    """Lines of random words: two seeds give two different subword vocabularies."""
    import random

    rnd = random.Random(seed)
    return [" ".join(rnd.choice(_WORDS) for _ in range(8)) for _ in range(lines)]


def build_sentencepiece_tokenizer(out_dir: Path, *, seed: int = 0, vocab_size: int = 40) -> Path:
    """Save a tokenizer that is only `tokenizer.model` (SentencePiece BPE) and its config.

    Llama-2-era checkpoints ship this way; loading needs `sentencepiece` and `protobuf`.
    """
    import io

    import sentencepiece as spm

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(_corpus(seed)),
        model_writer=model,
        vocab_size=vocab_size,
        model_type="bpe",
        unk_id=0,
        bos_id=1,
        eos_id=2,
        pad_id=3,
        minloglevel=2,
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "tokenizer.model").write_bytes(model.getvalue())
    special = {"unk_token": "<unk>", "bos_token": "<s>", "eos_token": "</s>", "pad_token": "<pad>"}
    (out_dir / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "LlamaTokenizer", **special}))
    return out_dir


def build_vocab_merges_tokenizer(out_dir: Path, *, seed: int = 0, vocab_size: int = 290) -> Path:
    """Save a byte-level BPE tokenizer as `vocab.json` + `merges.txt` only (GPT-2's layout)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    core.train_from_iterator(_corpus(seed), trainer=trainer)
    out_dir.mkdir(parents=True, exist_ok=True)
    core.model.save(str(out_dir))
    special = {"eos_token": "<|endoftext|>", "bos_token": "<|endoftext|>", "unk_token": "<|endoftext|>"}
    (out_dir / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "GPT2Tokenizer", **special}))
    return out_dir


def write_reversal_jsonl(
    path: Path, rows: int, *, alphabet: str, prompt: str, lengths: tuple[int, int] = (40, 80), seed: int = 0
) -> Path:
    """Conversations whose completion reverses a random string from the prompt.

    Completions as long as real ones relative to `max_new_tokens` (40-80 characters by
    default, tokens with a character or byte tokenizer); `prompt` prefixes the string.
    """
    import random

    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as fh:
        for _ in range(rows):
            text = "".join(rng.choice(alphabet) for _ in range(rng.randint(*lengths)))
            messages = [{"role": "user", "content": f"{prompt}{text}"}, {"role": "assistant", "content": text[::-1]}]
            fh.write(json.dumps({"messages": messages}) + "\n")
    return path
