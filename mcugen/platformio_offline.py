"""PlatformIO without its registry: a core folder mcugen prepares from local parts.

mcugen builds firmware with PlatformIO (`pio run`) in a PlatformIO core folder
of its own (PLATFORMIO_CORE_DIR), so a user's ~/.platformio is never touched:

    $MCUGEN_PIO_HOME, or ~/.cache/mcugen/platformio ($XDG_CACHE_HOME honoured)

What a build needs there, and where it comes from here, with no network:

- the dev-platform: mcugen's own, shipped in the package
  (mcugen/platformio/mcugen-cortexm/), installed as a live `symlink://` link;
- `toolchain-gccarmnoneeabi`, the package the dev-platform asks for: a folder
  with a package.json and bin/ links to the system's arm-none-eabi-* tools;
- `tool-scons`, which PlatformIO Core itself insists on: a folder with a
  package.json of the version Core asks for and a scons.py that runs PyPI's
  `scons` (an mcugen dependency).

The two packages are installed with `pio pkg install -g -t file://...`; their
.piopm records then name `platformio` as owner, or Core would look them up in
the registry again (shared notes, emulation-facts.md).

With a network, none of this is needed: in a plain PlatformIO setup the same
generated project builds with `pio run`, and PlatformIO fetches
toolchain-gccarmnoneeabi (the range in platform.json) and tool-scons from its
registry as usual. mcugen's stand-ins are ordinary packages to PlatformIO; a
real registry package already in the folder is left alone.

prepare() is idempotent: a stamp file records what was set up from what; when
nothing changed it returns after reading one small file.
"""

from __future__ import annotations

import fcntl
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
from typing import Iterator

from . import __version__
from .errors import McugenError

PLATFORM_NAME = "mcugen-cortexm"
TOOLCHAIN_PACKAGE = "toolchain-gccarmnoneeabi"
SCONS_PACKAGE = "tool-scons"
TOOLCHAIN_PREFIX = "arm-none-eabi-"
# Linked into the toolchain package's bin/ when the system has them.
TOOLCHAIN_TOOLS = ("gcc", "g++", "cpp", "as", "ld", "ar", "gcc-ar", "gcc-nm", "gcc-ranlib", "ranlib", "nm",
                   "objcopy", "objdump", "readelf", "size", "strip", "addr2line", "c++filt", "gdb")
STAMP = "mcugen-offline.json"
_SUBPROCESS_TIMEOUT = 120


class PlatformioError(McugenError):
    """PlatformIO, its packages or the toolchain cannot be set up."""


@dataclass(frozen=True)
class PlatformioHome:
    core_dir: Path
    platform_dir: Path  # mcugen's dev-platform, as platformio.ini references it

    @property
    def platform_uri(self) -> str:
        return f"symlink://{self.platform_dir}"

    def environment(self) -> dict[str, str]:
        """The environment for every `pio` child process."""
        return pio_environment(self.core_dir)


def default_core_dir() -> Path:
    if os.environ.get("MCUGEN_PIO_HOME"):
        return Path(os.environ["MCUGEN_PIO_HOME"]).expanduser().resolve()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return (cache / "mcugen" / "platformio").resolve()


def dev_platform_dir() -> Path:
    return (Path(__file__).resolve().parent / "platformio" / PLATFORM_NAME).resolve()


def pio_environment(core_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PLATFORMIO_CORE_DIR=str(core_dir),
        # No telemetry, no upgrade checks, no colour or progress bars: quiet, offline-safe, parseable.
        PLATFORMIO_SETTING_ENABLE_TELEMETRY="no",
        PLATFORMIO_SETTING_CHECK_PLATFORMIO_INTERVAL="3650",
        PLATFORMIO_SETTING_CHECK_PRUNE_SYSTEM_THRESHOLD="0",
        PLATFORMIO_NO_ANSI="true",
        PLATFORMIO_DISABLE_PROGRESSBAR="true",
        PYTHONIOENCODING="utf-8",
    )
    return env


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
# Preparing the core folder


