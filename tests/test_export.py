"""`mcugen export`: the model as a library for the user's own build, in each format.

Every format is built here as far as it can be: CMake with the real cmake and both the
host compiler and arm-none-eabi-gcc; the PlatformIO library in a real PlatformIO build
for the emulated Cortex-M7, run under QEMU; plain files with cc and make. Zephyr and
ESP-IDF cannot be installed offline: their CMakeLists run against small stand-ins for
the few functions they call (zephyr_library_*, idf_component_register) and their
Kconfig files go through kconfiglib, the parser Zephyr itself uses. Arduino's core is
not here either: the library's sources are compiled as the Arduino builder does (every
file in src/, src/ on the include path) and the example sketch is compiled as the C++
it is, against a small Arduino.h, then run.

Two exported models link into one program and both stay bit-exact with tflite-micro.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import EXAMPLE_MODEL, SHARED_MODELS
from tflite_writer import Tensor as OpTensor, write_op_model
from mcugen.export import check_name, default_name, export_formats, export_library, namespaced
from mcugen.errors import McugenError
from mcugen.ir import NUMPY_DTYPES
from mcugen.loader import load_model
from mcugen.reference import TflmInterpreter
from mcugen.validate import random_inputs

ARM_GCC = shutil.which("arm-none-eabi-gcc")
CMAKE = shutil.which("cmake")
needs_arm = pytest.mark.skipif(ARM_GCC is None, reason="arm-none-eabi-gcc not installed (scripts/setup.sh)")
needs_cmake = pytest.mark.skipif(CMAKE is None, reason="cmake not installed (apt-get install cmake)")
ARM_FLAGS = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"]
STRICT = ["-std=c99", "-Wall", "-Wextra", "-Werror"]


def second_model() -> tuple[Path, str]:
    """Another real model when ../shared is here (different ops and sizes), else the example again."""
    speech = SHARED_MODELS / "micro_speech_quantized.tflite"
    return (speech, "speech") if speech.is_file() else (EXAMPLE_MODEL, "twin")


@pytest.fixture(scope="module")
def two_models():
    second, second_name = second_model()
    return [(EXAMPLE_MODEL, "shapes"), (second, second_name)]


def run(cmd: list[str], cwd: Path | None = None, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, **kw)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


# ---- names and the prefix ---------------------------------------------------------------


def test_default_name_is_a_c_identifier():
    assert default_name(Path("person_detect.tflite")) == "person_detect"
    assert default_name(Path("wv-quality k8.tflite")) == "wv_quality_k8"
    assert default_name(Path("96x96_vww.tflite")) == "m_96x96_vww"
    for name in ("person_detect", "wv_quality_k8", "m_96x96_vww"):
        assert check_name(name) == name


@pytest.mark.parametrize("bad", ["9lives", "has-dash", "a__b", "trailing_", "static", "class", "x" * 33, ""])
def test_bad_names_are_refused(bad):
    with pytest.raises(McugenError):
        check_name(bad)


def test_namespacing_renames_files_symbols_macros_and_includes():
    files = {
        "mcugen_model.h": "#ifndef MCUGEN_MODEL_H\nint mcugen_model_invoke(void);\n",
        "conv.c": '#include "conv.h"\n#include "mcugen_common.h"\n#include <string.h>\n'
                  "void mcugen_conv_s8(void) { MCUGEN_ALIGNED(4); } /* by mcugen 1.0 */\n",
        "conv.h": "", "mcugen_common.h": "",
    }
    out = namespaced(files, "kws")
    assert sorted(out) == ["kws_common.h", "kws_conv.c", "kws_conv.h", "kws_model.h"]
    assert out["kws_model.h"] == "#ifndef KWS_MODEL_H\nint kws_model_invoke(void);\n"
    assert out["kws_conv.c"] == ('#include "kws_conv.h"\n#include "kws_common.h"\n#include <string.h>\n'
                                 "void kws_conv_s8(void) { KWS_ALIGNED(4); } /* by mcugen 1.0 */\n")


@pytest.mark.parametrize("fmt", sorted(export_formats()))
def test_every_format_writes_its_layout_without_mcugen_names(fmt, tmp_path):
    lib = export_library(EXAMPLE_MODEL, fmt, tmp_path / fmt, "shapes")
    written = {p.relative_to(lib.out_dir).as_posix() for p in lib.out_dir.rglob("*") if p.is_file()}
    assert set(lib.files) <= written and lib.public_header in written
    assert lib.sources and all(s.endswith(".c") and Path(s).name.startswith("shapes_") for s in lib.sources)
    for path, text in lib.files.items():
        assert not re.search(r"\bmcugen_|\bMCUGEN_", text), f"{path} still has an mcugen_ name"
        assert "mcugen" not in Path(path).name
    readme = lib.files["README.md"]
    assert "shapes_model_invoke" in readme and "SHAPES_MODEL_ARENA_SECTION" in readme


def test_cli_export_refusals_write_nothing(tmp_path):
    out = tmp_path / "lib"
    for args, words in [
        (["--name", "9x"], "not a C identifier"),
        (["--board", "qemu-cm7", "--core", "cortex-m4"], "not both"),
        (["--core", "cortex-m99"], "unknown core"),
        (["--board", "no-such-board"], "no-such-board"),
    ]:
        proc = subprocess.run([sys.executable, "-m", "mcugen", "export", str(EXAMPLE_MODEL), "--format", "cmake",
                               "-o", str(out), *args], capture_output=True, text=True)
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and words in lines[0] and "Traceback" not in proc.stderr, proc.stderr
        assert not out.exists()
    proc = subprocess.run([sys.executable, "-m", "mcugen", "export", str(tmp_path / "missing.tflite"), "--format",
                           "plain", "-o", str(out)], capture_output=True, text=True)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and not out.exists()


def test_cli_export_refuses_a_model_that_does_not_fit_the_board(tmp_path):
    """A 300x400 SOFTMAX needs 240,000 B in any plan, more than the STM32F405's SRAM: refused
    with --board as generate refuses it; without a board nothing is checked."""
    model = write_op_model(tmp_path / "big_softmax.tflite", "SOFTMAX", [OpTensor((1, 300, 400), "int8", 0.1, 0)],
                           [OpTensor((1, 300, 400), "int8", 1.0 / 256, -128)], {"beta": 1.0})
    out = tmp_path / "lib"
    cmd = [sys.executable, "-m", "mcugen", "export", str(model), "--format", "cmake", "-o", str(out)]
    proc = subprocess.run(cmd + ["--board", "qemu-stm32f405"], capture_output=True, text=True)
    assert proc.returncode == 1 and "does not fit qemu-stm32f405" in proc.stderr and "--no-fit-check" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and not out.exists()
    proc = subprocess.run(cmd + ["--board", "qemu-stm32f405", "--no-fit-check"], capture_output=True, text=True)
    assert proc.returncode == 0 and (out / "CMakeLists.txt").is_file(), proc.stderr


# ---- symbols: every external one carries the prefix --------------------------------------


def test_every_external_symbol_carries_the_prefix(tmp_path):
    lib = export_library(EXAMPLE_MODEL, "plain", tmp_path / "lib", "shapes", kernels="arm-dsp")
    objects = []
    for source in lib.sources:
        obj = tmp_path / (Path(source).stem + ".o")
        run(["cc", *STRICT, "-O1", "-c", str(lib.out_dir / source), "-I", str(lib.out_dir), "-o", str(obj)])
        objects.append(str(obj))
    defined = run(["nm", "-g", "--defined-only", *objects]).stdout
    names = [line.split()[-1] for line in defined.splitlines() if line.strip() and not line.endswith(":")]
    assert names and all(n.startswith("shapes_") for n in names), [n for n in names if not n.startswith("shapes_")]


# ---- two models in one program, bit-exact --------------------------------------------------


def _two_model_main(names: list[str]) -> str:
    """A C++ program (so the headers are checked from C++ too): poisons the arenas' section,
    reads each model's inputs from stdin, runs both models, writes their outputs."""
    includes = "".join(f'#include "{n}_model.h"\n' for n in names)
    steps = []
    for n in names:
        steps.append(f"""        for (int i = 0; i < {n.upper()}_MODEL_INPUT_COUNT; i++)
            if (!read_all({n}_model_input(i), {n}_model_inputs[i].bytes)) return 0;""")
    invokes = "".join(f"        if ({n}_model_invoke() != 0) return 3;\n" for n in names)
    writes = "".join(f"""        for (int i = 0; i < {n.upper()}_MODEL_OUTPUT_COUNT; i++)
            fwrite({n}_model_output(i), 1, {n}_model_outputs[i].bytes, stdout);\n""" for n in names)
    return f"""#include <cstdio>
#include <cstring>
{includes}
// Both arenas are placed in this section (the *_ARENA_SECTION cache variables); GNU ld
// defines its bounds. Filling it before every run shows no layer reads memory it did not write.
extern "C" char __start_poisoned_arena[], __stop_poisoned_arena[];

static bool read_all(void *to, size_t n) {{ return fread(to, 1, n, stdin) == n; }}

int main() {{
    for (;;) {{
        memset(__start_poisoned_arena, 0xA5, (size_t)(__stop_poisoned_arena - __start_poisoned_arena));
{chr(10).join(steps)}
{invokes}{writes}        fflush(stdout);
    }}
}}
"""


