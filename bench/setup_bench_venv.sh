#!/usr/bin/env bash
# Create bench/.venv, a throwaway virtual environment for the reference ANN comparison
# (bench/faiss_compare.py): faiss-cpu and numpy from PyPI. Never part of set-up or CI.
#
#   bench/setup_bench_venv.sh            # then: bench/.venv/bin/python bench/faiss_compare.py ...
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
python=${PYTHON:-/usr/bin/python3}
if [[ ! -x $here/.venv/bin/python ]]; then
    "$python" -m venv "$here/.venv"
fi
"$here/.venv/bin/python" -m pip install --quiet --upgrade pip
"$here/.venv/bin/python" -m pip install --quiet faiss-cpu numpy
"$here/.venv/bin/python" -c 'import faiss, numpy; print("faiss", faiss.__version__, "numpy", numpy.__version__)'
