"""The arm-dsp DEPTHWISE_CONV_2D kernel (mcugen/runtime/depthwise_conv_dsp.c) against the
portable one (depthwise_conv.c, which the model tests hold bit-exact with TFLite Micro).

tests/c/depthwise_dsp_check.c draws random layers (channels 1-100, images up to 40x40,
filters 1x1-5x5 and 10x8, strides 1-3, SAME / VALID / other padding, zero points, act
ranges, multipliers, shifts and biases up to the whole int32 range) and compares the two
kernels output by output. It runs three ways:

  * on the host, built with AddressSanitizer and UBSan, where mcugen_simd.h's portable C
    stands in for the DSP instructions (exact-size buffers: any out-of-bounds access to
    the tensors or the promised scratch is caught);
  * with arm-none-eabi-gcc, the kernel must compile warning-free for Cortex-M7 and M4;
  * with QEMU too, natively on an emulated Cortex-M7 (mps2-an500) and Cortex-M4
    (mps2-an386), so the inline-assembly instructions themselves are checked (newlib's
    semihosting runtime; the test writes the two-line vector table it needs).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
RUNTIME = REPO / "mcugen" / "runtime"
KERNEL = RUNTIME / "depthwise_conv_dsp.c"
SOURCES = [REPO / "tests" / "c" / "depthwise_dsp_check.c", RUNTIME / "depthwise_conv.c", KERNEL]
WARNINGS = ["-Wall", "-Wextra", "-Werror"]

HOST_CC = shutil.which("cc")
ARM_GCC = shutil.which("arm-none-eabi-gcc")
QEMU = shutil.which("qemu-system-arm")

HOST_CASES = 3000
EMULATED_CASES = 600

# Cortex-M boot for QEMU's mps2 machines: the initial stack pointer and reset vector at
# address 0; newlib's rdimon crt0 (_start) sets up the C runtime over semihosting.
VECTORS_C = """\
extern void _start(void);
extern char __stack_top[];
static void fault(void) { for (;;) {} }
__attribute__((section(".vectors"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void))__stack_top, _start, fault, fault, fault, fault, fault, 0, 0, 0, 0, fault, fault, 0, fault, fault};
"""
STACK_TOP = "0x00400000"  # the end of the mps2 boards' 4 MB SSRAM at address 0


def run(cmd: list, timeout: float, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout, **kwargs)


def assert_ok(proc: subprocess.CompletedProcess, what: str) -> None:
    assert proc.returncode == 0, f"{what} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"


@pytest.mark.skipif(HOST_CC is None, reason="no host C compiler (cc)")
def test_host_checker_sanitized(tmp_path: Path) -> None:
    exe = tmp_path / "depthwise_dsp_check"
    build = run([HOST_CC, "-std=c99", "-O1", "-g", *WARNINGS, "-fsanitize=address,undefined",
                 "-fno-sanitize-recover=undefined", "-fno-omit-frame-pointer", f"-I{RUNTIME}", *SOURCES,
                 "-o", exe], timeout=120)
    assert_ok(build, "building the checker")
    # Leak checking needs ptrace, which some sandboxes refuse; the checker frees everything anyway.
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0:abort_on_error=0", UBSAN_OPTIONS="print_stacktrace=1")
    proc = run([exe, HOST_CASES, 1], timeout=300, env=env)
    assert_ok(proc, "the checker")
    assert f"{HOST_CASES} cases" in proc.stdout and " 0 failing" in proc.stdout, proc.stdout


@pytest.mark.skipif(ARM_GCC is None, reason="arm-none-eabi-gcc not installed")
@pytest.mark.parametrize("cpu", ["cortex-m7", "cortex-m4"])
def test_arm_build_warning_free(cpu: str, tmp_path: Path) -> None:
    proc = run([ARM_GCC, f"-mcpu={cpu}", "-mthumb", "-O2", *WARNINGS, f"-I{RUNTIME}", "-c", KERNEL,
                "-o", tmp_path / "depthwise_conv_dsp.o"], timeout=120)
    assert_ok(proc, f"arm-none-eabi-gcc -mcpu={cpu}")
    assert proc.stderr == "", proc.stderr


def _rdimon_available() -> bool:
    if ARM_GCC is None:
        return False
    specs = run([ARM_GCC, "-print-file-name=rdimon.specs"], timeout=30).stdout.strip()
    return os.path.isabs(specs) and os.path.exists(specs)


@pytest.mark.skipif(ARM_GCC is None or QEMU is None or not _rdimon_available(),
                    reason="needs arm-none-eabi-gcc with newlib's rdimon.specs, and qemu-system-arm")
@pytest.mark.parametrize("cpu, machine", [("cortex-m7", "mps2-an500"), ("cortex-m4", "mps2-an386")])
def test_checker_on_emulated_core(cpu: str, machine: str, tmp_path: Path) -> None:
    vectors = tmp_path / "vectors.c"
    vectors.write_text(VECTORS_C)
    elf = tmp_path / f"depthwise_dsp_check_{cpu}.elf"
    build = run([ARM_GCC, f"-mcpu={cpu}", "-mthumb", "-O2", *WARNINGS, "--specs=rdimon.specs", f"-I{RUNTIME}",
                 vectors, *SOURCES, "-Wl,--section-start=.vectors=0", f"-Wl,--defsym=__stack_top={STACK_TOP}",
                 "-o", elf], timeout=180)
    assert_ok(build, f"building the checker for {cpu}")
    proc = run([QEMU, "-M", machine, "-nographic", "-monitor", "none", "-serial", "none", "-semihosting",
                "-kernel", elf, "-append", f"{EMULATED_CASES} 2"], timeout=300)
    output = proc.stdout + proc.stderr
    assert_ok(proc, f"the checker on {machine}")
    assert f"{EMULATED_CASES} cases" in output and " 0 failing" in output, output