@contextmanager
def _locked(core_dir: Path) -> Iterator[None]:
    """One preparer at a time per core folder (parallel builds, two terminals)."""
    core_dir.mkdir(parents=True, exist_ok=True)
    with open(core_dir / ".mcugen-prepare.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _run_pio(core_dir: Path, *args: str) -> None:
    cmd = pio_command(*args)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=pio_environment(core_dir),
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
    """The system GCC must fall in the range the dev-platform asks PlatformIO for."""
    import semantic_version

    manifest = _read_json(platform_dir / "platform.json") or {}
    wanted = manifest.get("packages", {}).get(TOOLCHAIN_PACKAGE, {}).get("version")
    if wanted and semantic_version.Version(package_version) not in semantic_version.SimpleSpec(wanted):
        raise PlatformioError(f"arm-none-eabi-gcc {gcc_version} is older than mcugen's dev-platform accepts "
                              f"({TOOLCHAIN_PACKAGE} {wanted})", "install GCC 9.2 or newer for arm-none-eabi")


def _wanted_state(platform_dir: Path) -> dict:
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
        "platform": str(platform_dir),
    }


def _is_prepared(core_dir: Path, platform_dir: Path) -> bool:
    """The fast path: the stamp names this mcugen, PlatformIO and Python, and the parts exist."""
    stamp = _read_json(core_dir / STAMP)
    if not stamp:
        return False
    try:
        import platformio
    except ImportError:
        return False
    checks = [
        stamp.get("mcugen") == __version__,
        stamp.get("platformio") == platformio.__version__,
        stamp.get("python") == sys.executable,
        stamp.get("platform") == str(platform_dir),
        (core_dir / "packages" / SCONS_PACKAGE / "scons.py").is_file() or
        (core_dir / "packages" / SCONS_PACKAGE / ".piopm").is_file(),
        # A stand-in exactly when the system has a toolchain (installing one later re-prepares).
        (stamp.get("toolchain") is not None) == system_toolchain_present(),
        stamp.get("toolchain") is None
        or (core_dir / "packages" / TOOLCHAIN_PACKAGE / "bin" / (TOOLCHAIN_PREFIX + "gcc")).exists(),
        (core_dir / "platforms" / f"{PLATFORM_NAME}.pio-link").is_file(),
        (platform_dir / "platform.json").is_file(),
    ]
    return all(checks)


def prepare(core_dir: Path | str | None = None) -> PlatformioHome:
    """Make `core_dir` ready for offline `pio run` of mcugen projects; quick when it already is."""
    core_dir = Path(core_dir).expanduser().resolve() if core_dir else default_core_dir()
    platform_dir = dev_platform_dir()
    home = PlatformioHome(core_dir, platform_dir)
    if _is_prepared(core_dir, platform_dir):
        return home
    if not (platform_dir / "platform.json").is_file():
        raise PlatformioError(f"mcugen's dev-platform is missing at {platform_dir}", "reinstall mcugen")
    try:
        with _locked(core_dir):
            if _is_prepared(core_dir, platform_dir):  # another process did it while we waited
                return home
            _prepare_locked(core_dir, platform_dir)
    except OSError as exc:
        raise PlatformioError(f"cannot prepare PlatformIO folder {core_dir}: {exc}",
                              "set MCUGEN_PIO_HOME to a writable folder") from None
    return home


def _prepare_locked(core_dir: Path, platform_dir: Path) -> None:
    state = _wanted_state(platform_dir)
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
        return _link_platform(core_dir, platform_dir, state)
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
    _link_platform(core_dir, platform_dir, state)


def _link_platform(core_dir: Path, platform_dir: Path, state: dict) -> None:
    # The dev-platform as a live link: edits to the shipped folder need no reinstall.
    link = core_dir / "platforms" / f"{PLATFORM_NAME}.pio-link"
    link.unlink(missing_ok=True)
    _run_pio(core_dir, "pkg", "install", "--global", "--skip-dependencies", "--platform",
             f"symlink://{platform_dir}")
    if not link.is_file():
        raise PlatformioError(f"PlatformIO did not link the dev-platform {platform_dir}",
                              f"delete {core_dir} and try again")

    (core_dir / STAMP).write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")


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
