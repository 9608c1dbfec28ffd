"""Cross-tokenizer distillation: byte spans and re-tokenisation against TRL's, the ULD loss, preflight, eval."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")

import tiny_models  # noqa: E402
from cross_tokenizer_assets import permute_vocabulary  # noqa: E402

from gkd_schema.runner.eval.report import render_json, render_markdown  # noqa: E402
from gkd_schema.runner.eval.scoring import EvalResult, ModelScores  # noqa: E402
from gkd_schema.runner.loss.jsd_chunked import chunked_generalized_jsd_loss  # noqa: E402
from gkd_schema.runner.loss.jsd_plan import shift_labels  # noqa: E402
from gkd_schema.runner.loss.uld import uld_loss, uld_loss_fn  # noqa: E402
from gkd_schema.runner.preflight.cross_tokenizer_check import check_cross_tokenizer  # noqa: E402
from gkd_schema.runner.preflight.same_tokenizer import TeacherTokenizer, load_teacher_tokenizer  # noqa: E402
from gkd_schema.runner.teacher.cross_tokenizer import byte_spans, retokenize  # noqa: E402

TEXTS = ["reverse: héllo wörld ✓ 42", "ab cd  ef\nnaïve café", "plain ascii text, with punctuation!"]


@pytest.fixture(scope="module")
def byte_level(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A tiny ByteLevel BPE tokenizer (the kind TRL's GOLD supports), trained here on a few lines."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=320, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  special_tokens=["<pad>", "<|end|>"])
    core.train_from_iterator(TEXTS * 20, trainer)
    tok = PreTrainedTokenizerFast(tokenizer_object=core, eos_token="<|end|>", pad_token="<pad>")
    out = tmp_path_factory.mktemp("byte-level")
    tok.save_pretrained(str(out))
    return AutoTokenizer.from_pretrained(str(out))


@pytest.fixture(scope="module")
def chars(tiny_models_root: Path) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(tiny_models.build_tokenizer(tiny_models_root / "chars")))


def test_byte_spans_are_trls_byte_offsets_on_a_byte_level_tokenizer(byte_level: Any) -> None:
    from trl.experimental.utils import encode_with_byte_offsets

    for ids, offsets in encode_with_byte_offsets(byte_level.backend_tokenizer, TEXTS, add_special_tokens=False):
        assert byte_spans(byte_level, ids) == [tuple(o) for o in offsets]


def test_a_character_split_across_tokens_gets_its_bytes_at_the_token_that_completes_it(
    tmp_path: Path,
) -> None:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    # The byte alphabet and nothing more: every non-ASCII character is several tokens.
    bytes_only = trainers.BpeTrainer(vocab_size=256, initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    core.train_from_iterator(["x"], bytes_only)
    tok = PreTrainedTokenizerFast(tokenizer_object=core)
    for text in ("éx y", "中x", "😀ab", "naïve café ✓"):
        ids = tok(text, add_special_tokens=False)["input_ids"]
        spans = byte_spans(tok, ids)
        boundaries = {len(text[:i].encode()) for i in range(len(text) + 1)}
        assert len(ids) > len(text)  # some character is split
        assert all(end in boundaries for _, end in spans), (text, spans)
        assert spans[-1][1] == len(text.encode()) and all(a[1] == b[0] for a, b in itertools.pairwise(spans))


def test_an_end_token_followed_by_template_text_maps_to_the_teachers_end_token(chars: Any, byte_level: Any) -> None:
    batch = _student_batch(chars, ["<|user|>hi<|end|><|assistant|>"], ["ab"])
    # A template that puts a newline after the end token, inside the labelled completion.
    newline = chars("\n", add_special_tokens=False)["input_ids"]
    ids = torch.cat([batch["input_ids"], torch.tensor([newline])], dim=1)
    mask = torch.cat([batch["attention_mask"], torch.ones(1, 1, dtype=torch.long)], dim=1)
    labels = torch.cat([batch["labels"], torch.tensor([newline])], dim=1)
    view = retokenize(ids, mask, labels, chars, byte_level)
    answer = view.labels[0] != -100
    teacher_ids = view.input_ids[0][answer].tolist()
    assert byte_level.eos_token_id in teacher_ids and teacher_ids[-1] != byte_level.eos_token_id
    assert view.byte_offsets[0][answer].tolist()[-2:] == [[2, 2], [2, 3]]  # end token at 2, then the newline
    assert view.student_byte_offsets[0][labels[0] != -100].tolist() == [[0, 1], [1, 2], [2, 2], [2, 3]]


def _student_batch(tok: Any, prompts: list[str], answers: list[str]) -> dict[str, Any]:
    """Left-padded prompt + answer + end token, as TRL's collator lays a batch out."""
    rows = [(tok(p, add_special_tokens=False)["input_ids"], tok(a, add_special_tokens=False)["input_ids"])
            for p, a in zip(prompts, answers, strict=True)]
    width = max(len(p) + len(a) + 1 for p, a in rows)
    ids, mask, labels = [], [], []
    for p, a in rows:
        pad = width - len(p) - len(a) - 1
        ids.append([tok.pad_token_id] * pad + p + a + [tok.eos_token_id])
        mask.append([0] * pad + [1] * (len(p) + len(a) + 1))
        labels.append([-100] * (pad + len(p)) + a + [tok.eos_token_id])
    return {k: torch.tensor(v) for k, v in (("input_ids", ids), ("attention_mask", mask), ("labels", labels))}


