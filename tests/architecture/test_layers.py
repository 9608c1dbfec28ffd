"""The folders are the architecture: imports go down the layer order, never up or sideways."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from import_graph import Layers, cycles, heavy_imports_outside, layer_violations, module_name

REPO_ROOT = Path(__file__).resolve().parents[2]
LAYERS = Layers.from_pyproject(REPO_ROOT / "pyproject.toml")


def test_every_import_goes_down_the_layer_order() -> None:
    assert layer_violations(REPO_ROOT, LAYERS) == []


def test_no_module_imports_itself_in_a_circle() -> None:
    assert cycles(REPO_ROOT, LAYERS.package) == []


def test_only_the_runner_imports_torch_and_its_kin() -> None:
    assert heavy_imports_outside(REPO_ROOT, LAYERS.package, inside="gkd_schema.runner") == []


def test_every_module_belongs_to_a_stage() -> None:
    """Nothing loose: only package roots and entry points sit outside the stages."""
    roots = {"gkd_schema", "gkd_schema.runner"}
    loose = [
        name
        for path in sorted((REPO_ROOT / "gkd_schema").rglob("*.py"))
        if LAYERS.stage_of(name := module_name(REPO_ROOT, path)) is None
        and name not in roots | LAYERS.entry_points
    ]
    assert loose == []


def test_the_package_root_holds_only_its_entry_points_data_and_stages() -> None:
    files = {p.name for p in (REPO_ROOT / "gkd_schema").iterdir() if p.is_file()}
    assert files == {"__init__.py", "__main__.py", "py.typed"}


def test_the_architecture_page_shows_the_same_order() -> None:
    page = (REPO_ROOT / "docs" / "architecture.md").read_text("utf-8")
    block = re.search(r"<!-- layers -->\n```text\n(.*?)```", page, re.S)
    assert block is not None, "docs/architecture.md lost its `<!-- layers -->` block"
    lines = [line.strip() for line in block.group(1).strip().splitlines()]
    shown = tuple(tuple(s.strip() for s in line.split("|")) for line in lines)
    assert shown == LAYERS.order


def _plant(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), "utf-8")


@pytest.fixture
def planted(tmp_path: Path) -> tuple[Path, Layers]:
    """A three-stage package that obeys the order: `low` < `mid_a` | `mid_b` < `top`."""
    _plant(
        tmp_path,
        {
            "pkg/__init__.py": "from pkg.low import thing\n",
            "pkg/low/__init__.py": "",
            "pkg/low/thing.py": "X = 1\n",
            "pkg/mid_a/__init__.py": "",
            "pkg/mid_a/a.py": "from pkg.low.thing import X\n",
            "pkg/mid_b/__init__.py": "",
            "pkg/mid_b/b.py": "from ..low import thing\n",
            "pkg/top/__init__.py": "",
            "pkg/top/t.py": "import pkg.mid_a.a\nfrom pkg.mid_b import b\n",
            "pkg/__main__.py": "import pkg.top.t\n",
        },
    )
    layers = Layers("pkg", (("pkg.low",), ("pkg.mid_a", "pkg.mid_b"), ("pkg.top",)), frozenset({"pkg.__main__"}))
    return tmp_path, layers


def test_self_test_a_package_that_obeys_passes(planted: tuple[Path, Layers]) -> None:
    root, layers = planted
    assert layer_violations(root, layers) == []
    assert cycles(root, "pkg") == []


@pytest.mark.parametrize(
    ("module", "text", "caught"),
    [
        ("pkg/low/up.py", "from pkg.top import t\n", "pkg.low.up:1 imports pkg.top.t"),
        ("pkg/low/up.py", "def f():\n    from pkg.top.t import x\n", "pkg.low.up:2 imports pkg.top.t"),
        (
            "pkg/low/up.py",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pkg.mid_a.a\n",
            "pkg.low.up:3 imports pkg.mid_a.a",
        ),
        ("pkg/mid_a/side.py", "from pkg.mid_b.b import thing\n", "pkg.mid_a.side:1 imports pkg.mid_b.b"),
        ("pkg/mid_a/rel.py", "from ..top import t\n", "pkg.mid_a.rel:1 imports pkg.top.t"),
    ],
    ids=["up", "deferred", "type-checking", "between-peers", "relative"],
)
def test_self_test_a_planted_violation_is_caught(
    planted: tuple[Path, Layers], module: str, text: str, caught: str
) -> None:
    root, layers = planted
    _plant(root, {module: text})
    assert [v for v in layer_violations(root, layers) if v.startswith(caught)] != []


def test_self_test_a_planted_circle_and_heavy_import_are_caught(planted: tuple[Path, Layers]) -> None:
    root, _ = planted
    _plant(
        root,
        {
            "pkg/low/thing.py": "def f():\n    from pkg.low import other\n",
            "pkg/low/other.py": "import torch\nfrom pkg.low.thing import f\n",
        },
    )
    assert cycles(root, "pkg") == [["pkg.low.other", "pkg.low.thing"]]
    assert heavy_imports_outside(root, "pkg", inside="pkg.top") == ["pkg.low.other:1 imports torch"]
