#!/usr/bin/env bash
# Set up everything mcugen needs on a fresh Debian/Ubuntu machine, idempotently:
# the Arm toolchain and QEMU (Debian packages, when run as root or with sudo) and a
# virtual environment in .venv with mcugen installed from this checkout.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v arm-none-eabi-gcc >/dev/null || need_apt+=(gcc-arm-none-eabi libnewlib-arm-none-eabi)
[ -e /usr/lib/arm-none-eabi/newlib/libc.a ] || [ -e /usr/lib/arm-none-eabi/lib/libc.a ] || need_apt+=(libnewlib-arm-none-eabi)
command -v qemu-system-arm >/dev/null || need_apt+=(qemu-system-arm)
command -v cc >/dev/null || need_apt+=(gcc libc6-dev)
# The tests build exported libraries with CMake, make and a C++ compiler too.
command -v cmake >/dev/null || need_apt+=(cmake)
command -v make >/dev/null || need_apt+=(make)
command -v c++ >/dev/null || need_apt+=(g++)
if [ ${#need_apt[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing Debian packages: ${need_apt[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$python" -m venv .venv
fi
log=.venv/mcugen-setup.log
# The install is editable, so only pyproject.toml (dependencies, entry points, package data)
# can make it stale: skip pip when it is unchanged since the last install that worked.
stamp=.venv/mcugen-setup.stamp
# Extras to install beside mcugen: the tests also need the quantize and onnx extras
# (TensorFlow, onnx2tf and what they need: about 2.1 GB), which the main job does not (scripts/test.sh sets them).
extras=${MCUGEN_EXTRAS:-test}
want="$(sha256sum pyproject.toml | cut -d' ' -f1) $(.venv/bin/python -V 2>&1) [$extras]"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && .venv/bin/mcugen --version >/dev/null 2>&1; then
  echo "setup: .venv is current (pyproject.toml unchanged since the last install; delete $stamp to reinstall)"
else
  echo "setup: installing mcugen[$extras] and its dependencies into .venv (log: $log)"
  # pip and setuptools are chatty while building; keep it in the log unless something fails.
  if ! { .venv/bin/python -m pip install --upgrade pip && .venv/bin/python -m pip install -e ".[$extras]"; } >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    echo "setup: pip install failed; the whole log is in $log" >&2
    exit 1
  fi
  echo "$want" > "$stamp"
fi
.venv/bin/mcugen --version
