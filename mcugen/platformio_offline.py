"""PlatformIO without its registry: a private PlatformIO home mcugen prepares from local parts.

Generated projects are plain PlatformIO projects: `platform = ststm32`, a board id,
nothing machine-specific. Where they build:

- `mcugen build` (offline): in a PlatformIO home of mcugen's own
  (PLATFORMIO_CORE_DIR), never the user's ~/.platformio:

      $MCUGEN_PIO_HOME, or ~/.cache/mcugen/platformio/<key>   ($XDG_CACHE_HOME honoured)

  <key> is a short hash of this mcugen's version, its Python (sys.executable) and
  the content of the shipped dev-platform, so two installs (two checkouts, two
  venvs, an upgrade) each get their own home and never rewrite each other's.
- `pio run` in the project with a network and a plain PlatformIO: PlatformIO's
  real ststm32 and its packages come from the registry as usual.

What the private home holds, with no network:

- `platforms/ststm32`: mcugen's stand-in for PlatformIO's ststm32 dev-platform
  (mcugen/platformio/ststm32-offline/: bare-metal builds with arm-none-eabi-gcc,
  upload only with upload_protocol = custom), installed as a copy with
  `pio pkg install -g -p file://...`; its boards/ gets manifests generated from
  mcugen's board files for the board ids PlatformIO's ststm32 defines (a board
  file with `local_board = true` has its project bring boards/<id>.json instead);
- `toolchain-gccarmnoneeabi`: a package whose bin/ links to the system's
  arm-none-eabi-* tools (without a system toolchain none is installed, and
  PlatformIO fetches its own from the registry: online only);
- `tool-scons`, which PlatformIO Core itself insists on: PyPI's `scons` (an mcugen
  dependency) behind a scons.py, of the version Core asks for.

The packages' .piopm records name `platformio` as owner, or Core would look them
up in the registry again (shared notes, emulation-facts.md).

Locks (flock on <home>/.mcugen.lock): prepare() holds it exclusively while it
changes the home; every `pio run` mcugen starts there (build, upload) holds it
shared for its whole run (see `session`). Builds of any number of projects run
together; a re-prepare waits for them, and they wait for it.

prepare() is idempotent: a stamp records what was set up from what (including a
content hash of the dev-platform and of the generated board manifests); when
nothing changed it returns after reading a few small files.

Platforms other than ststm32 (espressif32: no Xtensa toolchain can be installed
here) never go through the private home: `offline_capable()` says so, and
mcugen runs PlatformIO for them in the user's own PlatformIO home.
"""

from __future__ import annotations

import configparser
import fcntl
import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from . import __version__
from .children import run_group
from .errors import McugenError

PLATFORM_NAME = "ststm32"  # what generated projects say; the stand-in installs under this name
PLATFORM_FOLDER = "ststm32-offline"  # mcugen/platformio/<this>
TOOLCHAIN_PACKAGE = "toolchain-gccarmnoneeabi"
SCONS_PACKAGE = "tool-scons"
TOOLCHAIN_PREFIX = "arm-none-eabi-"
# Linked into the toolchain package's bin/ when the system has them.
TOOLCHAIN_TOOLS = ("gcc", "g++", "cpp", "as", "ld", "ar", "gcc-ar", "gcc-nm", "gcc-ranlib", "ranlib", "nm",
                   "objcopy", "objdump", "readelf", "size", "strip", "addr2line", "c++filt", "gdb")
STAMP = "mcugen-offline.json"
LOCK = ".mcugen.lock"
_SUBPROCESS_TIMEOUT = 120
# PlatformIO variables that would move its state or a project's build output away from where
# mcugen looks: dropped from the environment of every `pio` mcugen runs.
_MOVING_VARIABLES = ("PLATFORMIO_PLATFORMS_DIR", "PLATFORMIO_PACKAGES_DIR", "PLATFORMIO_CACHE_DIR",
                     "PLATFORMIO_GLOBALLIB_DIR", "PLATFORMIO_WORKSPACE_DIR", "PLATFORMIO_BUILD_DIR")
