"""`generation.backend: vllm` refused before any weights load when this machine or run cannot use it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from gkd_schema.cli.app import app
from gkd_schema.config.validation import validate_file
from gkd_schema.runner.preflight.vllm_check import check_vllm, head_dim, vllm_installed

VLLM = {"backend": "vllm"}
SERVED = {"backend": "vllm", "vllm": {"mode": "server", "server_url": "http://127.0.0.1:9"}}


def _deep(cfg: Path) -> tuple[int, list[dict[str, Any]]]:
    result = CliRunner().invoke(app, ["validate", "--deep", str(cfg), "--format", "json"], catch_exceptions=False)
    report = json.loads(result.stdout or result.output)["files"][0]
    return result.exit_code, report["errors"] + report.get("warnings", [])


def _of(findings: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    return next(f for f in findings if f["type"] == kind)


def test_without_vllm_installed_the_error_names_both_install_lines(write_config: Any, tmp_path: Path) -> None:
    if vllm_installed():
        pytest.skip("vLLM is installed in this environment")
    code, findings = _deep(write_config(tmp_path, generation=VLLM))
    assert code == 1
    error = _of(findings, "vllm_not_installed")
    assert error["loc"] == ["generation", "backend"]
    assert "pip install 'gkd[vllm]'" in error["message"] and "bash scripts/install-vllm-cpu.sh" in error["message"]


def test_heads_the_cpu_build_cannot_run_are_refused_at_preflight(write_config: Any, tmp_path: Path) -> None:
    # The tiny student: hidden 32, 4 heads, so 8 wide.
    code, findings = _deep(write_config(tmp_path, generation=VLLM))
    assert code == 1
    error = _of(findings, "vllm_head_dim_unsupported")
    assert "heads are 8 wide" in error["message"] and "32, 64, 80" in error["message"]
    assert "backend: transformers" in error["message"]


def test_what_colocated_vllm_cannot_do_yet_is_refused(write_config: Any, tmp_path: Path) -> None:
    generation = {"backend": "vllm", "vllm": {"tensor_parallel_size": 2}}
    cfg = write_config(tmp_path, generation=generation, peft={"r": 4, "load_in_4bit": True})
    code, findings = _deep(cfg)
    assert code == 1
    assert {"vllm_qlora_unsupported", "vllm_tensor_parallel_unsupported"} <= {f["type"] for f in findings}
    assert _of(findings, "vllm_tensor_parallel_unsupported")["loc"] == ["generation", "vllm", "tensor_parallel_size"]


def test_several_training_processes_may_have_an_engine_each_or_share_a_server(
    write_config: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Called directly: a WORLD_SIZE of 2 would make the CLI's accelerate state wait for a peer.
    config = validate_file(write_config(tmp_path, generation=VLLM)).config
    served = validate_file(write_config(tmp_path, generation=SERVED, filename="served.yaml")).config
    assert config is not None and served is not None
    monkeypatch.setenv("WORLD_SIZE", "2")
    for checked in (config, served):  # vLLM itself may be missing here: only that may be said
        found = {d.type for d in check_vllm(checked, base_dir=tmp_path, device_kind="cuda")}
        assert found <= {"vllm_not_installed"}, found


def test_the_transformers_backend_needs_none_of_it(write_config: Any, tmp_path: Path) -> None:
    code, findings = _deep(write_config(tmp_path))
    assert code == 0, findings
    assert not [f for f in findings if f["type"].startswith("vllm")]


@pytest.mark.parametrize(
    ("config", "size"),
    [
        ({"hidden_size": 64, "num_attention_heads": 2}, 32),
        ({"hidden_size": 64, "num_attention_heads": 4, "head_dim": 128}, 128),
        ({"text_config": {"hidden_size": 256, "num_attention_heads": 2}}, 128),
        ({"hidden_size": 64}, None),
    ],
)
def test_head_dim_reads_explicit_and_derived_sizes(config: dict[str, Any], size: int | None) -> None:
    assert head_dim(config) == size


@pytest.mark.parametrize("sync", ["nccl", "gloo"])
def test_a_weight_broadcast_needs_vllm_here_and_nccl_a_cuda_student(
    write_config: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sync: str
) -> None:
    generation = {"backend": "vllm", "vllm": {**SERVED["vllm"], "weight_sync": sync}}  # type: ignore[dict-item]
    config = validate_file(write_config(tmp_path, generation=generation)).config
    assert config is not None
    monkeypatch.setattr("gkd_schema.runner.preflight.vllm_check.vllm_installed", lambda: False)
    on_cpu = {d.type: d for d in check_vllm(config, base_dir=tmp_path, device_kind="cpu")}
    missing = on_cpu.pop("vllm_weight_sync_needs_vllm")
    assert missing.loc == ("generation", "vllm", "weight_sync") and "pip install 'gkd[vllm]'" in missing.message
    assert set(on_cpu) == ({"vllm_weight_sync_nccl_needs_cuda"} if sync == "nccl" else set())
    monkeypatch.setattr("gkd_schema.runner.preflight.vllm_check.vllm_installed", lambda: True)
    assert check_vllm(config, base_dir=tmp_path, device_kind="cuda") == []
    checkpoint = validate_file(write_config(tmp_path, generation=SERVED, filename="served.yaml")).config
    monkeypatch.setattr("gkd_schema.runner.preflight.vllm_check.vllm_installed", lambda: False)
    assert checkpoint is not None and check_vllm(checkpoint, base_dir=tmp_path, device_kind="cpu") == []


def test_the_plugin_registers_the_gloo_engine_under_the_name_the_config_docs_give() -> None:
    from gkd_schema.models.weight_sync import SERVER_BACKEND, SERVER_FLAG
    from gkd_schema.runner.generation.vllm_plugin import GLOO_BACKEND

    assert SERVER_BACKEND["gloo"] == GLOO_BACKEND
    assert f'"backend": "{GLOO_BACKEND}"' in SERVER_FLAG["gloo"]
