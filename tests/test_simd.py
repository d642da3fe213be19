"""mcugen_simd.h, the Arm DSP instructions the arm-dsp kernels use: each intrinsic's
portable C against the real instruction on both emulated boards (Cortex-M7 and
Cortex-M4 under QEMU, the program run bare-metal through semihosting), and both
fast requantizations against TFLite Micro's arithmetic (mcugen_requantize), on the
host under sanitizers and on the boards.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from mcugen.boards import get_board
from mcugen.codegen.emit import runtime_dir

C_DIR = Path(__file__).resolve().parent / "c"
HOST_ROUNDS = 300_000
BOARD_ROUNDS = 60_000
HAVE_ARM = shutil.which("arm-none-eabi-gcc") is not None and shutil.which("qemu-system-arm") is not None
# Where each emulated board's QEMU machine runs code from (boards/<id>.toml regions).
CODE_ORIGIN = {"qemu-cm7": "0x00000000", "qemu-stm32f405": "0x08000000"}


def _compile_pair(cc: list[str], out: Path, extra: list[str]) -> list[Path]:
    """simd_ops.c as the instructions (nat_) and as portable C (port_)."""
    objs = []
    for prefix, flags in (("nat_", []), ("port_", ["-DMCUGEN_SIMD_PORTABLE"])):
        obj = out / f"simd_ops_{prefix}.o"
        subprocess.run([*cc, *extra, *flags, f"-DSIMD_PREFIX={prefix}", "-I", str(runtime_dir()), "-c",
                        str(C_DIR / "simd_ops.c"), "-o", str(obj)], check=True, capture_output=True, text=True)
        objs.append(obj)
    return objs


def test_requantization_matches_tflm_on_host(tmp_path: Path) -> None:
    cc = [shutil.which("cc") or "cc", "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror",
          "-fsanitize=address,undefined", "-fno-sanitize-recover=all"]
    objs = _compile_pair(cc, tmp_path, [])
    exe = tmp_path / "simd_check"
    subprocess.run([*cc, "-I", str(runtime_dir()), *map(str, objs), str(C_DIR / "simd_check.c"),
                    str(C_DIR / "simd_check_host.c"), "-o", str(exe)], check=True, capture_output=True, text=True)
    proc = subprocess.run([str(exe), str(HOST_ROUNDS)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert " 0 mismatches" in proc.stdout and "portable C vs portable C" in proc.stdout


def test_the_check_sees_a_wrong_result(tmp_path: Path) -> None:
    """The same program with one requantization off by one must fail: the check can fail."""
    cc = [shutil.which("cc") or "cc", "-std=c99", "-O2"]
    objs = _compile_pair(cc, tmp_path, [])
    exe = tmp_path / "simd_check_broken"
    subprocess.run([*cc, "-DSIMD_CHECK_BROKEN", "-I", str(runtime_dir()), *map(str, objs),
                    str(C_DIR / "simd_check.c"), str(C_DIR / "simd_check_host.c"), "-o", str(exe)],
                   check=True, capture_output=True, text=True)
    proc = subprocess.run([str(exe), "20000"], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "first in requantize_dsp" in proc.stdout, proc.stdout


@pytest.mark.skipif(not HAVE_ARM, reason="arm-none-eabi-gcc or qemu-system-arm not installed")
@pytest.mark.parametrize("board_id", sorted(CODE_ORIGIN))
def test_intrinsics_match_the_instructions_on_emulated_boards(board_id: str, tmp_path: Path) -> None:
    board = get_board(board_id)
    assert board.target.dsp, f"{board_id} should have the DSP extension"
    flags = [f"-mcpu={board.core}", "-mthumb", "-O2", "-std=c99", "-Wall", "-Wextra", "-Werror"]
    cc = ["arm-none-eabi-gcc", *flags]
    objs = _compile_pair(cc, tmp_path, [])
    ld = tmp_path / "semihost.ld"
    ld.write_text((C_DIR / "semihost.ld.in").read_text().replace("CODE_ORIGIN", CODE_ORIGIN[board_id]))
    elf = tmp_path / "simd_check.elf"
    subprocess.run([*cc, "-nostartfiles", "--specs=nano.specs", "--specs=nosys.specs", "-T", str(ld),
                    f"-DSIMD_CHECK_ROUNDS={BOARD_ROUNDS}ul", "-I", str(runtime_dir()), *map(str, objs),
                    str(C_DIR / "simd_check.c"), str(C_DIR / "semihost_start.c"), "-o", str(elf)],
                   check=True, capture_output=True, text=True)
    qemu = ["qemu-system-arm", "-M", board.qemu["machine"], "-nographic", "-monitor", "none", "-serial", "none",
            "-semihosting-config", "enable=on,target=native", "-kernel", str(elf)]
    if board.qemu.get("cpu") and board.qemu["machine"].startswith("mps2"):
        qemu[3:3] = ["-cpu", board.qemu["cpu"]]
    proc = subprocess.run(qemu, capture_output=True, text=True, timeout=300)
    output = proc.stdout + proc.stderr  # QEMU writes the guest's semihosting text to stderr
    assert "instructions vs portable C" in output, output
    assert " 0 mismatches" in output, output
    assert proc.returncode == 0, output
