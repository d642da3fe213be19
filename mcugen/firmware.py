"""Model + board -> a PlatformIO firmware project: the model, its kernels, the
benchmark agent and the board's port, ready for `pio run`.

    generate_firmware_project("model.tflite", "qemu-cm7", "build/fw")

The project (written atomically, see project.py):

    platformio.ini     one environment named after the board; every compiler flag is here
    mcugen.ld          linker script from the board file's memory regions
    boards/<pio>.json  the PlatformIO board manifest, generated from boards/<id>.toml
    mcugen.json        what the project was generated from (build.py reads it)
    src/               model module, runtime kernels, agent, port (all C, no vendor SDK)

The port is the shared Cortex-M layer (templates/ports/cortexm/) plus the SoC
folder the board file names in [firmware] port (templates/ports/<port>/); a file
in the SoC folder replaces the shared one of the same name. `*.j2` files are
rendered with the board's facts; `*.ld.j2` go to the project root, the rest to src/.

platformio.ini refers to mcugen's dev-platform by its absolute path
(`platform = symlink://...`), so a project builds on the machine that generated
it: offline through mcugen's prepared PlatformIO folder (`mcugen build`), or with
a plain PlatformIO and a network (`pio run` in the project: PlatformIO fetches
the toolchain and SCons from its registry). See platformio_offline.py.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from . import __version__
from .boards import Board, get_board
from .codegen.emit import _c_comment
from .emulator import IcountSettings, icount_settings
from .errors import BoardError, McugenError
from .generate import GeneratedModel, compile_model
from .platformio_offline import PLATFORM_NAME, dev_platform_dir
from .project import write_project
from .resources import templates_dir

METADATA = "mcugen.json"
LINKER_SCRIPT = "mcugen.ld"
COMMON_PORT = "cortexm"
# Every compile: the agent's per-layer profile hooks on, unused functions and data
# dropped at link (each in its own section).
BASE_FLAGS = ("-O2", "-Wall", "-Wextra", "-DMCUGEN_PROFILE", "-ffunction-sections", "-fdata-sections",
              "-Wl,--gc-sections", "--specs=nano.specs", "--specs=nosys.specs", "-nostartfiles")
_AGENT_DIR = Path(__file__).resolve().parent / "agent"
_FPU_ABI = {"none": None, "": None}
_COUNTER_CODES = {"cycles": 0, "instructions": 1}


class FirmwareError(McugenError):
    """A firmware project cannot be generated for this model and board."""


@dataclass
class GeneratedFirmware:
    project_dir: Path
    board: Board
    model: GeneratedModel
    build_id: str
    env_name: str  # the platformio.ini environment
    files: dict[str, str]  # project-relative path -> text
    icount: IcountSettings | None

    @property
    def elf_path(self) -> Path:
        """Where `pio run` puts the image."""
        return self.project_dir / ".pio" / "build" / self.env_name / "firmware.elf"


def machine_flags(board: Board) -> list[str]:
    """-mcpu/-mfpu/-mfloat-abi for the board's core and FPU (Thumb: Cortex-M has nothing else)."""
    if not board.core.startswith("cortex-m"):
        raise BoardError(f"board '{board.id}' has core '{board.core}'; mcugen's firmware supports Cortex-M only")
    flags = [f"-mcpu={board.core}", "-mthumb"]
    if board.fpu.lower() in _FPU_ABI:
        flags.append("-mfloat-abi=soft")
    else:
        flags += [f"-mfpu={board.fpu}", "-mfloat-abi=hard"]
    return flags


def build_id(board: Board, model_sha256: str) -> str:
    """Deterministic: the same mcugen, model and board give the same id (no timestamp)."""
    return f"mcugen-{__version__}-{model_sha256[:12]}-{board.id}"


