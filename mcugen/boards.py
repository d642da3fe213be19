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

SCHEMA_VERSION = 1
DEFAULT_BOARD = "qemu-cm7"


@dataclass(frozen=True)
class MemoryRegion:
    name: str
    kind: str  # "flash" or "ram"
    origin: int
    size: int


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
    camera: dict[str, Any] | None = None
    leds: tuple[dict[str, Any], ...] = ()
    path: Path | None = field(default=None, compare=False)

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
            "platformio": self.platformio,
            "serial": self.serial,
            "counter": self.counter,
            "qemu": self.qemu,
            "firmware": self.firmware,
            "camera": self.camera,
            "leds": list(self.leds),
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
}
_CORES = {"cortex-m0", "cortex-m0plus", "cortex-m3", "cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55",
          "xtensa-lx6", "xtensa-lx7", "riscv32"}
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

    pio = data["platformio"]
    for key in ("platform", "board", "framework", "upload_protocol"):
        c.need(pio, key, str, "platformio.")
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
    if "camera" in data:
        c.need(data["camera"], "sensor", str, "camera.")
    for i, led in enumerate(data.get("leds", [])):
        if not isinstance(led, dict):
            raise c.fail(f"leds[{i}] must be a table")
        c.need(led, "name", str, f"leds[{i}].")
        c.need(led, "pin", str, f"leds[{i}].")

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
        platformio=dict(pio),
        serial=dict(data["serial"]),
        counter=dict(data["counter"]),
        qemu=data.get("qemu"),
        firmware=data.get("firmware"),
        camera=data.get("camera"),
        leds=tuple(data.get("leds", [])),
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
