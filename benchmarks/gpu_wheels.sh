#!/usr/bin/env bash
# Download the wheels an air-gapped GPU host needs to run gkd's GPU tests and
# benchmarks/gpu_acceptance.py, beyond what the host already has.
#
#   benchmarks/gpu_wheels.sh [--python-version 3.12] [--freeze benchmarks/gpu_host/pip-freeze.txt]
#                            [--out benchmarks/wheelhouse] [--cap-mib 64]
#
# The freeze file is the host's `python -m pip freeze`. Wheels go to --out (git ignores
# it); the script prints their sizes and fails when the total is above the cap (what the
# device tool can carry). On the host, from the repository root:
#
#   python -m pip install --no-index --no-deps --target /tmp/gkd-deps benchmarks/wheelhouse/*.whl
#   PYTHONPATH=/tmp/gkd-deps:$PWD python -m pytest -m gpu tests/gpu -p no:cacheprovider
#   PYTHONPATH=/tmp/gkd-deps:$PWD python benchmarks/gpu_acceptance.py --json /tmp/acceptance.json
set -euo pipefail
cd "$(dirname "$0")/.."

python_version=3.12
freeze=benchmarks/gpu_host/pip-freeze.txt
out=benchmarks/wheelhouse
cap_mib=64
while [ $# -gt 0 ]; do
    case "$1" in
        --python-version) python_version=$2; shift 2 ;;
        --freeze) freeze=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --cap-mib) cap_mib=$2; shift 2 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done

platform=(--only-binary=:all: --python-version "$python_version" --implementation cp
          --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64
          --platform manylinux2014_x86_64 --platform linux_x86_64)

rm -rf "$out"
mkdir -p "$out"
# PIP_CONSTRAINT and PIP_FIND_LINKS are this machine's settings, not the host's.
PIP_CONSTRAINT= PIP_FIND_LINKS= python benchmarks/gpu_wheels.py fetch "$out" "$freeze" "$python_version" "${platform[@]}"
python benchmarks/gpu_wheels.py sizes "$out" "$cap_mib"