def _cmake_project(root: Path, libs: list[tuple[str, Path]], main_name: str, main_text: str, languages: str) -> Path:
    project = root / "app"
    project.mkdir(parents=True)
    (project / main_name).write_text(main_text)
    subdirs = "".join(f"add_subdirectory({path} {name})\n" for name, path in libs)
    links = " ".join(f"mcugen::{name}" for name, _ in libs)
    (project / "CMakeLists.txt").write_text(f"""cmake_minimum_required(VERSION 3.13)
project(two_models LANGUAGES {languages})
{subdirs}add_executable(two_models {main_name})
target_link_libraries(two_models PRIVATE {links})
""")
    return project


@needs_cmake
def test_two_cmake_libraries_link_into_one_program_and_match_tflite_micro(tmp_path, two_models):
    libs = []
    for model, name in two_models:
        lib = export_library(model, "cmake", tmp_path / name, name, kernels="arm-dsp")
        libs.append((name, lib.out_dir))
    project = _cmake_project(tmp_path, libs, "main.cpp", _two_model_main([n for n, _ in libs]), "C CXX")
    build = tmp_path / "build"
    sections = []
    for name, _ in libs:
        sections += [f"-D{name.upper()}_ARENA_SECTION=poisoned_arena"]
    run([CMAKE, "-S", str(project), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release",
         "-DCMAKE_C_FLAGS=-Wall -Wextra -Werror", "-DCMAKE_CXX_FLAGS=-Wall -Wextra -Werror", *sections])
    run([CMAKE, "--build", str(build), "-j2"])
    exe = build / "two_models"

    graphs = [load_model(model) for model, _ in two_models]
    count = 4
    sets = [random_inputs(g.input_tensors(), count, seed=7 + k) for k, g in enumerate(graphs)]
    # Per run: model A's inputs, then model B's.
    stdin = b"".join(b"".join(arr.tobytes() for arr in sets[m][i]) for i in range(count) for m in range(len(sets)))
    out = subprocess.run([str(exe)], input=stdin, capture_output=True, timeout=60)
    assert out.returncode == 0, out.stderr
    got = out.stdout
    expected = b""
    refs = [TflmInterpreter(model) for model, _ in two_models]
    try:
        for i in range(count):
            for m, g in enumerate(graphs):
                outputs = refs[m].run(sets[m][i], len(g.output_tensors()))
                expected += b"".join(np.ascontiguousarray(o).tobytes() for o in outputs)
    finally:
        for ref in refs:
            ref.close()
    assert len(got) == len(expected) and got == expected


