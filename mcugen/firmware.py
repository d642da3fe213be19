"""Model + board + application -> a standard PlatformIO project, ready for `pio run`.

    generate_firmware_project("model.tflite", "openmv-h7", "build/fw", app="person-led")

The project (written atomically, see project.py), the same shape on every board:

    platformio.ini          one environment named after the board, on a standard platform (`ststm32`,
                            `espressif32`); every compiler flag, the upload protocol and monitor speed
    mcugen.ld               the linker script, from the board file's memory regions (Cortex-M)
    boards/<pio>.json       a project-local board manifest, only where PlatformIO has no board
    mcugen.json             what the project was generated from (build, flash and bench read it)
    lib/mcugen_model/       the model module and its kernels, a PlatformIO library
    lib/mcugen_board/       the board port: the board API (mcugen_board.h) on this board
    src/                    the application (templates/apps/<app>/) and the link agent

Nothing in it names a path on the machine that made it: moved or handed on, it builds
with `mcugen build` (offline, through mcugen's own PlatformIO home and stand-in
packages, see platformio_offline.py) or with a stock PlatformIO and a network (`pio run`).
A user keeps lib/ and replaces src/ to run the model from their own application.

The Cortex-M port is the shared layer (templates/ports/cortexm/) plus the folder the
board file names in [firmware] port; a file in the board's folder replaces the shared
one of the same name. `*.j2` files are rendered with the board's facts.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from . import __version__
from .apps import DEFAULT_APP, App, AppError, get_app, parse_settings
from .boards import BYTES_PER_PIXEL, PIXEL_FORMATS, Board, Camera, get_board
from .codegen.emit import c_comment
from .detection import DetectRequest
from .emulator import IcountSettings, icount_settings
from .errors import BoardError, FitError, McugenError
from .generate import GeneratedModel, compile_model
from .ir import Tensor
from .project import write_project
from .resources import templates_dir
from .target import AUTO

METADATA = "mcugen.json"
LINKER_SCRIPT = "mcugen.ld"
LINK_FLAGS_SCRIPT = "link_flags.py"  # machine flags to the link, for PlatformIO's stock ststm32
COMMON_PORT = "cortexm"
MODEL_LIB = "lib/mcugen_model"
BOARD_LIB = "lib/mcugen_board"
# Every compile: the agent's per-layer profile hooks on, unused functions and data
# dropped at link (each in its own section).
BASE_FLAGS = ("-O2", "-Wall", "-Wextra", "-DMCUGEN_PROFILE", "-ffunction-sections", "-fdata-sections",
              "-Wl,--gc-sections", "--specs=nano.specs", "--specs=nosys.specs", "-nostartfiles")
_AGENT_DIR = Path(__file__).resolve().parent / "agent"
# The link agent: in src/ beside the application (every app answers HELLO through it).
AGENT_SOURCES = ("mcugen_agent.h", "mcugen_agent.c", "mcugen_frame.h", "mcugen_frame.c")
# Board API headers: in the board library (ports include them).
BOARD_HEADERS = ("mcugen_board.h", "mcugen_app.h")
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
    app: str = DEFAULT_APP

    @property
    def elf_path(self) -> Path:
        """Where `pio run` puts the image."""
        return built_elf_path(self.project_dir, self.env_name)


@dataclass(frozen=True)
class CameraConfig:
    """The frames an application asks the board's camera for."""

    format: str   # PIXEL_FORMATS name
    width: int
    height: int
    host_fed: bool

    @property
    def frame_bytes(self) -> int:
        # A host-fed camera takes any format up to its size: room for the largest.
        per_pixel = max(BYTES_PER_PIXEL.values()) if self.host_fed else BYTES_PER_PIXEL[self.format]
        return self.width * self.height * per_pixel

    @property
    def format_code(self) -> int:
        return PIXEL_FORMATS[self.format]


