"""Fixtures for the editor tests: Red Hat's yaml-language-server and an installed wheel.

The server is the npm package pinned in `tests/editor/package.json`, installed with
`npm ci --prefix tests/editor`. Without node or the server the tests skip with the
reason, except in CI (`CI` or `GKD_REQUIRE_EDITOR_TESTS` set), where they fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lsp_client import LspClient

EDITOR_DIR = Path(__file__).resolve().parent
REPO_ROOT = EDITOR_DIR.parents[1]
SERVER = EDITOR_DIR / "node_modules" / "yaml-language-server" / "bin" / "yaml-language-server"
INSTALL_HINT = "npm ci --prefix tests/editor"


def server_settings(schemas: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """VS Code's YAML extension settings, offline: no schema store downloads."""
    return {
        "yaml": {
            "validate": True,
            "hover": True,
            "completion": True,
            "format": {"enable": False},
            "schemaStore": {"enable": False},
            "schemas": schemas or {},
        }
    }


def _missing_server_reason() -> str | None:
    if shutil.which("node") is None:
        return f"node is not on PATH; install Node.js 20+ and run `{INSTALL_HINT}`"
    if not SERVER.is_file():
        return f"yaml-language-server is not installed; run `{INSTALL_HINT}`"
    return None


def start_server(tmp_root: Path, schemas: dict[str, list[str]] | None = None) -> LspClient:
    """A running, initialized yaml-language-server rooted at `tmp_root` (or a skip)."""
    reason = _missing_server_reason()
    if reason is not None:
        if os.environ.get("CI") or os.environ.get("GKD_REQUIRE_EDITOR_TESTS"):
            pytest.fail(f"editor tests must run in CI: {reason}")
        pytest.skip(reason)
    node = shutil.which("node")
    assert node is not None
    client = LspClient([node, str(SERVER), "--stdio"], server_settings(schemas), cwd=tmp_root)
    client.initialize(tmp_root)
    return client


@pytest.fixture(scope="session")
def yaml_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LspClient]:
    """One yaml-language-server for the whole session (it starts in about 0.3 s)."""
    root = tmp_path_factory.mktemp("editor")
    client = start_server(root)
    yield client
    client.shutdown()


@pytest.fixture(scope="session")
def installed_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The gkd wheel built from this tree and unpacked as a fresh install would be.

    Returns the folder to put on PYTHONPATH; dependencies come from this venv.
    """
    work = tmp_path_factory.mktemp("wheel")
    source = work / "src"
    shutil.copytree(
        REPO_ROOT / "gkd_schema", source / "gkd_schema",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    shutil.copy(REPO_ROOT / "pyproject.toml", source)
    readme = REPO_ROOT / "README.md"
    (source / "README.md").write_text(readme.read_text() if readme.is_file() else "gkd\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(work / "dist"), str(source)],
        check=True, capture_output=True,
    )
    (wheel,) = (work / "dist").glob("gkd-*.whl")
    site = work / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    return site


def run_installed_gkd(site: Path, args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """`gkd ARGS` from the unpacked wheel (not from this repository)."""
    code = (
        "import sys, gkd_schema; assert gkd_schema.__file__.startswith(sys.argv[1]), "
        "gkd_schema.__file__; sys.argv = ['gkd', *sys.argv[2:]]; "
        "from gkd_schema.cli.entry import main; main()"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run(
        [sys.executable, "-c", code, str(site), *args],
        cwd=cwd, env=env, capture_output=True, text=True, check=False,
    )
