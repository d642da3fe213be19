"""The upload step of an emulated board: `pio run -t upload` runs this (the project's
upload_command), so `mcugen flash` goes the same way on every board.

    python -m mcugen.emulator_upload --board qemu-cm7 --project DIR DIR/.pio/build/ENV/firmware.elf

"Writing" the image to an emulated board is booting it in a QEMU that keeps running, as a
powered board does: the QEMU this project started before is stopped first, and the new
one's serial URL is recorded in DIR/.pio/mcugen-emulator.json, where `mcugen flash` (and
`--stop`) find it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .boards import get_board
from .emulator import boot_detached
from .errors import McugenError
from .flash import record_emulated, stop_emulated


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mcugen.emulator_upload", description=__doc__.split("\n")[0])
    parser.add_argument("--board", required=True)
    parser.add_argument("--project", required=True, type=Path)
    parser.add_argument("elf", type=Path)
    args = parser.parse_args(argv)
    try:
        board = get_board(args.board)
        if not board.emulated:
            raise McugenError(f"board '{board.id}' is not emulated", "its upload_protocol uploads it")
        stop_emulated(args.project)
        pid, url = boot_detached(board, args.elf, args.project / ".pio" / "mcugen-emulator.log")
        record_emulated(args.project, pid, url, args.elf)
    except McugenError as exc:
        print(f"mcugen: error: {exc.one_line()}", file=sys.stderr)
        return exc.exit_code
    print(f"{board.id} running {args.elf.name} in QEMU (pid {pid}); serial port {url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
