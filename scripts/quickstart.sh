#!/usr/bin/env bash
# The main job on the default emulated board, from a fresh machine: set up, then
# inspect the example model, generate firmware for qemu-cm7, build it with
# PlatformIO, boot it in QEMU and benchmark it on the example's labeled images.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mcugen=.venv/bin/mcugen
model=examples/shapes/shapes_int8.tflite
board=${MCUGEN_BOARD:-qemu-cm7}
run() { echo; echo "\$ mcugen $*"; "$mcugen" "$@"; }

run inspect "$model" --board "$board"
run generate "$model" --board "$board" -o firmware_out
run build firmware_out
run bench --model "$model" --data examples/shapes/images --emulate firmware_out --report firmware_out/report
echo
echo "report: firmware_out/report/report.md (with latency, profile and confusion-matrix plots)"
