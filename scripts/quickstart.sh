#!/usr/bin/env bash
# The main job on the default emulated board, from a fresh machine: set up, then
# inspect the project's example model against qemu-cm7.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
model=examples/shapes/shapes_int8.tflite
echo
echo "$ mcugen inspect $model --board qemu-cm7"
.venv/bin/mcugen inspect "$model" --board qemu-cm7
