"""Write a generated project folder atomically: all of it, or nothing.

Files are written into a temporary sibling folder that replaces the target only
once complete, so an error or Ctrl-C never leaves a half-written project. A
folder is only replaced if mcugen made it (it holds the marker file).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from .errors import McugenError

MARKER = ".mcugen-project"


def report_folder(path: Path, option: str = "--report") -> Path:
    """Make (or keep) the folder a report is written into, refusing in one line a path that
    is a file or lies below one (reports are a few files, written over in place)."""
    path = Path(path)
    for candidate in (path, *path.parents):
        if candidate.exists() and not candidate.is_dir():
            raise McugenError(f"cannot write a report in {path}: {candidate} is a file, not a folder",
                              f"choose another {option}")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise McugenError(f"cannot create {path}: {exc.strerror or exc}", f"choose another {option}") from None
    return path


def write_project(target: Path, files: dict[str, str], description: str) -> Path:
    target = Path(target)
    if target.exists():
        if not target.is_dir():
            raise McugenError(f"output path {target} exists and is not a folder", "choose another -o")
        if any(target.iterdir()) and not (target / MARKER).exists():
            raise McugenError(f"output folder {target} is not empty and was not made by mcugen",
                              "choose an empty or new folder with -o")
    for parent in reversed(target.parents):  # -o below a file: say so, not FileExistsError
        if parent.exists() and not parent.is_dir():
            raise McugenError(f"cannot write {target}: {parent} is a file, not a folder", "choose another -o")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise McugenError(f"cannot create {target.parent}: {exc.strerror or exc}", "choose another -o") from None
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    # mkdtemp makes its folder 0700 whatever the umask; a project is an ordinary folder.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(staging, 0o777 & ~umask)
    try:
        for name, text in sorted(files.items()):
            path = staging / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        (staging / MARKER).write_text(description + "\n")
        if target.exists():
            trash = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
            target.rename(trash / "old")
            staging.rename(target)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target