@needs_cmake
@needs_arm
def test_cmake_cross_build_places_arena_and_weights_in_the_chosen_sections(tmp_path, two_models):
    libs = []
    for model, name in two_models:
        lib = export_library(model, "cmake", tmp_path / name, name, board_id="qemu-cm7")
        libs.append((name, lib.out_dir))
    invokes = "".join(f"    {n}_model_invoke();\n" for n, _ in libs)
    includes = "".join(f'#include "{n}_model.h"\n' for n, _ in libs)
    project = _cmake_project(tmp_path, libs, "main.c", f"{includes}\nint main(void)\n{{\n{invokes}    return 0;\n}}\n", "C")
    build = tmp_path / "build"
    first = libs[0][0].upper()
    run([CMAKE, "-S", str(project), "-B", str(build), "-DCMAKE_SYSTEM_NAME=Generic",
         f"-DCMAKE_C_COMPILER={ARM_GCC}", "-DCMAKE_TRY_COMPILE_TARGET_TYPE=STATIC_LIBRARY",
         "-DCMAKE_C_FLAGS=" + " ".join(ARM_FLAGS + ["-O2", "-Wall", "-Wextra", "-Werror"]),
         "-DCMAKE_EXE_LINKER_FLAGS=--specs=nosys.specs",
         f"-D{first}_ARENA_SECTION=.sram2", f"-D{first}_WEIGHTS_SECTION=.qspi_rodata"])
    run([CMAKE, "--build", str(build), "-j2"])
    elf = build / "two_models"
    table = run([ARM_GCC.replace("gcc", "objdump"), "-t", str(elf)]).stdout
    section_of = {}
    for line in table.splitlines():
        parts = line.split()
        if len(parts) >= 5 and parts[-1].startswith(tuple(n + "_" for n, _ in libs)):
            section_of[parts[-1]] = parts[-3]
    a, b = libs[0][0], libs[1][0]
    assert section_of[f"{a}_arena"] == ".sram2"
    assert section_of[f"{b}_arena"] == ".bss"
    constants_a, constants_b = (_constants(section_of, n) for n in (a, b))
    assert constants_a and {section_of[s] for s in constants_a} == {".qspi_rodata"}
    assert constants_b and {section_of[s] for s in constants_b} == {".rodata"}


