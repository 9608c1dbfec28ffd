"""Which wheels an air-gapped GPU host needs for gkd and the acceptance script, beyond its own.

`gpu_wheels.sh` calls `fetch`: starting from gkd's runtime requirements it downloads
each wheel for the host's Python and platform (`pip download --no-deps`), reads the
wheel's own requirements, and follows them, stopping at every package the host's
`pip freeze` lists, so torch and what comes with it are never fetched. pip's resolver
cannot be used for this: it would resolve torch's CUDA dependencies for the host too.
Then `sizes` sums what was downloaded against the cap.
"""

from __future__ import annotations

import email.parser
import re
import subprocess
import sys
import tomllib
import zipfile
from collections import deque
from pathlib import Path

from pip._vendor.packaging.markers import Marker  # pip's own copy: always importable
from pip._vendor.packaging.requirements import Requirement
from pip._vendor.packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parent.parent
# What gkd's runtime needs on the host: the core and the `train` extra, less matplotlib
# (plots only) and peft (on the host already).
EXTRAS = ("train",)
SKIP = {"matplotlib"}


def _name(text: str) -> str:
    return re.sub(r"[-_.]+", "-", text).lower()


def host_packages(freeze: Path) -> dict[str, str | None]:
    """Name -> pinned version (None for a bare name) from a `pip freeze` file."""
    found: dict[str, str | None] = {}
    for line in freeze.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            found[_name(name)] = version or None
    return found


def requirements() -> list[str]:
    """gkd's runtime requirements for the host, from pyproject.toml."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in EXTRAS:
        reqs += project["optional-dependencies"][extra]
    return [r for r in reqs if _name(Requirement(r).name) not in SKIP]


def _wheel_requirements(wheel: Path) -> list[str]:
    """The `Requires-Dist` lines of a wheel's METADATA."""
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = email.parser.Parser().parsestr(archive.read(name).decode("utf-8"))
    return metadata.get_all("Requires-Dist") or []


def _applies(req: Requirement, env: dict[str, str], extras: set[str]) -> bool:
    if req.marker is None:
        return True
    return any(Marker(str(req.marker)).evaluate({**env, "extra": extra}) for extra in extras | {""})


def fetch(out: Path, freeze: Path, python_version: str, platform_args: list[str]) -> list[Path]:
    """Download gkd's requirement closure for the host into `out`, cut at the host's packages."""
    host = host_packages(freeze)
    env = {"python_version": python_version, "python_full_version": f"{python_version}.0",
           "sys_platform": "linux", "platform_system": "Linux", "platform_machine": "x86_64",
           "implementation_name": "cpython", "platform_python_implementation": "CPython", "os_name": "posix"}
    queue: deque[tuple[Requirement, set[str]]] = deque((Requirement(r), set()) for r in requirements())
    specs: dict[str, SpecifierSet] = {}
    fetched: dict[str, tuple[str, Path]] = {}
    expanded: set[tuple[str, frozenset[str]]] = set()  # (package, extras) whose requirements are queued
    while queue:
        req, parent_extras = queue.popleft()
        name = _name(req.name)
        if not _applies(req, env, parent_extras):
            continue
        if name in host:
            pinned = host[name]
            if pinned is not None and not req.specifier.contains(pinned, prereleases=True):
                print(f"warning: a package needs {req}, but the host has {name} {pinned}", file=sys.stderr)
            continue
        specs[name] = specs.get(name, SpecifierSet()) & req.specifier
        have = name in fetched and specs[name].contains(fetched[name][0], prereleases=True)
        if have and (name, frozenset(req.extras)) in expanded:
            continue
        if not have:
            if name in fetched:
                fetched[name][1].unlink()
            before = set(out.glob("*.whl"))
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--dest", str(out),
                 *platform_args, f"{req.name}{specs[name]}"],
                check=True,
            )
            new = sorted(set(out.glob("*.whl")) - before) or sorted(out.glob(f"{req.name.replace('-', '_')}-*.whl"))
            wheel = new[0]
            fetched[name] = (wheel.name.split("-")[1], wheel)
        expanded.add((name, frozenset(req.extras)))
        queue.extend((Requirement(text), set(req.extras)) for text in _wheel_requirements(fetched[name][1]))
    return [path for _, path in fetched.values()]


def sizes(folder: Path, cap_mib: float) -> int:
    """Print each wheel and the total; 1 when the total is above the cap."""
    wheels = sorted(folder.glob("*.whl"))
    total = sum(w.stat().st_size for w in wheels)
    for wheel in wheels:
        print(f"{wheel.stat().st_size / 2**20:8.2f} MiB  {wheel.name}")
    print(f"{total / 2**20:8.2f} MiB  total in {len(wheels)} wheels (cap {cap_mib:g} MiB)")
    return 1 if total > cap_mib * 2**20 else 0


if __name__ == "__main__":
    command, *rest = sys.argv[1:]
    if command == "fetch":
        out, freeze, version, *platform = rest
        for path in fetch(Path(out), Path(freeze), version, platform):
            print(f"fetched {path.name}")
    elif command == "sizes":
        raise SystemExit(sizes(Path(rest[0]), float(rest[1])))
    else:
        raise SystemExit(f"unknown command {command}")