@pytest.mark.parametrize(
    ("student_name", "answers"),
    [("chars", ["cba", "cafe !"]), ("byte_level", ["cba", "café ✓ naïve"])],  # chars: ASCII only
)
def test_the_teachers_batch_is_what_trls_gold_builds_from_the_same_texts(
    chars: Any, byte_level: Any, student_name: str, answers: list[str]
) -> None:
    from trl.experimental.gold.gold_trainer import build_teacher_inputs_from_texts

    student = chars if student_name == "chars" else byte_level
    prompts = ["<|user|>reverse: abc<|end|><|assistant|>", "<|user|>say it<|end|><|assistant|>"]
    batch = _student_batch(student, prompts, answers)
    view = retokenize(batch["input_ids"], batch["attention_mask"], batch["labels"], student, byte_level)
    ids, labels, mask, offsets = build_teacher_inputs_from_texts(byte_level, prompts, answers)
    assert torch.equal(view.input_ids, ids) and torch.equal(view.labels, labels)
    assert torch.equal(view.attention_mask.bool(), mask) and torch.equal(view.byte_offsets, offsets)
    # The student's side: its answer tokens' spans cover the answer's bytes, then the zero-width end token.
    size = len(answers[1].encode())
    spans = view.student_byte_offsets[1][batch["labels"][1] != -100].tolist()
    assert spans[0][0] == 0 and spans[-2][1] == size and spans[-1] == [size, size]
    assert all(a[1] == b[0] for a, b in itertools.pairwise(spans))