def camera_config(camera: Camera, input_tensor: Tensor | None) -> CameraConfig:
    """The format a model's input is best made from: gray models from GRAY8 or the Y of
    YUV422, colour ones from RGB565 (then RGB888, YUV422); at the board's resolution."""
    channels = input_tensor.shape[-1] if input_tensor is not None and len(input_tensor.shape) == 4 else 3
    preference = ("GRAY8", "YUV422", "RGB565", "RGB888") if channels == 1 else ("RGB565", "RGB888", "YUV422")
    fmt = next((f for f in preference if f in camera.formats), camera.formats[0])
    return CameraConfig(fmt, camera.resolution[0], camera.resolution[1], camera.host_fed)


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


def build_id(board: Board, model_sha256: str, app: str = DEFAULT_APP) -> str:
    """Deterministic: the same mcugen, model, board and app give the same id (no timestamp)."""
    suffix = "" if app == DEFAULT_APP else f"-{app}"
    return f"mcugen-{__version__}-{model_sha256[:12]}-{board.id}{suffix}"


def _port_folders(board: Board) -> list[Path]:
    fw = board.firmware
    if not fw:
        raise BoardError(f"board '{board.id}' has no [firmware] table, so mcugen cannot build firmware for it",
                         "see 'mcugen boards' for the boards with firmware")
    root = templates_dir() / "ports"
    port = root / fw["port"]
    if not port.is_dir():
        known = ", ".join(sorted(p.name for p in root.iterdir() if p.is_dir() and p.name != COMMON_PORT))
        raise BoardError(f"board '{board.id}' names firmware port '{fw['port']}', which does not exist",
                         f"ports: {known}")
    if board.core.startswith("cortex-m"):
        return [root / COMMON_PORT, port]
    return [port]


def _environment(folders: list[Path]) -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader([str(f) for f in reversed(folders)]),
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["c_comment"] = c_comment
    env.filters["c_string"] = lambda text: json.dumps(str(text))
    return env


def _render_folder_files(files: dict[str, Path], folders: list[Path], values: dict[str, Any]) -> dict[str, str]:
    env = _environment(folders)
    out = {}
    for name, path in sorted(files.items()):
        if name.endswith(".j2"):
            out[name[: -len(".j2")]] = env.from_string(path.read_text()).render(**values)
        else:
            out[name] = path.read_text()
    return out


def _port_files(board: Board, values: dict[str, Any]) -> dict[str, str]:
    """Rendered port files, project-relative: the linker script at the top, the rest in
    the board library. The board's folder overrides the shared one."""
    folders = _port_folders(board)
    names: dict[str, Path] = {}
    for folder in folders:
        for path in sorted(folder.iterdir()):
            if path.is_file() and not path.name.startswith(".") and path.suffix != ".md":
                names[path.name] = path
    rendered = _render_folder_files(names, folders, values)
    return {(name if name.endswith((".ld", ".py")) else f"{BOARD_LIB}/src/{name}"): text
            for name, text in rendered.items()}


def agent_files(agent_dir: Path | None = None) -> dict[str, str]:
    """The link agent's C files (and, from mcugen itself always, the board API headers)."""
    files = {name: (_AGENT_DIR / name).read_text() for name in BOARD_HEADERS}
    folder = Path(agent_dir) if agent_dir else _AGENT_DIR
    for path in sorted(folder.glob("*.[ch]")):
        files.setdefault(path.name, path.read_text())
    if "mcugen_agent.h" not in files:
        raise FirmwareError(f"the link agent (mcugen_agent.h/.c) is missing from {folder}", "reinstall mcugen")
    return files


def _check_regions(board: Board) -> tuple[Any, Any]:
    for r in board.regions:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", r.name):
            raise BoardError(f"board '{board.id}': memory region name '{r.name}' is not a linker identifier",
                             "use letters, digits and _")
    return board.region(board.flash_region), board.region(board.arena_region)