def _constants(section_of: dict[str, str], name: str) -> list[str]:
    """The model's constant arrays (weights, filters, biases, requantization tables), not
    its per-layer parameter structs, which stay in .rodata."""
    return [s for s in section_of if re.fullmatch(rf"{name}_l\d+_(?!params)\w+", s)]


# ---- plain -------------------------------------------------------------------------------


def test_plain_builds_with_its_makefile_fragment(tmp_path):
    lib = export_library(EXAMPLE_MODEL, "plain", tmp_path / "shapes", "shapes")
    (tmp_path / "main.c").write_text('#include "shapes_model.h"\nint main(void) { return shapes_model_invoke(); }\n')
    (tmp_path / "Makefile").write_text(
        "include shapes/shapes.mk\nCFLAGS += -std=c99 -Wall -Wextra -Werror $(SHAPES_CFLAGS)\n"
        "app: main.o $(SHAPES_SRCS:.c=.o)\n\t$(CC) -o $@ $^ $(SHAPES_LDLIBS)\n")
    run(["make", "-s", "-j2", "app"], cwd=tmp_path)
    assert subprocess.run([str(tmp_path / "app")]).returncode == 0
    assert lib.public_header == "shapes_model.h"


@needs_arm
def test_plain_compiles_for_cortex_m_strictly(tmp_path):
    lib = export_library(EXAMPLE_MODEL, "plain", tmp_path / "lib", "shapes", core="cortex-m4")
    assert lib.model.variant == "arm-dsp"
    for source in lib.sources:
        run([ARM_GCC, *ARM_FLAGS, *STRICT, "-O2", "-c", str(lib.out_dir / source), "-I", str(lib.out_dir),
             "-o", str(tmp_path / (Path(source).stem + ".o"))])


# ---- Zephyr and ESP-IDF: their CMake functions stood in for, their Kconfig parsed ----------