@pytest.fixture(scope="module")
def pair(tiny_teacher_dir: Path, tiny_student_dir: Path, tiny_models_root: Path) -> dict[str, Any]:
    """The tiny student, the tiny teacher and the same teacher with its vocabulary shuffled."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    permuted = permute_vocabulary(tiny_teacher_dir, tiny_models_root / "permuted-teacher", seed=5)

    def load(path: Path) -> Any:
        return AutoModelForCausalLM.from_pretrained(str(path), dtype=torch.float32).eval()

    return {
        "student": load(tiny_student_dir), "teacher": load(tiny_teacher_dir), "permuted": load(permuted),
        "tok": AutoTokenizer.from_pretrained(str(tiny_student_dir)),
        "permuted_tok": AutoTokenizer.from_pretrained(str(permuted)), "permuted_dir": permuted,
    }


def _loss(pair: dict[str, Any], teacher_key: str, batch: dict[str, Any], beta: float, **kw: Any) -> Any:
    teacher_tok = pair["permuted_tok"] if teacher_key == "permuted" else pair["tok"]
    view = retokenize(batch["input_ids"], batch["attention_mask"], batch["labels"], pair["tok"], teacher_tok)
    student_logits = pair["student"](input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    with torch.no_grad():
        teacher_logits = pair[teacher_key](input_ids=view.input_ids, attention_mask=view.attention_mask).logits
    return uld_loss(
        uld_loss_fn(pair["tok"], teacher_tok, beta=beta), student_logits, teacher_logits,
        student={"input_ids": batch["input_ids"], "labels": batch["labels"], "byte_offsets": view.student_byte_offsets},
        teacher={"input_ids": view.input_ids, "labels": view.labels, "byte_offsets": view.byte_offsets}, **kw,
    )


@pytest.mark.parametrize("beta", [0.0, 0.5, 1.0])
def test_against_a_permuted_teacher_uld_is_the_shared_vocabulary_jsd(pair: dict[str, Any], beta: float) -> None:
    # Same strings under other ids: every token matches, every group is one token, so the hybrid
    # loss is the generalized JSD against the unpermuted teacher (equal answer lengths: the
    # per-sequence mean is the per-token mean).
    tok = pair["tok"]
    batch = _student_batch(tok, ["<|user|>reverse: abcd<|end|><|assistant|>", "<|user|>hi<|end|><|assistant|>"],
                           ["dcba", "ih!?"])
    uld = _loss(pair, "permuted", batch, beta)
    student_logits = pair["student"](input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    with torch.no_grad():
        teacher_logits = pair["teacher"](input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    shared = chunked_generalized_jsd_loss(student_logits, teacher_logits, shift_labels(batch["labels"]), beta=beta)
    assert float(uld) == pytest.approx(float(shared), rel=2e-3, abs=1e-5)


def test_a_teacher_that_is_the_student_in_another_vocabulary_gives_zero_loss(
    pair: dict[str, Any], tiny_student_dir: Path, tiny_models_root: Path
) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    twin_dir = permute_vocabulary(tiny_student_dir, tiny_models_root / "permuted-student", seed=9)
    twin = {**pair, "permuted": AutoModelForCausalLM.from_pretrained(str(twin_dir), dtype=torch.float32).eval(),
            "permuted_tok": AutoTokenizer.from_pretrained(str(twin_dir))}
    batch = _student_batch(pair["tok"], ["<|user|>abc<|end|><|assistant|>"], ["cba"])
    assert float(_loss(twin, "permuted", batch, 0.5)) == pytest.approx(0.0, abs=1e-6)


def test_in_training_a_batch_weighs_its_completion_tokens_over_the_steps_count(pair: dict[str, Any]) -> None:
    # As gkd's own loss weighs it (a token sum over `num_items_in_batch`).
    batch = _student_batch(pair["tok"], ["<|user|>abc<|end|><|assistant|>"], ["cba"])
    plain = float(_loss(pair, "permuted", batch, 0.5))  # evaluation: no num_items_in_batch
    weighted = float(_loss(pair, "permuted", batch, 0.5, num_items_in_batch=torch.tensor(16)))
    assert weighted == pytest.approx(plain * 4 / 16, rel=1e-6)  # 3 answer tokens + the end token


def _teacher(path: Path) -> TeacherTokenizer:
    return load_teacher_tokenizer(path, trust_remote_code=False)


def test_preflight_accepts_a_permuted_teacher_with_uld_and_warns_for_the_same_tokenizer(
    pair: dict[str, Any], tiny_teacher_dir: Path
) -> None:
    args = {"student_label": "student", "teacher_label": "teacher"}
    assert check_cross_tokenizer(pair["tok"], _teacher(pair["permuted_dir"]), **args) == []
    same = check_cross_tokenizer(pair["tok"], _teacher(tiny_teacher_dir), **args)
    assert [(d.type, d.severity, d.loc) for d in same] == [
        ("cross_tokenizer_same_tokenizer", "warning", ("teacher", "cross_tokenizer"))
    ]


def test_preflight_refuses_a_slow_tokenizer(pair: dict[str, Any]) -> None:
    class Slow:
        is_fast = False

    found = check_cross_tokenizer(Slow(), _teacher(pair["permuted_dir"]), student_label="the student's tokenizer",
                                  teacher_label="teacher")
    assert [d.type for d in found] == ["cross_tokenizer_needs_fast_tokenizer"]
    assert "the student's tokenizer has a slow one" in found[0].message


def test_the_eval_table_across_tokenizers_shows_only_the_defined_columns() -> None:
    result = EvalResult("eval", 200, 8, (ModelScores("teacher", 1.0, 1.0, None, None),
                                          ModelScores("student", 0.4, 0.35, None, None)))
    table = render_markdown(result)
    assert table.splitlines()[0] == "| model | exact | agree |"
    assert "divergences (one vocabulary) are not defined" in table
    assert EvalResult.from_dict(__import__("json").loads(render_json(result))) == result


def _aligned_losses(student: Any, teacher: Any, student_tok: Any, teacher_tok: Any) -> tuple[float, float]:
    """(gkd's hybrid, GOLD's hybrid) of one aligned group."""
    fn = uld_loss_fn(student_tok, teacher_tok, beta=0.5)
    gold = type(fn)._compute_hybrid_uld_loss(fn, student, teacher)  # the class's method, not gkd's replacement
    return float(fn._compute_hybrid_uld_loss(student, teacher)), float(gold)


def test_with_no_unshared_tokens_the_hybrid_loss_is_golds(pair: dict[str, Any]) -> None:
    g = torch.Generator().manual_seed(0)
    size = len(pair["tok"])
    student = torch.softmax(torch.randn(3, size, generator=g), -1)
    teacher = torch.softmax(torch.randn(3, size, generator=g), -1)
    ours, gold = _aligned_losses(student, teacher, pair["tok"], pair["permuted_tok"])
    assert ours == pytest.approx(gold, rel=1e-5)


def test_mass_on_tokens_the_teacher_lacks_costs_the_student(pair: dict[str, Any], tmp_path: Path) -> None:
    # A student vocabulary with extra tokens, which every teacher token matches.
    from cross_tokenizer_assets import word_student
    from transformers import AutoTokenizer

    words = AutoTokenizer.from_pretrained(str(word_student(tmp_path / "words", pair["permuted_dir"], copy_steps=0)))
    size = len(pair["permuted_tok"])
    teacher = torch.softmax(torch.randn(2, size, generator=torch.Generator().manual_seed(1)), -1)
    # The word tokenizer keeps the permuted one's ids and adds its words at the end.
    shared = list(range(size))
    assert words.convert_ids_to_tokens(shared) == pair["permuted_tok"].convert_ids_to_tokens(shared)
    faithful = torch.cat([teacher, torch.zeros(2, len(words) - size)], dim=-1)
    elsewhere = faithful * 0.2
    elsewhere[:, size] = 0.8  # most of the mass on a word the teacher cannot say
    ours_good, gold_good = _aligned_losses(faithful, teacher, words, pair["permuted_tok"])
    ours_bad, gold_bad = _aligned_losses(elsewhere, teacher, words, pair["permuted_tok"])
    assert ours_good == pytest.approx(0.0, abs=1e-6) and gold_good == pytest.approx(0.0, abs=1e-6)
    # Measured 0.423 against GOLD's 0.146: its JSD feels the move only through the shared
    # tokens the mass left, and its weights give the sorted L1 (where the mass went) nothing.
    assert ours_bad > 2 * gold_bad > 0
