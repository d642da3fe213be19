"""Boards as data: one TOML file per board under ``boards/``, checked against a schema.

Adding a board is adding a file (and its port template); no Python changes.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from .errors import BoardError
from .resources import boards_dir
from .target import CORES, Target, target_for

SCHEMA_VERSION = 1
DEFAULT_BOARD = "qemu-cm7"


@dataclass(frozen=True)
class MemoryRegion:
    name: str
    kind: str  # "flash" or "ram"
    origin: int
    size: int


# Pixel formats a camera can deliver, named as in the board files; codes as MCUGEN_PIXEL_* in mcugen_board.h.
PIXEL_FORMATS = {"GRAY8": 1, "RGB565": 2, "RGB888": 3, "YUV422": 4}
BYTES_PER_PIXEL = {"GRAY8": 1, "RGB565": 2, "RGB888": 3, "YUV422": 2}
# How far a board/app pair has been checked, weakest first.
VERIFIED_LEVELS = ("described", "host", "compiled", "emulated", "hardware")
VERIFIED_MEANING = {
    "described": "data only",
    "host": "app logic run on the host against stubs; no compiler for the MCU here",
    "compiled": "compiled and fitted for the real MCU in CI; never run here",
    "emulated": "runs end to end on the emulated board in CI",
    "hardware": "tried on the real board",
}


@dataclass(frozen=True)
class Led:
    name: str
    pin: str          # "PC0" (STM32 port letter and pin), "GPIO33" (ESP32), "virtual" (emulated)
    active_low: bool

    def c_pin(self) -> tuple[str, int]:
        """(port letter, pin number) for the generated pin table; ('\\0', 0) for a virtual LED."""
        m = re.fullmatch(r"P([A-K])(\d{1,2})", self.pin)
        if m:
            return m.group(1), int(m.group(2))
        m = re.fullmatch(r"GPIO(\d{1,2})", self.pin)
        if m:
            return "G", int(m.group(1))
        return "\\0", 0


@dataclass(frozen=True)
class Camera:
    sensor: str
    formats: tuple[str, ...]          # what the driver can deliver (PIXEL_FORMATS names)
    resolution: tuple[int, int]       # the frame size the port configures
    host_fed: bool                    # emulated boards: frames come from the host over the serial link
    frame_region: str | None          # RAM region of the frame buffer (None: the arena's region)
    pins: dict[str, int]
    facts: dict[str, Any]             # the rest of the table, for people (interface, module, ...)

    @property
    def max_frame_bytes(self) -> int:
        return self.resolution[0] * self.resolution[1] * max(BYTES_PER_PIXEL[f] for f in self.formats)


@dataclass(frozen=True)
class Upload:
    protocol: str                     # PlatformIO upload_protocol; "emulator" for QEMU boards
    command: str | None               # upload_command for protocol "custom" ($SOURCE = firmware.bin)
    tool: str | None                  # the program it needs on the user's machine
    usb_ids: tuple[str, ...]          # "vid:pid" of the device the tool talks to
    how: str                          # one line for people: buttons, jumpers, cables


@dataclass(frozen=True)
class Board:
    id: str
    name: str
    vendor: str
    mcu: str
    core: str
    fpu: str
    clock_hz: int
    emulated: bool
    sources: tuple[str, ...]
    regions: tuple[MemoryRegion, ...]
    flash_region: str
    arena_region: str
    reserved_ram_bytes: int
    reserved_flash_bytes: int
    platformio: dict[str, Any]
    serial: dict[str, Any]
    counter: dict[str, Any]
    qemu: dict[str, Any] | None = None
    firmware: dict[str, Any] | None = None
    # What the reserved bytes are, in words for the fit table (memory.reserved_*_why).
    reserved_ram_why: str = ""
    reserved_flash_why: str = ""
    camera: Camera | None = None
    leds: tuple[Led, ...] = ()
    upload: Upload | None = None
    verified: dict[str, str] = field(default_factory=dict)  # app id -> VERIFIED_LEVELS entry
    dsp: bool | None = None  # the board file's say, where the core leaves the DSP extension open
    path: Path | None = field(default=None, compare=False)

    @property
    def target(self) -> Target:
        """What the code generator may assume about this board's core."""
        return target_for(self.id, self.core, self.fpu, self.dsp)

    def led(self, name: str) -> int:
        """Index of the LED called `name`; KeyError if the board has none of that name."""
        for i, led in enumerate(self.leds):
            if led.name == name:
                return i
        raise KeyError(name)

    @property
    def serial_usb_ids(self) -> tuple[str, ...]:
        return tuple(self.serial.get("usb_ids", ()))

    def region(self, name: str) -> MemoryRegion:
        for r in self.regions:
            if r.name == name:
                return r
        raise KeyError(name)

    @property
    def flash_bytes(self) -> int:
        return sum(r.size for r in self.regions if r.kind == "flash")

    @property
    def ram_bytes(self) -> int:
        return sum(r.size for r in self.regions if r.kind == "ram")

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "vendor": self.vendor,
            "mcu": self.mcu,
            "core": self.core,
            "fpu": self.fpu,
            "target": {"dsp": self.target.dsp, "mve": self.target.mve, "kernels": self.target.best_variant},
            "clock_hz": self.clock_hz,
            "emulated": self.emulated,
            "flash_bytes": self.flash_bytes,
            "ram_bytes": self.ram_bytes,
            "regions": [
                {"name": r.name, "kind": r.kind, "origin": r.origin, "size": r.size} for r in self.regions
            ],
            "flash_region": self.flash_region,
            "arena_region": self.arena_region,
            "reserved_ram_bytes": self.reserved_ram_bytes,
            "reserved_flash_bytes": self.reserved_flash_bytes,
            "reserved_ram_why": self.reserved_ram_why,
            "reserved_flash_why": self.reserved_flash_why,
            "platformio": self.platformio,
            "serial": self.serial,
            "counter": self.counter,
            "qemu": self.qemu,
            "firmware": self.firmware,
            "camera": None if self.camera is None else {
                "sensor": self.camera.sensor, "formats": list(self.camera.formats),
                "resolution": list(self.camera.resolution), "host_fed": self.camera.host_fed,
                "frame_region": self.camera.frame_region, "pins": self.camera.pins, **self.camera.facts},
            "leds": [{"name": led.name, "pin": led.pin, "active_low": led.active_low} for led in self.leds],
            "upload": None if self.upload is None else {
                "protocol": self.upload.protocol, "command": self.upload.command, "tool": self.upload.tool,
                "usb_ids": list(self.upload.usb_ids), "how": self.upload.how},
            "verified": dict(self.verified),
            "sources": list(self.sources),
        }