ZEPHYR_STANDIN = """# Stand-ins for the Zephyr build functions the module calls (Zephyr's own are in
# cmake/modules/extensions.cmake: a library named for the module, sources, includes).
macro(zephyr_library_named name)
  add_library(${name} STATIC)
  set(ZEPHYR_CURRENT_LIBRARY ${name})
endmacro()
macro(zephyr_library_sources)
  target_sources(${ZEPHYR_CURRENT_LIBRARY} PRIVATE ${ARGN})
endmacro()
macro(zephyr_include_directories)
  include_directories(${ARGN})
endmacro()
macro(zephyr_library_include_directories)
  target_include_directories(${ZEPHYR_CURRENT_LIBRARY} PRIVATE ${ARGN})
endmacro()
macro(zephyr_library_compile_definitions)
  target_compile_definitions(${ZEPHYR_CURRENT_LIBRARY} PRIVATE ${ARGN})
endmacro()
"""

IDF_STANDIN = """# A stand-in for ESP-IDF's idf_component_register (tools/cmake/component.cmake): a
# static library named __idf_<component>, exposed as COMPONENT_LIB.
function(idf_component_register)
  cmake_parse_arguments(ARG "" "" "SRCS;INCLUDE_DIRS;PRIV_INCLUDE_DIRS;REQUIRES;PRIV_REQUIRES" ${ARGN})
  get_filename_component(component ${CMAKE_CURRENT_LIST_DIR} NAME)
  add_library(__idf_${component} STATIC ${ARG_SRCS})
  target_include_directories(__idf_${component} PUBLIC ${ARG_INCLUDE_DIRS} PRIVATE ${ARG_PRIV_INCLUDE_DIRS})
  set(COMPONENT_LIB __idf_${component} PARENT_SCOPE)
endfunction()
"""


def _kconfig(path: Path, values: dict[str, str]) -> dict[str, str]:
    kconfiglib = pytest.importorskip("kconfiglib")
    kconf = kconfiglib.Kconfig(str(path), warn_to_stderr=False)
    assert not kconf.warnings, kconf.warnings
    for name, value in values.items():
        kconf.syms[name].set_value(value)
        assert kconf.syms[name].str_value == value, f"{name} did not take {value!r}"
    return {name: sym.str_value for name, sym in kconf.syms.items() if sym.nodes}


def _standin_build(tmp_path: Path, lib_dir: Path, standin: str, settings: dict[str, str], cc: str,
                   cflags: list[str]) -> Path:
    project = tmp_path / "standin"
    project.mkdir()
    sets = "".join(f'set({k} "{v}")\n' for k, v in settings.items())
    (project / "CMakeLists.txt").write_text(
        f"cmake_minimum_required(VERSION 3.13)\nproject(standin LANGUAGES C)\n{standin}{sets}"
        f"add_subdirectory({lib_dir} lib)\n")
    build = tmp_path / "standin-build"
    run([CMAKE, "-S", str(project), "-B", str(build), f"-DCMAKE_C_COMPILER={cc}", "-DCMAKE_SYSTEM_NAME=Generic",
         "-DCMAKE_TRY_COMPILE_TARGET_TYPE=STATIC_LIBRARY", "-DCMAKE_C_FLAGS=" + " ".join(cflags)])
    run([CMAKE, "--build", str(build), "-j2"])
    archives = list(build.rglob("*.a"))
    assert len(archives) == 1, archives
    return archives[0]


def _section_of(objdump: str, archive: Path, symbol: str) -> str:
    for line in run([objdump, "-t", str(archive)]).stdout.splitlines():
        parts = line.split()
        if parts and parts[-1] == symbol:
            return parts[-3]
    raise AssertionError(f"{symbol} not in {archive}")


@needs_cmake
@needs_arm
def test_zephyr_module_builds_with_its_kconfig(tmp_path):
    lib = export_library(EXAMPLE_MODEL, "zephyr", tmp_path / "shapes", "shapes", core="cortex-m4")
    module = (lib.out_dir / "zephyr" / "module.yml").read_text()
    yaml = pytest.importorskip("yaml")
    meta = yaml.safe_load(module)
    assert meta["name"] == "shapes" and (lib.out_dir / meta["build"]["cmake"] / "CMakeLists.txt").is_file()
    config = _kconfig(lib.out_dir / meta["build"]["kconfig"],
                      {"SHAPES_MODEL": "y", "SHAPES_MODEL_ARENA_SECTION": ".sram2"})
    assert config["SHAPES_MODEL"] == "y" and config["SHAPES_MODEL_WEIGHTS_SECTION"] == ""
    settings = {f"CONFIG_{k}": v for k, v in config.items()}
    archive = _standin_build(tmp_path, lib.out_dir, ZEPHYR_STANDIN, settings, ARM_GCC, ARM_FLAGS + STRICT)
    objdump = ARM_GCC.replace("gcc", "objdump")
    assert _section_of(objdump, archive, "shapes_arena") == ".sram2"