def _pio_board_manifest(board: Board, code, data) -> dict[str, Any]:
    """A project-local PlatformIO board, for boards PlatformIO does not know (OpenMV, QEMU)."""
    protocol = board.upload.protocol if board.upload and board.upload.protocol != "emulator" else ""
    return {
        "build": {
            "cpu": board.core,
            "f_cpu": f"{board.clock_hz}L",
            "mcu": board.mcu.lower(),
        },
        "frameworks": [],
        "name": board.name,
        "upload": {
            "maximum_size": code.size - board.reserved_flash_bytes,
            "maximum_ram_size": data.size,
            "protocol": protocol,
            "protocols": [protocol] if protocol else [],
        },
        "url": "",
        "vendor": board.vendor,
    }


def _platformio_ini(board: Board, env_name: str, flags: list[str], model_name: str, app: str) -> str:
    pio = board.platformio
    lines = [
        f"; Generated by mcugen {__version__} for board {board.id}, app {app}, from {model_name}.",
        "; Regenerate rather than edit. Builds offline with `mcugen build <this folder>`, or with a",
        "; network and a stock PlatformIO: `pio run` (PlatformIO fetches the platform and toolchain).",
        "",
        "[platformio]",
        f"default_envs = {env_name}",
    ]
    if pio.get("local_board"):
        lines.append("boards_dir = boards")
    lines += ["", f"[env:{env_name}]", f"platform = {pio['platform']}", f"board = {pio['board']}"]
    if pio.get("framework"):
        lines.append(f"framework = {pio['framework']}")
    if board.core.startswith("cortex-m"):
        lines.append(f"board_build.ldscript = $PROJECT_DIR/{LINKER_SCRIPT}")
        lines.append(f"extra_scripts = post:{LINK_FLAGS_SCRIPT}")
    for key, value in sorted(pio.items()):
        if "." in key:  # verbatim platformio.ini options from the board file (board_build.*, board_upload.*)
            lines.append(f"{key} = {value}")
    if board.upload and board.upload.protocol == "emulator":
        # Nothing to write: mcugen boots the image in a QEMU that keeps running (mcugen flash).
        lines += ["upload_protocol = custom",
                  f'upload_command = $PYTHONEXE -m mcugen.emulator_upload --board {board.id} --project "$PROJECT_DIR" '
                  '"$BUILD_DIR/${PROGNAME}.elf"']
    elif board.upload:
        lines.append(f"upload_protocol = {board.upload.protocol}")
        if board.upload.command:
            lines.append(f"upload_command = {board.upload.command}")
    lines.append(f"monitor_speed = {board.serial['baud']}")
    lines += ["build_flags =", *(f"    {flag}" for flag in flags), ""]
    return "\n".join(lines)


def _library_json(name: str, description: str) -> str:
    return json.dumps({
        "name": name,
        "version": __version__,
        "description": description,
        # Linked as objects, not an archive: the vector table and the profile hooks are
        # reached only through the linker script and weak references.
        "build": {"libArchive": False},
    }, indent=2, sort_keys=True) + "\n"


def _tensor_values(t: Tensor) -> dict[str, Any]:
    return {"name": t.name, "dtype": t.dtype, "shape": list(t.shape), "bytes": t.nbytes,
            "scale": t.quant.scale[0] if t.quant else 1.0,
            "zero_point": t.quant.zero_point[0] if t.quant else 0}


def _app_values(app: App, options: dict[str, Any], model: GeneratedModel, board: Board,
                camera: CameraConfig | None) -> dict[str, Any]:
    """What an app's templates see. Options the user did not set take the app's default;
    a default of None is the app generator's to derive (see app_defaults)."""
    from .app_config import app_defaults

    resolved = {name: opt.default for name, opt in app.options.items()}
    resolved.update(options)
    resolved = app_defaults(app, resolved, model, board, camera)
    return resolved