# field -> (type, required). Tables are checked separately below.
_TOP_FIELDS: dict[str, tuple[type | tuple[type, ...], bool]] = {
    "schema": (int, True),
    "id": (str, True),
    "name": (str, True),
    "vendor": (str, True),
    "mcu": (str, True),
    "core": (str, True),
    "fpu": (str, True),
    # Only where the core leaves the DSP extension to the chip's maker (Cortex-M33).
    "dsp": (bool, False),
    "clock_hz": (int, True),
    "emulated": (bool, True),
    "sources": (list, True),
    "memory": (dict, True),
    "platformio": (dict, True),
    "serial": (dict, True),
    "counter": (dict, True),
    "qemu": (dict, False),
    "firmware": (dict, False),
    "camera": (dict, False),
    "leds": (list, False),
    "upload": (dict, True),
    "verified": (dict, False),
}
_CAMERA_FIELDS: dict[str, tuple[type | tuple[type, ...], bool]] = {
    "sensor": (str, True),
    "formats": (list, True),
    "resolution": (list, True),
    "host_fed": (bool, False),
    "frame_region": (str, False),
    "pins": (dict, False),
    # facts for people, shown by `mcugen boards`
    "module": (str, False),
    "interface": (str, False),
    "max_resolution": (str, False),
    "pixel_formats": (list, False),
    "xclk_hz": (int, False),
    "sccb": (str, False),
    "reset_pin": (str, False),
    "powerdown_pin": (str, False),
    "frame_buffer": (str, False),
}
_UPLOAD_FIELDS: dict[str, tuple[type | tuple[type, ...], bool]] = {
    "protocol": (str, True),
    "command": (str, False),
    "tool": (str, False),
    "usb_ids": (list, False),
    "how": (str, True),
}
_USB_ID = re.compile(r"[0-9a-f]{4}:[0-9a-f]{4}")
_CORES = set(CORES)  # mcugen/target.py: each core's instruction-set facts
_COUNTER_KINDS = {"cycles", "instructions"}
# [firmware]: how mcugen builds its own firmware for the board (templates/ports/<port>/).
_FIRMWARE_FIELDS: dict[str, tuple[type, bool]] = {
    "port": (str, True),
    "stack_bytes": (int, True),
    "heap_bytes": (int, False),
    "cflags": (list, False),
}