def _port_folders(board: Board) -> list[Path]:
    fw = board.firmware
    if not fw:
        raise BoardError(f"board '{board.id}' has no [firmware] table, so mcugen cannot build firmware for it yet",
                         "boards with firmware: qemu-cm7, qemu-stm32f405")
    root = templates_dir() / "ports"
    port = root / fw["port"]
    if not port.is_dir():
        known = ", ".join(sorted(p.name for p in root.iterdir() if p.is_dir() and p.name != COMMON_PORT))
        raise BoardError(f"board '{board.id}' names firmware port '{fw['port']}', which does not exist",
                         f"ports: {known}")
    return [root / COMMON_PORT, port]


def _environment(folders: list[Path]) -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader([str(f) for f in reversed(folders)]),
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["c_comment"] = _c_comment
    return env


def _port_files(board: Board, values: dict[str, Any]) -> dict[str, str]:
    """Rendered port files, project-relative. The SoC folder overrides the shared one."""
    folders = _port_folders(board)
    names: dict[str, Path] = {}
    for folder in folders:
        for path in sorted(folder.iterdir()):
            if path.is_file() and not path.name.startswith("."):
                names[path.name] = path
    env = _environment(folders)
    files = {}
    for name, path in sorted(names.items()):
        if name.endswith(".j2"):
            out = name[: -len(".j2")]
            text = env.get_template(name).render(**values)
        else:
            out, text = name, path.read_text()
        files[out if out.endswith(".ld") else f"src/{out}"] = text
    return files


def agent_files(agent_dir: Path | None = None) -> dict[str, str]:
    """The benchmark agent's C files, plus the board API header (always mcugen's own)."""
    files = {"mcugen_board.h": (_AGENT_DIR / "mcugen_board.h").read_text()}
    folder = Path(agent_dir) if agent_dir else _AGENT_DIR
    for path in sorted(folder.glob("*.[ch]")):
        files.setdefault(path.name, path.read_text())
    if "mcugen_agent.h" not in files:
        raise FirmwareError(f"the benchmark agent (mcugen_agent.h/.c) is missing from {folder}",
                            "reinstall mcugen")
    return files


def _check_regions(board: Board) -> tuple[Any, Any]:
    for r in board.regions:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", r.name):
            raise BoardError(f"board '{board.id}': memory region name '{r.name}' is not a linker identifier",
                             "use letters, digits and _")
    return board.region(board.flash_region), board.region(board.arena_region)


def _pio_board_manifest(board: Board, code, data) -> dict[str, Any]:
    return {
        "build": {
            "cpu": board.core,
            "f_cpu": f"{board.clock_hz}L",
            "mcu": board.mcu,
        },
        "frameworks": [],
        "name": board.name,
        "upload": {
            "maximum_size": code.size - board.reserved_flash_bytes,
            "maximum_ram_size": data.size,
            "protocol": board.platformio.get("upload_protocol", ""),
            "protocols": [board.platformio.get("upload_protocol", "")],
        },
        "url": "",
        "vendor": board.vendor,
    }


def _platformio_ini(board: Board, env_name: str, flags: list[str], model_name: str) -> str:
    lines = [
        f"; Generated by mcugen {__version__} for board {board.id} from {model_name}. Do not edit: regenerate instead.",
        ";",
        "; Build offline with `mcugen build <this folder>` (mcugen's own PlatformIO folder and stand-in",
        "; packages), or with a network and a plain PlatformIO: `pio run` here fetches the toolchain",
        "; (toolchain-gccarmnoneeabi) and tool-scons from the PlatformIO registry.",
        "",
        "[platformio]",
        f"default_envs = {env_name}",
        "boards_dir = boards",
        "",
        f"[env:{env_name}]",
        f"platform = symlink://{dev_platform_dir()}",
        f"board = {board.platformio['board']}",
        f"board_build.ldscript = $PROJECT_DIR/{LINKER_SCRIPT}",
        "build_flags =",
        *(f"    {flag}" for flag in flags),
        "",
    ]
    return "\n".join(lines)


