#!/usr/bin/env bash
# Set up (scripts/setup.sh) and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
# The tests quantize Keras and ONNX models they build: they need the heavy extras too.
MCUGEN_EXTRAS=${MCUGEN_EXTRAS:-test,quantize,onnx} bash scripts/setup.sh
exec .venv/bin/python -m pytest -ra "$@"
