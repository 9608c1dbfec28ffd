"""Teachers with another tokenizer than the student's, for the cross-tokenizer tests.

`permute_vocabulary` gives a model the same token strings under other ids: its
tokenizer's ids and its embedding and output rows are shuffled together, so it computes
exactly what it did, in another vocabulary order (the case a shared-tokenizer run would
silently get wrong).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path


def permute_vocabulary(model_dir: Path, out_dir: Path, *, seed: int = 0) -> Path:
    """A copy of a WordLevel-tokenizer model whose token ids are shuffled (strings and outputs kept)."""
    import torch
    from transformers import AutoModelForCausalLM

    shutil.copytree(model_dir, out_dir, dirs_exist_ok=True)
    spec = json.loads((model_dir / "tokenizer.json").read_text())
    size = len(spec["model"]["vocab"])
    order = torch.randperm(size, generator=torch.Generator().manual_seed(seed)).tolist()  # new id of old id i
    spec["model"]["vocab"] = {token: order[i] for token, i in spec["model"]["vocab"].items()}
    for added in spec["added_tokens"]:
        added["id"] = order[added["id"]]
    (out_dir / "tokenizer.json").write_text(json.dumps(spec, ensure_ascii=False))
    config_path = out_dir / "tokenizer_config.json"
    tok_config = json.loads(config_path.read_text())
    if "added_tokens_decoder" in tok_config:
        decoder = tok_config["added_tokens_decoder"]
        tok_config["added_tokens_decoder"] = {str(order[int(k)]): v for k, v in decoder.items()}
    config_path.write_text(json.dumps(tok_config, ensure_ascii=False, indent=1))

    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32)
    inverse = torch.empty(size, dtype=torch.long)
    inverse[torch.tensor(order)] = torch.arange(size)  # old id of new id j
    with torch.no_grad():
        embed = model.get_input_embeddings().weight
        rows = embed.shape[0]
        index = torch.cat([inverse, torch.arange(size, rows)])  # rows past the tokenizer stay put
        embed.copy_(embed[index].clone())
        head = model.get_output_embeddings()
        if head.weight.data_ptr() != embed.data_ptr():
            head.weight.copy_(head.weight[index].clone())
            if head.bias is not None:
                head.bias.copy_(head.bias[index].clone())
    for key in ("eos_token_id", "pad_token_id", "bos_token_id"):
        value = getattr(model.config, key, None)
        if isinstance(value, int) and value < size:
            setattr(model.config, key, order[value])
    gen = getattr(model, "generation_config", None)
    if gen is not None:
        for key in ("eos_token_id", "pad_token_id", "bos_token_id"):
            value = getattr(gen, key, None)
            if isinstance(value, int) and value < size:
                setattr(gen, key, order[value])
    model.save_pretrained(str(out_dir))
    return out_dir


def _save_word_level(vocab: dict[str, int], pattern: str, out_dir: Path) -> Path:
    """A WordLevel tokenizer splitting on `pattern`, with the tests' special tokens and chat template."""
    import tiny_models
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Split(Regex(pattern), behavior="isolated")
    core.decoder = decoders.Fuse()
    tok = PreTrainedTokenizerFast(tokenizer_object=core, eos_token="<|end|>", unk_token="<unk>", pad_token="<pad>")
    tok.add_special_tokens({"additional_special_tokens": tiny_models.SPECIAL_TOKENS[2:5]})
    tok.chat_template = tiny_models.CHAT_TEMPLATE
    out_dir.mkdir(parents=True, exist_ok=True)
    tok.save_pretrained(str(out_dir))
    return out_dir


def build_pair_tokenizer(out_dir: Path) -> Path:
    """A word-level tokenizer that reads the quickstart's letters two at a time (`edcba` -> `ed cb a`).

    Its vocabulary holds every pair of the letters a-j besides the single characters and
    the tests' special tokens (same chat template), so a reversal answer has about half
    as many tokens as in the character tokenizer and the two align in groups.
    """
    import itertools

    import tiny_models

    letters = "abcdefghij"
    pairs = ["".join(p) for p in itertools.product(letters, letters)]
    pieces = tiny_models.SPECIAL_TOKENS + tiny_models.CHARACTERS + pairs
    return _save_word_level({p: i for i, p in enumerate(pieces)}, r"[a-j]{2}|[\s\S]", out_dir)


def train_pair_teacher(out_dir: Path, *, steps: int = 600, seed: int = 7, lr: float = 3e-3) -> Path:
    """A reversal teacher on the pair tokenizer, trained as the quickstart's teacher is."""
    import random
    import sys

    import torch
    from transformers import AutoTokenizer

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples" / "quickstart"))
    import build_assets

    tok = AutoTokenizer.from_pretrained(str(build_pair_tokenizer(out_dir)))
    torch.manual_seed(seed)
    model = build_assets.new_model(tok, **build_assets.TEACHER)
    build_assets.train(model, tok, "reverse", steps, random.Random(seed), _held_out(build_assets.HERE), lr=lr)
    model.save_pretrained(str(out_dir))
    return out_dir


WORDS = ("reverse", "copy")


def word_student(out_dir: Path, student_dir: Path, *, copy_steps: int = 400, seed: int = 11) -> Path:
    """The quickstart student with a tokenizer that reads the task words whole (`reverse` is one token).

    Its vocabulary is the character one plus one token per word in `WORDS` (a different size
    and a different tokenisation of every prompt); the new embedding rows start as the mean
    of their characters' rows, and the student is then trained to copy with its new
    tokenizer as the quickstart's student was (`copy_steps`), so it knows the format again
    but not reversal.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    chars = AutoTokenizer.from_pretrained(str(student_dir))
    vocab = dict(chars.get_vocab())
    for word in WORDS:
        vocab[word] = len(vocab)
    _save_word_level(vocab, "|".join(WORDS) + r"|[\s\S]", out_dir)

    model = AutoModelForCausalLM.from_pretrained(str(student_dir), dtype=torch.float32)
    old = model.get_input_embeddings().weight.detach().clone()
    model.resize_token_embeddings(len(vocab), mean_resizing=False)
    with torch.no_grad():
        embed = model.get_input_embeddings().weight
        for word in WORDS:
            embed[vocab[word]] = old[[chars.convert_tokens_to_ids(c) for c in word]].mean(dim=0)
    if copy_steps:
        import random
        import sys

        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples" / "quickstart"))
        import build_assets

        torch.manual_seed(seed)
        loaded = AutoTokenizer.from_pretrained(str(out_dir))
        build_assets.train(model, loaded, "copy", copy_steps, random.Random(seed), _held_out(build_assets.HERE))
    model.save_pretrained(str(out_dir))
    return out_dir


def _held_out(quickstart: Path) -> set[str]:
    """The quickstart's held-out words, which no training here may see."""
    rows = [json.loads(line) for line in (quickstart / "eval.jsonl").read_text().splitlines() if line.strip()]
    return {row["messages"][0]["content"].split(": ", 1)[1] for row in rows}