def firmware_files(model: GeneratedModel, model_name: str, board: Board, agent_dir: Path | None = None, *,
                   app: str | App = DEFAULT_APP, options: dict[str, Any] | None = None
                   ) -> tuple[dict[str, str], str, str, IcountSettings | None]:
    """Everything the project holds, in memory: (files, build id, env name, icount)."""
    app = get_app(app) if isinstance(app, str) else app
    reason = app.unsupported_reason(board)
    if reason:
        raise AppError(f"app '{app.id}' cannot run here: {reason}",
                       "see 'mcugen boards' for which apps each board can build")
    _port_folders(board)  # refuses boards without a [firmware] table or with an unknown port
    cortex_m = board.core.startswith("cortex-m")
    code, data = _check_regions(board)
    fw = board.firmware or {}
    icount = icount_settings(board) if board.counter["kind"] == "instructions" else None
    bid = build_id(board, model.module.model_sha256, app.id)
    env_name = board.id
    inputs = model.graph.input_tensors()
    camera = camera_config(board.camera, inputs[0] if inputs else None) if board.camera else None
    if camera is not None and (options or {}).get("camera") == "host":
        camera = dataclasses.replace(camera, host_fed=True)  # frames from `mcugen feed`, not the sensor
    app_options = _app_values(app, options or {}, model, board, camera)
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
        camera=camera,
        frame_region=(board.camera.frame_region or data.name) if board.camera else data.name,
        leds=[dict(name=led.name, index=i, pin=led.pin, port=led.c_pin()[0], number=led.c_pin()[1],
                   active_low=led.active_low) for i, led in enumerate(board.leds)],
        app=app,
        options=app_options,
        model=model.module,
        model_inputs=[_tensor_values(t) for t in inputs],
        model_outputs=[_tensor_values(t) for t in model.graph.output_tensors()],
    )
    # The board API headers go with the port (lib/mcugen_board on Cortex-M; the ESP-IDF
    # app component src/ on ESP32); the agent and the app in src/.
    board_lib = f"{BOARD_LIB}/src" if cortex_m else "src"
    files = _port_files(board, values) if cortex_m else {}
    for name, text in agent_files(agent_dir).items():
        files[f"{board_lib}/{name}" if name in BOARD_HEADERS else f"src/{name}"] = text
    for name, text in _render_folder_files(app.files(), [app.folder, app.folder.parent / "common"],
                                           values).items():
        if f"src/{name}" in files:
            raise FirmwareError(f"file name clash in src/: {name} comes from both the app and the agent")
        files[f"src/{name}"] = text
    for name, text in model.files.items():
        files[f"{MODEL_LIB}/src/{name}"] = text
    files[f"{MODEL_LIB}/library.json"] = _library_json(
        "mcugen_model", f"{model_name} compiled ahead of time by mcugen {__version__}: the model and its kernels")
    if cortex_m:
        files[f"{BOARD_LIB}/library.json"] = _library_json(
            "mcugen_board", f"mcugen's board port for {board.id}: startup, serial link, counter, LEDs, camera")
        flags = machine_flags(board) + list(BASE_FLAGS) + list(fw.get("cflags", []))
        files["platformio.ini"] = _platformio_ini(board, env_name, flags, model_name, app.id)
        if board.platformio.get("local_board"):
            files[f"boards/{board.platformio['board']}.json"] = json.dumps(
                _pio_board_manifest(board, code, data), indent=2, sort_keys=True) + "\n"
    else:
        from .firmware_esp32 import esp32_project_files

        files.update(esp32_project_files(board, values, model_name, sorted(files)))
    files[".gitignore"] = ".pio/\n"
    files[METADATA] = _metadata(board, bid, env_name, model_name, model, app, app_options, camera, icount,
                                [{"name": r.name, "kind": r.kind, "origin": r.origin, "size": r.size}
                                 for r in board.regions], code.name, data.name)
    return files, bid, env_name, icount