@needs_cmake
def test_esp_idf_component_builds_with_its_kconfig(tmp_path):
    lib = export_library(EXAMPLE_MODEL, "esp-idf", tmp_path / "shapes", "shapes")
    yaml = pytest.importorskip("yaml")
    manifest = yaml.safe_load((lib.out_dir / "idf_component.yml").read_text())
    assert manifest["version"] and manifest["description"]
    config = _kconfig(lib.out_dir / "Kconfig", {"SHAPES_MODEL_WEIGHTS_SECTION": ".flash_models"})
    settings = {f"CONFIG_{k}": v for k, v in config.items()}
    # No Xtensa or RISC-V compiler here: the host's gcc stands in (the C is portable C99).
    archive = _standin_build(tmp_path, lib.out_dir, IDF_STANDIN, settings, "cc", STRICT)
    assert _section_of("objdump", archive, "shapes_arena") == ".bss"
    assert _section_of("objdump", archive, "shapes_l0_filter") == ".flash_models"
    assert _section_of("objdump", archive, "shapes_l0_params") != ".flash_models"


# ---- Arduino -------------------------------------------------------------------------------

ARDUINO_H = """// The little of Arduino's core the example sketch uses, printing to stdout.
#include <cstdio>
#include <cstdint>
struct SerialStandIn {
    void begin(long) {}
    void print(const char *s) { std::fputs(s, stdout); }
    void print(char c) { std::fputc(c, stdout); }
    void print(long v) { std::printf("%ld", v); }
    void print(unsigned long v) { std::printf("%lu", v); }
    void print(int v) { std::printf("%d", v); }
    void println() { std::fputc('\\n', stdout); }
};
static SerialStandIn Serial;
static inline unsigned long micros() { return 0; }
static inline void delay(unsigned long) {}
"""


def test_arduino_library_and_its_example_sketch_build_and_run(tmp_path):
    lib = export_library(EXAMPLE_MODEL, "arduino", tmp_path / "shapes", "shapes")
    props = dict(line.split("=", 1) for line in (lib.out_dir / "library.properties").read_text().splitlines()
                 if "=" in line)
    for field in ("name", "version", "author", "maintainer", "sentence", "paragraph", "category", "architectures"):
        assert props.get(field), field
    assert props["name"] == "shapes" and props["includes"] == "shapes_model.h"
    src = lib.out_dir / "src"
    objects = []
    for source in sorted(src.glob("*.c")):  # what the Arduino builder compiles: all of src/, src/ on the path
        obj = tmp_path / (source.stem + ".o")
        run(["cc", *STRICT, "-O1", "-c", str(source), "-I", str(src), "-o", str(obj)])
        objects.append(str(obj))
    (tmp_path / "Arduino.h").write_text(ARDUINO_H)
    sketch = lib.out_dir / "examples" / "shapes_basic" / "shapes_basic.ino"
    main = tmp_path / "sketch_main.cpp"
    main.write_text(f'#include "Arduino.h"\n#include "{sketch}"\nint main() {{ setup(); loop(); return 0; }}\n')
    exe = tmp_path / "sketch"
    run(["c++", "-Wall", "-Wextra", "-Werror", "-I", str(tmp_path), "-I", str(src), str(main), *objects, "-o", str(exe)])
    printed = run([str(exe)]).stdout
    assert printed.startswith("shapes: 0 us;") and len(printed.split(";")[1].split()) > 0


# ---- PlatformIO: two libraries in a real PlatformIO build, run on the emulated board -------