_QUIET = dict(
    # No telemetry, no upgrade checks, no colour or progress bars: quiet, offline-safe, parseable.
    PLATFORMIO_SETTING_ENABLE_TELEMETRY="no",
    PLATFORMIO_SETTING_CHECK_PLATFORMIO_INTERVAL="3650",
    PLATFORMIO_SETTING_CHECK_PRUNE_SYSTEM_THRESHOLD="0",
    PLATFORMIO_NO_ANSI="true",
    PLATFORMIO_DISABLE_PROGRESSBAR="true",
    PYTHONIOENCODING="utf-8",
)


class PlatformioError(McugenError):
    """PlatformIO, its packages or the toolchain cannot be set up."""


@dataclass(frozen=True)
class PlatformioHome:
    core_dir: Path
    platform_dir: Path  # the shipped stand-in (the installed copy is core_dir/platforms/ststm32)

    @property
    def installed_platform_dir(self) -> Path:
        return self.core_dir / "platforms" / PLATFORM_NAME

    def environment(self) -> dict[str, str]:
        """The environment for every `pio` child process run in this home."""
        return pio_environment(self.core_dir)

    def session(self) -> Any:
        """`with home.session():` a shared hold on the home for one `pio run` (see module doc)."""
        return session(self.core_dir)


def offline_capable(platform_name: str | None) -> bool:
    """Whether mcugen's private home can build this platformio.ini `platform` offline:
    ststm32 (also as platformio/ststm32, with or without @version). Not espressif32 and
    not anything given as a path or URL."""
    if not platform_name:
        return False
    spec = platform_name.strip()
    if "://" in spec or spec.startswith((".", "/", "~")):
        return False
    name = spec.split("@", 1)[0].strip()
    if name.startswith("platformio/"):
        name = name[len("platformio/"):]
    return name == PLATFORM_NAME


def project_platform(project_dir: str | Path, env_name: str) -> str | None:
    """The `platform` of [env:<env_name>] (or of [env]) in a project's platformio.ini."""
    parser = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=(";", "#"), strict=False)
    try:
        parser.read(Path(project_dir) / "platformio.ini", encoding="utf-8")
    except (configparser.Error, OSError, UnicodeDecodeError):
        return None
    for section in (f"env:{env_name}", "env"):
        if parser.has_option(section, "platform"):
            return parser.get(section, "platform").strip() or None
    return None


def dev_platform_dir() -> Path:
    """The stand-in dev-platform as shipped in the mcugen package."""
    return (Path(__file__).resolve().parent / "platformio" / PLATFORM_FOLDER).resolve()