class _Checker:
    def __init__(self, path: Path):
        self.path = path

    def fail(self, what: str) -> BoardError:
        return BoardError(f"board file {self.path.name}: {what}", "see boards/qemu-cm7.toml for the schema")

    def need(self, table: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str = "") -> Any:
        if key not in table:
            raise self.fail(f"missing '{where}{key}'")
        value = table[key]
        if kind is int and isinstance(value, bool) or not isinstance(value, kind):
            raise self.fail(f"'{where}{key}' must be {getattr(kind, '__name__', kind)}, not {value!r}")
        return value


def _check_table(c: _Checker, table: dict[str, Any], fields: dict[str, tuple[Any, bool]], where: str
                 ) -> dict[str, Any]:
    """Known fields only, each of its type; returns the table."""
    unknown = sorted(set(table) - set(fields))
    if unknown:
        raise c.fail(f"unknown field(s) {where}{(', ' + where).join(unknown)}")
    for key, (kind, required) in fields.items():
        if required or key in table:
            c.need(table, key, kind, where)
    return table


def load_board_file(path: Path) -> Board:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise BoardError(f"cannot read board file {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise BoardError(f"board file {path.name} is not valid TOML: {exc}") from None
    c = _Checker(path)
    unknown = sorted(set(data) - set(_TOP_FIELDS))
    if unknown:
        raise c.fail(f"unknown field(s) {', '.join(unknown)}")
    for key, (kind, required) in _TOP_FIELDS.items():
        if required or key in data:
            c.need(data, key, kind)
    if data["schema"] != SCHEMA_VERSION:
        raise c.fail(f"schema {data['schema']} is not {SCHEMA_VERSION}")
    if data["id"] != path.stem:
        raise c.fail(f"id '{data['id']}' must match the file name '{path.stem}'")
    if data["core"] not in _CORES:
        raise c.fail(f"core '{data['core']}' is not one of {', '.join(sorted(_CORES))}")
    if "dsp" in data and CORES[data["core"]].dsp is not None and data["dsp"] != CORES[data["core"]].dsp:
        raise c.fail(f"dsp = {str(data['dsp']).lower()} contradicts {data['core']}, which "
                     f"{'always' if CORES[data['core']].dsp else 'never'} has the DSP extension")
    if data["clock_hz"] <= 0:
        raise c.fail("clock_hz must be positive")
    if not data["sources"] or not all(isinstance(s, str) and s for s in data["sources"]):
        raise c.fail("'sources' must name at least one datasheet or manual")

    mem = data["memory"]
    regions = []
    for i, r in enumerate(c.need(mem, "regions", list, "memory.")):
        where = f"memory.regions[{i}]."
        kind = c.need(r, "kind", str, where)
        if kind not in ("flash", "ram"):
            raise c.fail(f"'{where}kind' must be 'flash' or 'ram', not '{kind}'")
        size = c.need(r, "size", int, where)
        if size <= 0:
            raise c.fail(f"'{where}size' must be positive")
        regions.append(MemoryRegion(c.need(r, "name", str, where), kind, c.need(r, "origin", int, where), size))
    names = [r.name for r in regions]
    if len(set(names)) != len(names):
        raise c.fail("memory region names must be unique")
    flash_region = c.need(mem, "flash_region", str, "memory.")
    arena_region = c.need(mem, "arena_region", str, "memory.")
    for key, name, kind in (("flash_region", flash_region, "flash"), ("arena_region", arena_region, "ram")):
        match = [r for r in regions if r.name == name]
        if not match or match[0].kind != kind:
            raise c.fail(f"memory.{key} '{name}' must name a {kind} region")
    for key in ("reserved_ram_bytes", "reserved_flash_bytes"):
        if c.need(mem, key, int, "memory.") < 0:
            raise c.fail(f"memory.{key} must not be negative")
        why = key.replace("_bytes", "_why")
        if mem.get(key) and why not in mem:
            raise c.fail(f"memory.{why} must say what the {mem[key]:,} reserved bytes are (for the fit table)")
        if why in mem:
            c.need(mem, why, str, "memory.")

    pio = data["platformio"]
    for key in ("platform", "board", "framework"):
        c.need(pio, key, str, "platformio.")
    if "local_board" in pio:
        c.need(pio, "local_board", bool, "platformio.")
    if "upload_protocol" in pio:
        raise c.fail("platformio.upload_protocol moved to [upload] protocol")
    upload = _check_table(c, data["upload"], _UPLOAD_FIELDS, "upload.")
    if upload["protocol"] == "custom" and not upload.get("command"):
        raise c.fail("upload.protocol 'custom' needs upload.command (PlatformIO's upload_command, $SOURCE = the image)")
    if (upload["protocol"] == "emulator") != bool(data["emulated"]):
        raise c.fail("upload.protocol 'emulator' is for emulated boards, and only they use it")
    for key, table in (("upload.usb_ids", upload.get("usb_ids", [])), ("serial.usb_ids", data["serial"].get("usb_ids", []))):
        if not isinstance(table, list) or not all(isinstance(u, str) and _USB_ID.fullmatch(u) for u in table):
            raise c.fail(f"{key} must be a list of lowercase 'vid:pid' strings such as '0483:374b'")
    c.need(data["serial"], "baud", int, "serial.")
    counter_kind = c.need(data["counter"], "kind", str, "counter.")
    if counter_kind not in _COUNTER_KINDS:
        raise c.fail(f"counter.kind must be one of {', '.join(sorted(_COUNTER_KINDS))}")
    if data["emulated"]:
        if "qemu" not in data:
            raise c.fail("an emulated board needs a [qemu] table")
        c.need(data["qemu"], "machine", str, "qemu.")
    if "icount_shift" in data.get("qemu", {}):
        shift = c.need(data["qemu"], "icount_shift", int, "qemu.")
        if not 0 <= shift <= 10:
            raise c.fail("qemu.icount_shift must be 0..10")
    if "firmware" in data:
        fw = data["firmware"]
        unknown = sorted(set(fw) - set(_FIRMWARE_FIELDS))
        if unknown:
            raise c.fail(f"unknown field(s) firmware.{', firmware.'.join(unknown)}")
        for key, (kind, required) in _FIRMWARE_FIELDS.items():
            if required or key in fw:
                c.need(fw, key, kind, "firmware.")
        if not re.fullmatch(r"[a-z0-9_]+", fw["port"]):
            raise c.fail(f"firmware.port '{fw['port']}' must be a folder name under templates/ports/")
        for key in ("stack_bytes", "heap_bytes"):
            if fw.get(key, 0) < 0 or fw.get(key, 0) % 8:
                raise c.fail(f"firmware.{key} must be a non-negative multiple of 8")
        if fw["stack_bytes"] < 1024:
            raise c.fail("firmware.stack_bytes must be at least 1024")
        if not all(isinstance(f, str) and f.startswith("-") for f in fw.get("cflags", [])):
            raise c.fail("firmware.cflags must be a list of compiler flags (strings starting with '-')")
        if data["counter"]["kind"] == "instructions" and not data["emulated"]:
            raise c.fail("an instruction counter needs an emulated board (SysTick under QEMU -icount)")
    camera = None
    if "camera" in data:
        cam = _check_table(c, data["camera"], _CAMERA_FIELDS, "camera.")
        formats = cam["formats"]
        if not formats or not all(f in PIXEL_FORMATS for f in formats):
            raise c.fail(f"camera.formats must list some of {', '.join(PIXEL_FORMATS)}")
        res = cam["resolution"]
        if (len(res) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) and 0 < v <= 4096 for v in res)
                or res[0] % 2):
            raise c.fail("camera.resolution must be [width, height], positive, width even")
        frame_region = cam.get("frame_region")
        if frame_region is not None and not any(r.name == frame_region and r.kind == "ram" for r in regions):
            raise c.fail(f"camera.frame_region '{frame_region}' must name a ram region")
        pins = cam.get("pins", {})
        if not all(isinstance(v, int) and not isinstance(v, bool) and -1 <= v < 64 for v in pins.values()):
            raise c.fail("camera.pins must map names to GPIO numbers (-1: not connected)")
        known = {"sensor", "formats", "resolution", "host_fed", "frame_region", "pins"}
        camera = Camera(cam["sensor"], tuple(formats), (res[0], res[1]), cam.get("host_fed", False), frame_region,
                        dict(pins), {k: v for k, v in cam.items() if k not in known})
        if camera.host_fed != bool(data["emulated"]):
            raise c.fail("camera.host_fed is for emulated boards (frames from the host), and they must set it")
    leds = []
    for i, led in enumerate(data.get("leds", [])):
        if not isinstance(led, dict):
            raise c.fail(f"leds[{i}] must be a table")
        unknown = sorted(set(led) - {"name", "pin", "active_low"})
        if unknown:
            raise c.fail(f"unknown field(s) leds[{i}].{', '.join(unknown)}")
        name = c.need(led, "name", str, f"leds[{i}].")
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name):
            raise c.fail(f"leds[{i}].name '{name}' must be an identifier (it names a C macro)")
        one = Led(name, c.need(led, "pin", str, f"leds[{i}]."), c.need(led, "active_low", bool, f"leds[{i}]."))
        if one.c_pin()[0] == "\\0" and one.pin != "virtual":
            raise c.fail(f"leds[{i}].pin '{one.pin}' is not a pin mcugen knows (PA0..PK15, GPIO0..GPIO63, virtual)")
        leds.append(one)
    if len({led.name for led in leds}) != len(leds):
        raise c.fail("LED names must be unique")
    verified = data.get("verified", {})
    for app_id, level in verified.items():
        if level not in VERIFIED_LEVELS:
            raise c.fail(f"verified.{app_id} must be one of {', '.join(VERIFIED_LEVELS)}, not {level!r}")

    return Board(
        id=data["id"],
        name=data["name"],
        vendor=data["vendor"],
        mcu=data["mcu"],
        core=data["core"],
        fpu=data["fpu"],
        clock_hz=data["clock_hz"],
        emulated=data["emulated"],
        sources=tuple(data["sources"]),
        regions=tuple(regions),
        flash_region=flash_region,
        arena_region=arena_region,
        reserved_ram_bytes=mem["reserved_ram_bytes"],
        reserved_flash_bytes=mem["reserved_flash_bytes"],
        reserved_ram_why=mem.get("reserved_ram_why", ""),
        reserved_flash_why=mem.get("reserved_flash_why", ""),
        platformio=dict(pio),
        serial=dict(data["serial"]),
        counter=dict(data["counter"]),
        qemu=data.get("qemu"),
        firmware=data.get("firmware"),
        camera=camera,
        leds=tuple(leds),
        upload=Upload(upload["protocol"], upload.get("command"), upload.get("tool"),
                      tuple(upload.get("usb_ids", ())), upload["how"]),
        verified=dict(verified),
        dsp=data.get("dsp"),
        path=path,
    )


def list_boards(directory: Path | None = None) -> list[Board]:
    directory = directory or boards_dir()
    return [load_board_file(p) for p in sorted(directory.glob("*.toml"))]


def get_board(board_id: str, directory: Path | None = None) -> Board:
    directory = directory or boards_dir()
    path = directory / f"{board_id}.toml"
    if not path.is_file():
        known = ", ".join(p.stem for p in sorted(directory.glob("*.toml")))
        raise BoardError(f"unknown board '{board_id}'", f"known boards: {known}; see 'mcugen boards'")
    return load_board_file(path)
