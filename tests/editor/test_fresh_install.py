"""After `pip install`, `gkd init` writes a modeline that resolves on that machine."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

from conftest import REPO_ROOT, run_installed_gkd

from gkd_schema.artifacts.starter_config import MODELINE_PREFIX


def test_wheel_ships_both_schemas(installed_wheel: Path) -> None:
    for name in ("gkd-config.schema.json", "gkd-params.schema.json"):
        shipped = installed_wheel / "gkd_schema" / "schemas" / name
        assert shipped.read_bytes() == (REPO_ROOT / "schemas" / name).read_bytes()


def test_init_from_the_wheel_points_at_the_installed_schema(
    installed_wheel: Path, tmp_path: Path
) -> None:
    result = run_installed_gkd(installed_wheel, ["init", "gkd.yaml"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    first = (tmp_path / "gkd.yaml").read_text().splitlines()[0]
    assert first.startswith(MODELINE_PREFIX + "file:///")
    schema = Path(url2pathname(urlparse(first.removeprefix(MODELINE_PREFIX)).path))
    assert schema.is_relative_to(installed_wheel) and schema.is_file()

    validated = run_installed_gkd(installed_wheel, ["validate", "gkd.yaml"], cwd=tmp_path)
    assert validated.returncode == 0, validated.stdout + validated.stderr