def _metadata(board: Board, bid: str, env_name: str, model_name: str, model: GeneratedModel, app: App,
              options: dict[str, Any], camera: CameraConfig | None, icount: IcountSettings | None,
              regions: list[dict], flash_region: str | None, arena_region: str | None) -> str:
    return json.dumps({
        "generator": f"mcugen {__version__}",
        "board": board.id,
        "build_id": bid,
        "env": env_name,
        "app": app.id,
        "app_options": {k: v for k, v in options.items() if not k.startswith("_")},
        "pixel_range": options.get("_pixel_range"),  # what the device's pre-processing maps 0..255 to
        "camera": None if camera is None else {"format": camera.format, "width": camera.width,
                                               "height": camera.height, "host_fed": camera.host_fed,
                                               "frame_bytes": camera.frame_bytes},
        "model": model_name,
        "model_sha256": model.module.model_sha256,
        "arena_bytes": model.module.arena_bytes,
        "kernels": model.variant,
        "memory": model.plan.strategy,
        "weights_bytes": model.module.weights_bytes,
        "weight_symbols": sorted(a.name for a in model.module.arrays),
        "flash_region": flash_region,
        "arena_region": arena_region,
        "regions": regions,
        "icount_shift": icount.shift if icount else None,
        "platform": board.platformio["platform"],
        # How the model's outputs become boxes (mcugen.detection.DetectionHead.from_json), or None.
        "detection": model.detection.to_json() if model.detection is not None else None,
    }, indent=2, sort_keys=True) + "\n"


def generate_firmware_project(model_path: str | Path, board: Board | str, out_dir: str | Path, *,
                              agent_dir: str | Path | None = None, app: str = DEFAULT_APP,
                              settings: list[str] | tuple[str, ...] = (), kernels: str = AUTO,
                              memory: str = AUTO, fit_check: bool = True,
                              detect: DetectRequest | None = None) -> GeneratedFirmware:
    """Compile the model and write the firmware project for the board and app (atomically).
    fit_check: refuse (FitError) a model that `inspect` says does not fit the board, on
    the same figures, before anything is written."""
    if isinstance(board, str):
        board = get_board(board)
    app_spec = get_app(app)
    options = parse_settings(app_spec, settings)  # bad options fail before the model is compiled
    model_path = Path(model_path)
    from .fit import arena_budget, check_fit

    model = compile_model(model_path, board.target, kernels, memory, arena_budget(board), detect=detect)
    verdict = check_fit(model.module.weights_bytes, model.module.arena_bytes, board)
    if fit_check and not verdict.fits:
        raise FitError(f"{model_path.name} does not fit {board.id}: {verdict.shortfall()}",
                       "try --memory small, a board with more memory (mcugen boards), or --no-fit-check to write "
                       "the project anyway")
    files, bid, env_name, icount = firmware_files(model, model_path.name, board,
                                                  Path(agent_dir) if agent_dir else None,
                                                  app=app_spec, options=options)
    out = write_project(Path(out_dir), files,
                        f"mcugen {__version__} firmware project for {model_path.name} on {board.id} ({app})")
    return GeneratedFirmware(out, board, model, bid, env_name, files, icount, app_spec.id)


def built_elf_path(project_dir: str | Path, env: str) -> Path:
    """Where `pio run` puts the project's image (PlatformIO's layout: .pio/build/<env>/)."""
    return Path(project_dir) / ".pio" / "build" / env / "firmware.elf"


def read_metadata(project_dir: str | Path) -> dict[str, Any]:
    """mcugen.json of a generated firmware project."""
    path = Path(project_dir) / METADATA
    if not Path(project_dir).is_dir():
        raise FirmwareError(f"project folder {project_dir} does not exist",
                            "generate one with: mcugen generate MODEL --board BOARD -o FOLDER")
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise FirmwareError(f"{project_dir} is not an mcugen firmware project (no {METADATA})",
                            "generate one with: mcugen generate MODEL --board BOARD -o FOLDER") from None
    except (OSError, ValueError) as exc:
        raise FirmwareError(f"cannot read {path}: {exc}") from None