APP_TWO_MODELS = """/* Runs two exported models on one input pattern each and prints their outputs in hex. */
#include <stdint.h>
#include <string.h>

#include "mcugen_app.h"
#include "mcugen_board.h"
{includes}

static void put_text(const char *s) {{ mcugen_board_write((const uint8_t *)s, strlen(s)); }}

static void put_hex(const uint8_t *data, uint32_t n)
{{
    static const char digits[] = "0123456789abcdef";
    for (uint32_t i = 0; i < n; i++) {{
        uint8_t pair[2] = {{(uint8_t)digits[data[i] >> 4], (uint8_t)digits[data[i] & 15]}};
        mcugen_board_write(pair, 2);
    }}
}}

/* Input byte i of model k: the pattern the test feeds tflite-micro too. */
static void fill(uint8_t *to, uint32_t n, uint32_t k)
{{
    for (uint32_t i = 0; i < n; i++) to[i] = (uint8_t)(i * 7u + k * 13u + 1u);
}}

void mcugen_app_run(void)
{{
    mcugen_board_init();
{body}    put_text("END\\n");
    for (;;) {{
    }}
}}
"""


def _pattern(nbytes: int, k: int) -> bytes:
    return bytes((i * 7 + k * 13 + 1) & 0xFF for i in range(nbytes))


@needs_arm
def test_two_platformio_libraries_build_and_run_on_the_emulated_board(tmp_path, two_models):
    from mcugen.boards import get_board
    from mcugen.build import run_project
    from mcugen.emulator import Emulator
    from mcugen.firmware import generate_firmware_project

    if shutil.which("qemu-system-arm") is None:
        pytest.skip("qemu-system-arm not installed (scripts/setup.sh)")
    board = get_board("qemu-cm7")
    project = tmp_path / "fw"
    fw = generate_firmware_project(EXAMPLE_MODEL, board, project)
    # Keep the board's port, linker script and platformio.ini; the model and the app are ours.
    shutil.rmtree(project / "lib" / "mcugen_model")
    for path in (project / "src").iterdir():
        path.unlink()
    names, body = [], ""
    for k, (model, name) in enumerate(two_models):
        export_library(model, "platformio", project / "lib" / name, name, board_id=board.id)
        names.append(name)
        up = name.upper()
        body += (f"    for (int i = 0; i < {up}_MODEL_INPUT_COUNT; i++)\n"
                 f"        fill((uint8_t *){name}_model_input(i), {name}_model_inputs[i].bytes, {k}u + (uint32_t)i);\n"
                 f"    {name}_model_invoke();\n"
                 f"    for (int i = 0; i < {up}_MODEL_OUTPUT_COUNT; i++) {{\n"
                 f"        put_text(\"{name} \");\n"
                 f"        put_hex((const uint8_t *){name}_model_output(i), {name}_model_outputs[i].bytes);\n"
                 f"        put_text(\"\\n\");\n    }}\n")
    includes = "".join(f'#include "{n}_model.h"\n' for n in names)
    (project / "src" / "app_two_models.c").write_text(APP_TWO_MODELS.format(includes=includes, body=body))
    run_project(project, fw.env_name)
    elf = project / ".pio" / "build" / fw.env_name / "firmware.elf"
    with Emulator(board, elf) as emu:
        port = emu.open_serial(timeout=20)
        text = b""
        while b"END\n" not in text:
            chunk = port.read(4096)
            assert chunk, f"the board went quiet; got {text[-400:]!r}"
            text += chunk
        port.close()
    lines = [line for line in text.decode(errors="replace").splitlines() if " " in line]
    got = [(line.split()[0], bytes.fromhex(line.split()[1])) for line in lines if line.split()[0] in names]

    expected = []
    for k, (model, name) in enumerate(two_models):
        graph = load_model(model)
        inputs = [np.frombuffer(_pattern(t.nbytes, k + i), dtype=NUMPY_DTYPES[t.dtype]).reshape(t.shape)
                  for i, t in enumerate(graph.input_tensors())]
        with TflmInterpreter(model) as ref:
            outputs = ref.run(inputs, len(graph.output_tensors()))
        expected += [(name, np.ascontiguousarray(o).tobytes()) for o in outputs]
    assert got == expected
