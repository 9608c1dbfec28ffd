"""A served teacher's top K: aligned to the loss's positions, equal to the local teacher's, and preflighted.

The server here is `teacher_server_stub` (transformers behind vLLM's reply format), named
as such; `tests/with_vllm/test_teacher_server_vllm.py` repeats the parity and the error
paths against a real vLLM server.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")

import tiny_models  # noqa: E402
from teacher_server_stub import StubServer, StubSettings, teacher_server_stub  # noqa: E402

from gkd_schema.config.validation import validate_file  # noqa: E402
from gkd_schema.runner.clients.vllm_server import VllmServer  # noqa: E402
from gkd_schema.runner.loss.distillation import compute_distillation_loss  # noqa: E402
from gkd_schema.runner.loss.jsd_plan import shift_labels  # noqa: E402
from gkd_schema.runner.loss.topk_teacher import teacher_top_k_from_logits  # noqa: E402
from gkd_schema.runner.preflight.teacher_server_check import check_teacher_server  # noqa: E402
from gkd_schema.runner.teacher.server_topk import ServerTeacher, rows_to_score  # noqa: E402
from gkd_schema.runner.train.teacher_requests import TeacherRequests  # noqa: E402

K = 6
PAD = 0


@pytest.fixture(scope="module")
def stub(tiny_teacher_dir: Path) -> Iterator[StubServer]:
    with teacher_server_stub(tiny_teacher_dir) as running:
        yield running


def _batch() -> dict[str, Any]:
    """Two rows: one left-padded (prompt padding), one right-padded (after its completion)."""
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(10, 60, (2, 12), generator=g)
    mask = torch.ones(2, 12, dtype=torch.long)
    mask[0, :3] = 0
    mask[1, 9:] = 0
    ids[mask == 0] = PAD
    labels = ids.clone()
    labels[0, :6] = -100  # prompt (and its padding)
    labels[1, :4] = -100
    labels[mask == 0] = -100
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def _teacher(tiny_teacher_dir: Path) -> Any:
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(str(tiny_teacher_dir), dtype=torch.float32).eval()


def test_only_real_tokens_up_to_the_last_label_are_sent() -> None:
    scored = rows_to_score(**_batch())
    batch = _batch()
    assert scored.sequences[0] == batch["input_ids"][0, 3:].tolist()
    assert scored.sequences[1] == batch["input_ids"][1, :9].tolist()
    # Label at padded position p (sent as index i) is predicted at position p - 1.
    assert scored.targets[0] == [(i, i + 3 - 1) for i in range(3, 9)]
    assert scored.targets[1] == [(i, i - 1) for i in range(4, 9)]


def test_a_row_with_nothing_labelled_sends_nothing() -> None:
    batch = _batch()
    batch["labels"][1] = -100
    assert rows_to_score(**batch).sequences[1] == []


def test_the_served_top_k_is_the_local_teachers_at_every_labelled_position(
    stub: StubServer, tiny_teacher_dir: Path
) -> None:
    batch = _batch()
    teacher = ServerTeacher(VllmServer(stub.url), str(tiny_teacher_dir), K)
    served = teacher.wait(teacher.submit(**{k: batch[k] for k in ("input_ids", "attention_mask", "labels")}))
    labels = shift_labels(batch["labels"])
    with torch.no_grad():
        logits = _teacher(tiny_teacher_dir)(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    local = teacher_top_k_from_logits(logits, labels, K)
    scored = labels != -100
    assert int(scored.sum()) == 11
    assert torch.equal(served.token_ids[scored], local.token_ids[scored])
    torch.testing.assert_close(served.logprobs[scored], local.logprobs[scored], atol=1e-4, rtol=0)
    assert torch.isinf(served.logprobs[~scored]).all()
    assert teacher.stats.requests == 1 and teacher.stats.sequences == 2


@pytest.mark.parametrize("implementation", ["chunked", "fused"])
def test_the_loss_against_the_server_equals_the_loss_against_the_local_teacher(
    stub: StubServer, tiny_teacher_dir: Path, tiny_student_dir: Path, implementation: str
) -> None:
    from transformers import AutoModelForCausalLM

    batch = _batch()
    student = AutoModelForCausalLM.from_pretrained(str(tiny_student_dir), dtype=torch.float32)
    teacher = _teacher(tiny_teacher_dir)
    requests = TeacherRequests(ServerTeacher(VllmServer(stub.url), str(tiny_teacher_dir), K), prefetch=True)
    common: dict[str, Any] = {"beta": 0.5, "temperature": 1.0, "implementation": implementation, "top_k": K}

    def loss_and_grad(**served: Any) -> tuple[float, Any]:
        student.zero_grad()
        loss = compute_distillation_loss(student, teacher, batch, **common, **served)
        loss.backward()
        return float(loss.detach()), student.lm_head.weight.grad.clone()

    local_loss, local_grad = loss_and_grad()
    requests.start(batch, regenerated=False)
    served_loss, served_grad = loss_and_grad(served_top_k=lambda: requests.collect(batch, torch.device("cpu")))
    assert served_loss == pytest.approx(local_loss, abs=1e-5)
    torch.testing.assert_close(served_grad, local_grad, atol=1e-5, rtol=1e-4)


# --- preflight -----------------------------------------------------------------------


def _config(write_config: Any, tmp_path: Path, url: str, **teacher: Any) -> Any:
    path = write_config(
        tmp_path,
        teacher={"backend": "server", "server_url": url, "top_k": K, **teacher},
        gkd={"loss_implementation": "chunked", "teacher_model_init_kwargs": None},
    )
    report = validate_file(path, environ={})
    assert report.config is not None, report.diagnostics
    return report.config


def _types(found: list[Any]) -> list[str]:
    return [d.type for d in found]


def test_a_server_serving_the_teacher_passes(stub: StubServer, write_config: Any, tmp_path: Path) -> None:
    assert check_teacher_server(_config(write_config, tmp_path, stub.url), base_dir=tmp_path) == []


def test_a_server_that_is_down_is_an_error_at_the_url(write_config: Any, tmp_path: Path) -> None:
    found = check_teacher_server(_config(write_config, tmp_path, "http://127.0.0.1:9"), base_dir=tmp_path)
    assert _types(found) == ["teacher_server_unreachable"]
    assert found[0].loc == ("teacher", "server_url") and "fix `teacher.server_url`" in found[0].message


@pytest.mark.parametrize(
    ("settings", "expected", "hint"),
    [
        (StubSettings(served_name="someone/else"), "teacher_server_serves_another_model", "--served-model-name"),
        (StubSettings(max_logprobs=4), "teacher_server_top_k_above_cap", f"--max-logprobs {K}"),
        (StubSettings(max_model_len=32), "teacher_server_max_model_len_too_short", "--max-model-len 73"),
        (StubSettings(not_json=True), "teacher_server_bad_reply", "is it a vLLM server?"),
    ],
)
def test_a_server_gkd_cannot_use_is_a_located_error_with_the_fix(
    tiny_teacher_dir: Path, write_config: Any, tmp_path: Path, settings: StubSettings, expected: str, hint: str
) -> None:
    with teacher_server_stub(tiny_teacher_dir, settings) as running:
        found = check_teacher_server(_config(write_config, tmp_path, running.url), base_dir=tmp_path)
    assert _types(found) == [expected]
    assert hint in found[0].message
    assert found[0].loc == (("teacher", "top_k") if expected.endswith("above_cap") else ("teacher", "server_url"))


def test_a_server_with_another_tokenizer_is_an_error(
    tiny_teacher_dir: Path, write_config: Any, tmp_path: Path
) -> None:
    other = tiny_models.build_vocab_merges_tokenizer(tmp_path / "other-tokenizer")
    with teacher_server_stub(tiny_teacher_dir, tokenizer_dir=other) as running:
        found = check_teacher_server(_config(write_config, tmp_path, running.url), base_dir=tmp_path)
    assert _types(found) == ["teacher_server_tokenizer_mismatch"]
    assert "`--tokenizer`" in found[0].message


def test_a_server_slower_than_the_request_timeout_is_an_error(
    tiny_teacher_dir: Path, write_config: Any, tmp_path: Path
) -> None:
    with teacher_server_stub(tiny_teacher_dir, StubSettings(delay_s=3)) as running:
        config = _config(write_config, tmp_path, running.url, request_timeout_s=0.5)
        found = check_teacher_server(config, base_dir=tmp_path)
    assert _types(found) == ["teacher_server_timeout"]
    assert "within 0.5 s" in found[0].message


def test_a_served_teacher_may_have_a_padded_vocabulary(
    write_config: Any, tmp_path: Path, tiny_teacher_dir: Path
) -> None:
    # Only ids travel (checked against the student's vocabulary), as with Qwen2.5 7B (152064) for 0.5B (151936).
    import json
    import shutil

    from gkd_schema.runner.preflight import run_preflight

    padded = tmp_path / "padded-teacher"
    shutil.copytree(tiny_teacher_dir, padded)
    config = json.loads((padded / "config.json").read_text())
    config["vocab_size"] += 64
    (padded / "config.json").write_text(json.dumps(config))
    path = write_config(
        tmp_path,
        teacher={"backend": "server", "server_url": "http://127.0.0.1:9", "top_k": K},
        gkd={"loss_implementation": "chunked", "teacher_model_init_kwargs": None,
             "teacher_model_name_or_path": str(padded)},
    )
    served = validate_file(path, environ={}).config
    assert served is not None
    assert "vocab_mismatch" not in _types(run_preflight(served, base_dir=tmp_path, check_output_dir=False))
    local = validate_file(path, ["teacher.backend=local", "teacher.server_url=null"], environ={}).config
    assert local is not None
    assert "vocab_mismatch" in _types(run_preflight(local, base_dir=tmp_path, check_output_dir=False))
