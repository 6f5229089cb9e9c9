#!/usr/bin/env bash
# Quick start, command 1: build weakcache into .venv and run the leak demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q . >/dev/null
exec .venv/bin/python examples/python/leak_demo.py "$@"