def platform_content_hash(platform_dir: Path | None = None) -> str:
    """sha256 over the stand-in's files (names and bytes; no caches)."""
    platform_dir = platform_dir or dev_platform_dir()
    digest = hashlib.sha256()
    for path in sorted(platform_dir.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts or path.suffix == ".pyc":
            continue
        digest.update(path.relative_to(platform_dir).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def home_key(platform_hash: str | None = None) -> str:
    """The short name of this install's PlatformIO home: mcugen version, Python, stand-in."""
    text = "\0".join([__version__, sys.executable, platform_hash or platform_content_hash()])
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def default_core_dir() -> Path:
    if os.environ.get("MCUGEN_PIO_HOME"):
        return Path(os.environ["MCUGEN_PIO_HOME"]).expanduser().resolve()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return (cache / "mcugen" / "platformio" / home_key()).resolve()


def _base_environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _MOVING_VARIABLES}
    env.update(_QUIET)
    return env


def pio_environment(core_dir: Path) -> dict[str, str]:
    """For `pio` in mcugen's private home (offline builds, preparing it)."""
    env = _base_environment()
    env["PLATFORMIO_CORE_DIR"] = str(core_dir)
    return env


def user_environment() -> dict[str, str]:
    """For `pio` in the user's own PlatformIO home (platforms mcugen cannot build offline):
    whatever PLATFORMIO_CORE_DIR the user has, or none."""
    return _base_environment()


def pio_command(*args: str) -> list[str]:
    """`pio ...` as run by the Python that has mcugen (and so PlatformIO) installed."""
    return [sys.executable, "-m", "platformio", *args]


# ---------------------------------------------------------------------------------------------
# What the machine has


def _platformio_version() -> str:
    try:
        import platformio
    except ImportError:
        raise PlatformioError("PlatformIO is not installed", "pip install 'platformio>=6.1'") from None
    return platformio.__version__


def _core_scons_requirement() -> str:
    from platformio.dependencies import get_core_dependencies

    return get_core_dependencies()[SCONS_PACKAGE]


def _scons() -> tuple[str, Path]:
    """SCons's version and the folder that holds the SCons package."""
    spec = importlib.util.find_spec("SCons")
    if spec is None or not spec.origin:
        raise PlatformioError("SCons is not installed (mcugen stands it in for PlatformIO's tool-scons)",
                              "pip install 'scons>=4.5,<5'")
    from SCons import __version__ as version  # noqa: N811 (SCons's own spelling)

    return version, Path(spec.origin).resolve().parent.parent


def scons_package_version(scons_version: str, requirement: str) -> str:
    """The tool-scons version to declare for this SCons.

    PlatformIO numbers tool-scons major.(major*10000 + minor*100 + patch).0: SCons 4.11.1
    is 4.41101.0. When PyPI's SCons is not the one this PlatformIO pins (a newer or
    older 4.x), the stand-in declares the lowest version Core accepts: PlatformIO's
    builders use SCons's stable 4.x API, and the package.json says what is inside.
    """
    import semantic_version

    m = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", scons_version)
    if not m or int(m.group(1)) != 4:
        raise PlatformioError(f"SCons {scons_version} is not a 4.x release, which PlatformIO's builders need",
                              "pip install 'scons>=4.5,<5'")
    major, minor, patch = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    own = f"{major}.{major * 10000 + minor * 100 + patch}.0"
    spec = semantic_version.SimpleSpec(requirement)
    if semantic_version.Version(own) in spec:
        return own
    lowest = re.search(r"\d+\.\d+\.\d+", requirement)
    if not lowest or semantic_version.Version(lowest.group(0)) not in spec:
        raise PlatformioError(f"cannot satisfy PlatformIO's tool-scons requirement '{requirement}'",
                              "use a PlatformIO 6.x release")
    return lowest.group(0)


def system_toolchain_present() -> bool:
    return shutil.which(TOOLCHAIN_PREFIX + "gcc") is not None


def _toolchain() -> tuple[str, Path] | None:
    """The system GCC's version and its bin/ folder, or None without one: then no
    stand-in is installed and PlatformIO fetches toolchain-gccarmnoneeabi from its
    registry (online). A system GCC without newlib is an error: it would half work."""
    gcc = shutil.which(TOOLCHAIN_PREFIX + "gcc")
    if not gcc:
        return None
    try:
        version = subprocess.run([gcc, "-dumpversion"], capture_output=True, text=True, timeout=30).stdout.strip()
        specs = subprocess.run([gcc, "-print-file-name=nano.specs"], capture_output=True, text=True,
                               timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        raise PlatformioError(f"cannot run {gcc}: {exc}") from None
    if not re.fullmatch(r"\d+\.\d+\.\d+", version):
        raise PlatformioError(f"{gcc} -dumpversion printed '{version}', not a version number")
    if not os.path.isabs(specs):
        raise PlatformioError(f"{gcc} has no newlib-nano (nano.specs not found)",
                              "Debian/Ubuntu: apt-get install libnewlib-arm-none-eabi")
    return version, Path(gcc).parent


def toolchain_package_version(gcc_version: str) -> str:
    """PlatformIO numbers toolchain-gccarmnoneeabi 1.MMmmpp.0: GCC 12.2.1 is 1.120201.0."""
    major, minor, patch = (int(x) for x in gcc_version.split("."))
    return f"1.{major * 10000 + minor * 100 + patch}.0"


# ---------------------------------------------------------------------------------------------
# Board manifests for the stand-in


def _manifest_mcu(mcu: str) -> str:
    """'STM32F746NGH6' -> 'stm32f746ngh6' (PlatformIO's spelling); only the part number."""
    return mcu.split()[0].lower() if mcu.strip() else ""


def board_manifests() -> dict[str, dict[str, Any]]:
    """PlatformIO board id -> manifest, for every mcugen board on ststm32 that names one of
    PlatformIO's own ststm32 boards (not `local_board = true`: those projects bring their
    boards/<id>.json, as they must for PlatformIO's real ststm32 too). Made from mcugen's
    board files (mcugen.boards.list_boards()): build.cpu/f_cpu/mcu, upload sizes and protocol."""
    from .boards import list_boards

    out: dict[str, dict[str, Any]] = {}
    for board in list_boards():
        pio = board.platformio or {}
        board_id = pio.get("board", "")
        if not board_id or not offline_capable(pio.get("platform")) or pio.get("local_board"):
            continue
        code = board.region(board.flash_region)
        ram = board.region(board.arena_region)
        upload = getattr(board, "upload", None)
        protocol = (getattr(upload, "protocol", None) or pio.get("upload_protocol") or "").strip()
        if protocol == "emulator":
            protocol = ""
        out[board_id] = {
            "build": {"cpu": board.core, "f_cpu": f"{board.clock_hz}L", "mcu": _manifest_mcu(board.mcu)},
            "frameworks": [],
            "name": board.name,
            "upload": {
                "maximum_size": code.size - board.reserved_flash_bytes,
                "maximum_ram_size": ram.size,
                "protocol": protocol,
                "protocols": sorted({protocol, "custom"} - {""}),
            },
            "url": "",
            "vendor": board.vendor,
            "mcugen": {"board": board.id, "note": "generated by mcugen from its board file, for offline builds"},
        }
    return out


def _manifests_hash(manifests: dict[str, dict[str, Any]]) -> str:
    return hashlib.sha256(json.dumps(manifests, sort_keys=True).encode()).hexdigest()


# ---------------------------------------------------------------------------------------------
# Locks


@contextmanager
def _flock(core_dir: Path, mode: int) -> Iterator[None]:
    core_dir.mkdir(parents=True, exist_ok=True)
    with open(core_dir / LOCK, "a") as lock:
        fcntl.flock(lock, mode)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def exclusive_lock(core_dir: Path) -> Any:
    """Held by prepare() while it changes the home."""
    return _flock(core_dir, fcntl.LOCK_EX)


def shared_lock(core_dir: Path) -> Any:
    """Held by every `pio run` in the home for its whole run."""
    return _flock(core_dir, fcntl.LOCK_SH)


@contextmanager
def session(core_dir: Path | str | None = None) -> Iterator[PlatformioHome]:
    """A prepared home, held shared until the block ends: `pio run` inside it cannot have the
    home changed under it. Never call prepare() inside (flock is per open file: it would wait
    for itself)."""
    for _ in range(5):
        home = prepare(core_dir)
        try:
            lock = open(home.core_dir / LOCK, "a")
            fcntl.flock(lock, fcntl.LOCK_SH)
        except OSError as exc:
            raise PlatformioError(f"cannot lock PlatformIO folder {home.core_dir}: {exc}",
                                  "set MCUGEN_PIO_HOME to a writable folder") from None
        try:
            # Re-prepared (or emptied) between prepare() and the lock: go round again.
            if _is_prepared(home.core_dir, home.platform_dir):
                yield home
                return
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
            lock.close()
    raise PlatformioError(f"PlatformIO folder {home.core_dir} keeps changing while mcugen waits to build in it",
                          "is another mcugen re-preparing it in a loop? set MCUGEN_PIO_HOME to a folder of "
                          "your own")


# ---------------------------------------------------------------------------------------------
# Preparing the home


def _run_pio(core_dir: Path, *args: str) -> None:
    cmd = pio_command(*args)
    try:
        proc = run_group(cmd, capture_output=True, text=True, env=pio_environment(core_dir),
                         timeout=_SUBPROCESS_TIMEOUT, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise PlatformioError(f"'pio {' '.join(args)}' did not finish in {_SUBPROCESS_TIMEOUT} s") from None
    except OSError as exc:
        raise PlatformioError(f"cannot run PlatformIO ({sys.executable} -m platformio): {exc}") from None
    if proc.returncode != 0:
        lines = [line.strip() for line in (proc.stderr + proc.stdout).splitlines() if line.strip()]
        errors = [line for line in lines if "error" in line.lower()] or lines or ["no output"]
        raise PlatformioError(f"'pio {' '.join(args)}' failed: {errors[-1]}",
                              f"PLATFORMIO_CORE_DIR={core_dir}; delete it to start afresh")


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _is_ours(package_dir: Path) -> bool:
    manifest = _read_json(package_dir / "package.json")
    return bool(manifest and "mcugen" in manifest)


def _set_owner_platformio(package_dir: Path) -> None:
    """Core resolves its packages as platformio/<name>; an ownerless local install
    makes it ask the registry again."""
    path = package_dir / ".piopm"
    meta = _read_json(path)
    if meta is None:
        raise PlatformioError(f"PlatformIO did not write {path}", "delete the folder and try again")
    meta.setdefault("spec", {})["owner"] = "platformio"
    path.write_text(json.dumps(meta))


def _install_package(core_dir: Path, name: str, version: str, description: str, files: dict[str, str],
                     origin: dict) -> Path:
    installed = core_dir / "packages" / name
    if installed.exists():
        if not _is_ours(installed):
            return installed  # a real registry package: it does the job
        shutil.rmtree(installed)
    source = core_dir / "mcugen-sources" / name
    shutil.rmtree(source, ignore_errors=True)
    source.mkdir(parents=True)
    manifest = {"name": name, "version": version, "description": description, "system": "*",
                "mcugen": origin}
    (source / "package.json").write_text(json.dumps(manifest, indent=2) + "\n")
    for file_name, text in files.items():
        (source / file_name).write_text(text)
    _run_pio(core_dir, "pkg", "install", "--global", "--tool", f"file://{source}")
    if not installed.is_dir():
        raise PlatformioError(f"PlatformIO installed {name} somewhere other than {installed}",
                              f"delete {core_dir} and try again")
    _set_owner_platformio(installed)
    return installed


_SCONS_PY = '''"""mcugen's stand-in for PlatformIO's tool-scons: runs SCons {version} from PyPI."""
import sys

try:
    import SCons.Script
except ImportError:  # PlatformIO runs this with its own Python; look where mcugen found SCons
    sys.path.insert(0, {path!r})
    import SCons.Script

if __name__ == "__main__":
    sys.exit(SCons.Script.main())
'''


def _check_toolchain_version(platform_dir: Path, gcc_version: str, package_version: str) -> None:
    """The system GCC must fall in the range the stand-in asks PlatformIO for."""
    import semantic_version

    manifest = _read_json(platform_dir / "platform.json") or {}
    wanted = manifest.get("packages", {}).get(TOOLCHAIN_PACKAGE, {}).get("version")
    if wanted and semantic_version.Version(package_version) not in semantic_version.SimpleSpec(wanted):
        raise PlatformioError(f"arm-none-eabi-gcc {gcc_version} is older than mcugen's dev-platform accepts "
                              f"({TOOLCHAIN_PACKAGE} {wanted})", "install GCC 9.2 or newer for arm-none-eabi")


def _wanted_state(platform_dir: Path, platform_hash: str, manifests: dict) -> dict:
    scons_version, scons_path = _scons()
    system = _toolchain()
    toolchain = None
    if system is not None:
        gcc_version, gcc_bin = system
        _check_toolchain_version(platform_dir, gcc_version, toolchain_package_version(gcc_version))
        toolchain = {"version": gcc_version, "bin": str(gcc_bin),
                     "package_version": toolchain_package_version(gcc_version)}
    requirement = _core_scons_requirement()
    return {
        "mcugen": __version__,
        "platformio": _platformio_version(),
        "python": sys.executable,
        "scons": {"version": scons_version, "path": str(scons_path),
                  "package_version": scons_package_version(scons_version, requirement),
                  "requirement": requirement},
        "toolchain": toolchain,  # None: PlatformIO's registry provides it
        "platform": {"name": PLATFORM_NAME, "source": str(platform_dir), "sha256": platform_hash},
        "boards": {"ids": sorted(manifests), "sha256": _manifests_hash(manifests)},
    }


def _is_prepared(core_dir: Path, platform_dir: Path, platform_hash: str | None = None,
                 manifests: dict | None = None) -> bool:
    """The fast path: the stamp names this mcugen, PlatformIO, Python, stand-in and board
    manifests, and the parts exist."""
    stamp = _read_json(core_dir / STAMP)
    if not stamp:
        return False
    try:
        import platformio
    except ImportError:
        return False
    if not (platform_dir / "platform.json").is_file():
        return False
    platform_hash = platform_hash or platform_content_hash(platform_dir)
    manifests = board_manifests() if manifests is None else manifests
    installed = core_dir / "platforms" / PLATFORM_NAME
    checks = [
        stamp.get("mcugen") == __version__,
        stamp.get("platformio") == platformio.__version__,
        stamp.get("python") == sys.executable,
        (stamp.get("platform") or {}).get("sha256") == platform_hash,
        (stamp.get("boards") or {}).get("sha256") == _manifests_hash(manifests),
        (installed / "platform.json").is_file() and (installed / "builder" / "main.py").is_file(),
        all((installed / "boards" / f"{board_id}.json").is_file() for board_id in manifests),
        (core_dir / "packages" / SCONS_PACKAGE / "scons.py").is_file() or
        (core_dir / "packages" / SCONS_PACKAGE / ".piopm").is_file(),
        # A stand-in exactly when the system has a toolchain (installing one later re-prepares).
        (stamp.get("toolchain") is not None) == system_toolchain_present(),
        stamp.get("toolchain") is None
        or (core_dir / "packages" / TOOLCHAIN_PACKAGE / "bin" / (TOOLCHAIN_PREFIX + "gcc")).exists(),
    ]
    return all(checks)


def prepare(core_dir: Path | str | None = None) -> PlatformioHome:
    """Make `core_dir` (default: this install's own home) ready for offline `pio run` of
    ststm32 projects; quick when it already is."""
    platform_dir = dev_platform_dir()
    if not (platform_dir / "platform.json").is_file():
        raise PlatformioError(f"mcugen's dev-platform is missing at {platform_dir}", "reinstall mcugen")
    platform_hash = platform_content_hash(platform_dir)
    core_dir = Path(core_dir).expanduser().resolve() if core_dir else default_core_dir()
    home = PlatformioHome(core_dir, platform_dir)
    manifests = board_manifests()
    if _is_prepared(core_dir, platform_dir, platform_hash, manifests):
        return home
    try:
        with exclusive_lock(core_dir):
            if _is_prepared(core_dir, platform_dir, platform_hash, manifests):  # done while we waited
                return home
            _prepare_locked(core_dir, platform_dir, platform_hash, manifests)
    except OSError as exc:
        raise PlatformioError(f"cannot prepare PlatformIO folder {core_dir}: {exc}",
                              "set MCUGEN_PIO_HOME to a writable folder") from None
    return home


def _prepare_locked(core_dir: Path, platform_dir: Path, platform_hash: str, manifests: dict) -> None:
    state = _wanted_state(platform_dir, platform_hash, manifests)
    (core_dir / STAMP).unlink(missing_ok=True)
    (core_dir / "packages").mkdir(parents=True, exist_ok=True)

    scons = state["scons"]
    _install_package(
        core_dir, SCONS_PACKAGE, scons["package_version"],
        f"SCons {scons['version']} from PyPI, standing in for PlatformIO's tool-scons (mcugen, offline)",
        {"scons.py": _SCONS_PY.format(version=scons["version"], path=scons["path"])},
        {"scons": scons["version"]},
    )

    tc = state["toolchain"]
    stand_in = core_dir / "packages" / TOOLCHAIN_PACKAGE
    if tc is None:
        if _is_ours(stand_in):  # it links to a toolchain that is gone
            shutil.rmtree(stand_in)
    else:
        toolchain = _install_package(
            core_dir, TOOLCHAIN_PACKAGE, tc["package_version"],
            f"the system's arm-none-eabi-gcc {tc['version']} ({tc['bin']}), linked by mcugen for offline builds",
            {}, {"gcc": tc["version"], "bin": tc["bin"]},
        )
        if _is_ours(toolchain):
            # `pkg install` copies files, not symbolic links: add the links to the installed copy.
            bin_dir = toolchain / "bin"
            bin_dir.mkdir(exist_ok=True)
            for tool in TOOLCHAIN_TOOLS:
                target = Path(tc["bin"]) / (TOOLCHAIN_PREFIX + tool)
                if target.exists():
                    link = bin_dir / target.name
                    link.unlink(missing_ok=True)
                    link.symlink_to(target)
    _install_platform(core_dir, platform_dir, manifests)
    (core_dir / STAMP).write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")


def _install_platform(core_dir: Path, platform_dir: Path, manifests: dict) -> None:
    """The stand-in as a copy (platforms/ststm32), replacing any earlier one, with the
    generated board manifests in its boards/."""
    platforms = core_dir / "platforms"
    installed = platforms / PLATFORM_NAME
    if installed.exists() and not _is_ours_platform(installed):
        raise PlatformioError(f"{installed} holds a PlatformIO ststm32 that is not mcugen's stand-in",
                              f"mcugen's offline builds need their own folder: delete {installed} or set "
                              "MCUGEN_PIO_HOME to an empty folder")
    shutil.rmtree(installed, ignore_errors=True)
    (platforms / f"{PLATFORM_NAME}.pio-link").unlink(missing_ok=True)
    # Copy to a scratch folder first: pio copies what it is given, __pycache__ included.
    source = core_dir / "mcugen-sources" / PLATFORM_FOLDER
    shutil.rmtree(source, ignore_errors=True)
    shutil.copytree(platform_dir, source, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    _run_pio(core_dir, "pkg", "install", "--global", "--skip-dependencies", "--platform", f"file://{source}")
    if not (installed / "platform.json").is_file():
        raise PlatformioError(f"PlatformIO did not install the ststm32 stand-in into {installed}",
                              f"delete {core_dir} and try again")
    boards = installed / "boards"
    boards.mkdir(exist_ok=True)
    for board_id, manifest in manifests.items():
        (boards / f"{board_id}.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def _is_ours_platform(installed: Path) -> bool:
    manifest = _read_json(installed / "platform.json") or {}
    return "mcugen" in manifest.get("keywords", []) or "mcugen" in manifest.get("title", "")


def main(argv: list[str] | None = None) -> int:
    """`python -m mcugen.platformio_offline [CORE_DIR]`: prepare and print the folder."""
    args = sys.argv[1:] if argv is None else argv
    try:
        home = prepare(args[0] if args else None)
    except McugenError as exc:
        print(f"mcugen: error: {exc.one_line()}", file=sys.stderr)
        return exc.exit_code
    print(home.core_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
