"""Where mcugen's data lives: the board files and the Jinja templates.

An installed package carries them inside ``mcugen/`` (pyproject maps the
repository's top-level ``boards/`` and ``templates/`` there); a source checkout
has them beside the package.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def _data_dir(name: str) -> Path:
    installed = _PACKAGE_DIR / name
    if installed.is_dir():
        return installed
    return _PACKAGE_DIR.parent / name


def boards_dir() -> Path:
    return _data_dir("boards")


def templates_dir() -> Path:
    return _data_dir("templates")
