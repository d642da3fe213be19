from __future__ import annotations

import json
import re
import shutil

import pytest

from mcugen.boards import DEFAULT_BOARD, get_board, list_boards, load_board_file
from mcugen.errors import BoardError
from mcugen.resources import boards_dir

from conftest import run_cli

REQUIRED = {"qemu-cm7", "qemu-stm32f405", "openmv-h7"}


def test_required_boards_present_and_valid():
    boards = {b.id: b for b in list_boards()}
    assert REQUIRED <= set(boards)
    assert any(b.id.startswith("esp32") for b in boards.values())
    assert any(b.camera and b.platformio["platform"] == "ststm32" and b.id != "openmv-h7" for b in boards.values())
    assert boards[DEFAULT_BOARD].emulated
    assert boards["qemu-cm7"].qemu["machine"] == "mps2-an500"
    assert boards["qemu-stm32f405"].qemu["machine"] == "netduinoplus2"
    assert boards["qemu-stm32f405"].region(boards["qemu-stm32f405"].arena_region).size == 192 * 1024
    h7 = boards["openmv-h7"]
    assert "STM32H743" in h7.mcu and h7.camera and h7.leds
    for b in boards.values():
        assert b.sources, f"{b.id} names no source"


def test_boards_cli_json():
    proc = run_cli("boards", "--json")
    assert proc.returncode == 0, proc.stderr
    ids = {b["id"] for b in json.loads(proc.stdout)}
    assert REQUIRED <= ids


def _copy(tmp_path, edit):
    src = boards_dir() / "qemu-cm7.toml"
    text = edit(src.read_text())
    dst = tmp_path / "qemu-cm7.toml"
    dst.write_text(text)
    return dst


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.replace("clock_hz = 25_000_000", "clock_hz = \"fast\""), "clock_hz"),
    (lambda t: t.replace('arena_region = "SSRAM23"', 'arena_region = "SSRAM1"'), "arena_region"),
    (lambda t: t.replace('id = "qemu-cm7"', 'id = "other"'), "file name"),
    (lambda t: "colour = 'blue'\n" + t, "unknown field"),
    (lambda t: t.replace("[qemu]", "[qemu_x]"), "unknown field"),
    (lambda t: t.replace("kind = \"instructions\"", "kind = \"ticks\""), "counter.kind"),
    (lambda t: t.replace("schema = 1", "schema = ["), "not valid TOML"),
    (lambda t: re.sub(r"\nreserved_ram_why = .*", "", t), "reserved_ram_why must say what the 16,384"),
])
def test_schema_errors_name_the_field(tmp_path, edit, message):
    with pytest.raises(BoardError, match=message):
        load_board_file(_copy(tmp_path, edit))


def test_a_new_board_is_just_a_file(tmp_path):
    for p in boards_dir().glob("*.toml"):
        shutil.copy(p, tmp_path)
    text = (tmp_path / "qemu-cm7.toml").read_text().replace('id = "qemu-cm7"', 'id = "my-board"')
    (tmp_path / "my-board.toml").write_text(text)
    assert get_board("my-board", tmp_path).clock_hz == 25_000_000


def test_unknown_board():
    with pytest.raises(BoardError, match="unknown board"):
        get_board("nope")