def firmware_files(model: GeneratedModel, model_name: str, board: Board,
                   agent_dir: Path | None = None) -> tuple[dict[str, str], str, str, IcountSettings | None]:
    """Everything the project holds, in memory: (files, build id, env name, icount)."""
    _port_folders(board)  # refuses boards without a [firmware] table or with an unknown port
    if board.platformio.get("platform") != PLATFORM_NAME:
        raise BoardError(f"board '{board.id}' builds with PlatformIO platform '{board.platformio.get('platform')}'; "
                         f"mcugen's firmware needs '{PLATFORM_NAME}'",
                         "boards with firmware: qemu-cm7, qemu-stm32f405")
    code, data = _check_regions(board)
    fw = board.firmware or {}
    icount = icount_settings(board) if board.counter["kind"] == "instructions" else None
    bid = build_id(board, model.module.model_sha256)
    env_name = board.id
    values = dict(
        version=__version__,
        board=board,
        code=code,
        data=data,
        stack_bytes=fw.get("stack_bytes", 0),
        heap_bytes=fw.get("heap_bytes", 0),
        counter_kind_code=_COUNTER_CODES[board.counter["kind"]],
        icount=(dict(shift=icount.shift, num=icount.num, den=icount.den,
                     ticks_per_insn=f"{float(icount.ticks_per_instruction):g}") if icount else None),
        build_id=bid,
    )
    files = _port_files(board, values)
    for name, text in agent_files(agent_dir).items():
        files[f"src/{name}"] = text
    for name, text in model.files.items():
        if f"src/{name}" in files:
            raise FirmwareError(f"file name clash in src/: {name} comes from both the model and the firmware")
        files[f"src/{name}"] = text
    flags = machine_flags(board) + list(BASE_FLAGS) + list(fw.get("cflags", []))
    files["platformio.ini"] = _platformio_ini(board, env_name, flags, model_name)
    files[f"boards/{board.platformio['board']}.json"] = json.dumps(
        _pio_board_manifest(board, code, data), indent=2, sort_keys=True) + "\n"
    files[".gitignore"] = ".pio/\n"
    files[METADATA] = json.dumps({
        "generator": f"mcugen {__version__}",
        "board": board.id,
        "build_id": bid,
        "env": env_name,
        "model": model_name,
        "model_sha256": model.module.model_sha256,
        "arena_bytes": model.module.arena_bytes,
        "weights_bytes": model.module.weights_bytes,
        "weight_symbols": sorted(a.name for a in model.module.arrays),
        "flash_region": code.name,
        "arena_region": data.name,
        "regions": [{"name": r.name, "kind": r.kind, "origin": r.origin, "size": r.size} for r in board.regions],
        "icount_shift": icount.shift if icount else None,
    }, indent=2, sort_keys=True) + "\n"
    return files, bid, env_name, icount


def generate_firmware_project(model_path: str | Path, board: Board | str, out_dir: str | Path, *,
                              agent_dir: str | Path | None = None) -> GeneratedFirmware:
    """Compile the model and write the firmware project for the board (atomically)."""
    if isinstance(board, str):
        board = get_board(board)
    model_path = Path(model_path)
    model = compile_model(model_path)
    files, bid, env_name, icount = firmware_files(model, model_path.name, board,
                                                  Path(agent_dir) if agent_dir else None)
    out = write_project(Path(out_dir), files,
                        f"mcugen {__version__} firmware project for {model_path.name} on {board.id}")
    return GeneratedFirmware(out, board, model, bid, env_name, files, icount)


def read_metadata(project_dir: str | Path) -> dict[str, Any]:
    """mcugen.json of a generated firmware project."""
    path = Path(project_dir) / METADATA
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise FirmwareError(f"{project_dir} is not an mcugen firmware project (no {METADATA})",
                            "generate one with: mcugen generate --board BOARD") from None
    except (OSError, ValueError) as exc:
        raise FirmwareError(f"cannot read {path}: {exc}") from None
