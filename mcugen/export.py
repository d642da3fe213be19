"""Model -> a C library for the user's own firmware (`mcugen export`).

The model module and the kernels it uses, laid out the way one build system expects
a library: a CMake target, a Zephyr module, an ESP-IDF component, an Arduino library,
a PlatformIO library, or plain files. Every public symbol, macro and file name carries
the library's name where mcugen's own prefix was (microTVM's `tvmgen_<name>_` idea),
so two exported models link into one image. Each library brings its own copy of the
kernels it uses: two models cost their kernels' flash twice, and in exchange each one
stays exactly the C that was validated, whatever mcugen version made the other.

Formats are data: templates/export/<format>/ holds format.toml (where the public
headers and the sources go, and what the format is) and the format's own files as
Jinja templates, with `__name__` in a path standing for the library's name.
"""

from __future__ import annotations

import keyword
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .codegen.emit import EdgeInfo, edge_info, template_environment
from .detection import DetectRequest
from .errors import FitError, McugenError
from .generate import GeneratedModel, compile_model
from .project import write_project
from .resources import templates_dir
from .fit import arena_budget, check_fit
from .target import AUTO, CORES, HOST, Target, target_for

if TYPE_CHECKING:
    from .boards import Board

EXPORT_TEMPLATES = "export"
# The model module's name for its user-editable placement header, before namespacing.
CONFIG_HEADER = "mcugen_model_config.h"
PUBLIC_HEADERS = ("mcugen_model.h", CONFIG_HEADER)
NAME_TOKEN = "__name__"
_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
MAX_NAME = 32
# C keywords through C23 and the C++ ones a header included from C++ must not collide with.
_C_KEYWORDS = frozenset("""
    auto break case char const continue default do double else enum extern float for goto if inline int long
    register restrict return short signed sizeof static struct switch typedef union unsigned void volatile while
    bool true false nullptr alignas alignof constexpr static_assert thread_local typeof
    class delete new namespace operator private protected public template this throw try catch virtual
""".split())
_INCLUDE_RE = re.compile(r'#include "([^"]+)"')


class ExportError(McugenError):
    exit_code = 2


@dataclass(frozen=True)
class ExportFormat:
    """One build system's library layout (templates/export/<id>/format.toml)."""

    id: str
    title: str
    include_dir: str  # where the public headers go, relative to the library's root ("" = the root)
    source_dir: str  # where the sources and the private headers go
    usage: str  # one line: how a project takes the library in
    folder: Path

    def templates(self) -> list[Path]:
        return sorted(p for p in self.folder.rglob("*.j2") if p.is_file())


def export_formats() -> dict[str, ExportFormat]:
    root = templates_dir() / EXPORT_TEMPLATES
    formats = {}
    for spec in sorted(root.glob("*/format.toml")):
        data = tomllib.loads(spec.read_text())
        fmt = ExportFormat(spec.parent.name, data["title"], data.get("include_dir", ""),
                           data.get("source_dir", ""), data["usage"], spec.parent)
        formats[fmt.id] = fmt
    return formats


def default_name(model_path: Path) -> str:
    """A C identifier from the model's file name: person_detect.tflite -> person_detect."""
    stem = re.sub(r"[^A-Za-z0-9]+", "_", Path(model_path).stem).strip("_").lower() or "model"
    if not stem[0].isalpha():
        stem = "m_" + stem
    return stem[:MAX_NAME].rstrip("_")


def check_name(name: str) -> str:
    fix = "give --name a C identifier of up to 32 letters, digits and underscores, starting with a letter"
    if not _NAME_RE.fullmatch(name) or len(name) > MAX_NAME:
        raise ExportError(f"library name '{name}' is not a C identifier mcugen can prefix symbols with", fix)
    if "__" in name or name.endswith("_"):
        raise ExportError(f"library name '{name}' has a double or trailing underscore, which would make names "
                          "reserved in C and C++ (like {name}__model_invoke)".replace("{name}", name), fix)
    if name.lower() in _C_KEYWORDS or keyword.iskeyword(name):
        raise ExportError(f"library name '{name}' is a C or C++ keyword", fix)
    return name


def namespaced_file(file: str, name: str) -> str:
    """mcugen_model.h -> <name>_model.h; conv.c -> <name>_conv.c: unique file names, so
    two libraries' objects never collide in a build that puts them in one folder."""
    if file.startswith("mcugen_"):
        return name + file[len("mcugen"):]
    return f"{name}_{file}"


def namespaced(files: dict[str, str], name: str) -> dict[str, str]:
    """The files with mcugen's prefix replaced by the library's: `mcugen_` -> `<name>_`,
    `MCUGEN_` -> `<NAME>_`, in identifiers, macros, include guards and includes.
    Every external symbol the runtime and model module define starts with `mcugen_`
    (tests/test_export.py checks it with nm), so this is what makes them the library's own."""
    upper = name.upper()
    out = {}
    for file, text in files.items():
        text = _INCLUDE_RE.sub(lambda m: f'#include "{namespaced_file(m.group(1), name)}"'
                               if m.group(1) in files else m.group(0), text)
        text = re.sub(r"\bmcugen_", name + "_", text)
        text = re.sub(r"\bMCUGEN_", upper + "_", text)
        out[namespaced_file(file, name)] = text
    return out


@dataclass
class ExportedLibrary:
    out_dir: Path
    format: ExportFormat
    name: str
    model: GeneratedModel
    files: dict[str, str]  # path inside out_dir -> text
    sources: list[str]  # the .c files, relative to out_dir

    @property
    def public_header(self) -> str:
        return _joined(self.format.include_dir, f"{self.name}_model.h")


def _joined(folder: str, file: str) -> str:
    return f"{folder}/{file}" if folder else file


def _render_path(path: Path, folder: Path, name: str) -> str:
    relative = path.relative_to(folder).as_posix()
    return relative[: -len(".j2")].replace(NAME_TOKEN, name)


def library_files(model: GeneratedModel, fmt: ExportFormat, name: str, model_file: str) -> tuple[dict[str, str],
                                                                                               list[str]]:
    """Everything the library holds, in memory: (files, C sources)."""
    env = template_environment()
    core = dict(model.files)
    core[CONFIG_HEADER] = env.get_template(f"{EXPORT_TEMPLATES}/model_config.h.j2").render(
        version=__version__, model_name=model_file)
    public = {namespaced_file(h, name) for h in PUBLIC_HEADERS}
    files: dict[str, str] = {}
    for file, text in sorted(namespaced(core, name).items()):
        folder = fmt.include_dir if file in public else fmt.source_dir
        files[_joined(folder, file)] = text
    sources = sorted(path for path in files if path.endswith(".c"))
    plan = model.plan
    inputs: list[EdgeInfo] = [edge_info(t, plan) for t in plan.graph.input_tensors()]
    outputs: list[EdgeInfo] = [edge_info(t, plan) for t in plan.graph.output_tensors()]
    values = dict(
        version=__version__, name=name, NAME=name.upper(), model_file=model_file,
        model_sha256=model.module.model_sha256, variant=model.variant, memory=plan.strategy,
        arena_bytes=model.module.arena_bytes, weights_bytes=model.module.weights_bytes,
        layers=len(plan.graph.operators), inputs=inputs, outputs=outputs,
        sources=sources, source_files=[Path(s).name for s in sources],
        source_dir=fmt.source_dir, include_dir=fmt.include_dir,
        public_header=f"{name}_model.h", config_header=f"{name}_model_config.h",
        needs_libm=any("#include <math.h>" in text for text in files.values()),
    )
    for template in fmt.templates():
        loader_path = template.relative_to(templates_dir()).as_posix()
        files[_render_path(template, fmt.folder, name)] = env.get_template(loader_path).render(**values)
    return files, sources


def export_target(board_id: str | None, core: str | None) -> tuple[Target, "Board | None"]:
    """What the library is compiled for: a board's core (and its RAM as the memory
    plan's budget), a bare core, or neither (portable kernels; arm-dsp on request,
    which compiles everywhere and uses the DSP instructions where the core has them)."""
    if board_id and core:
        raise ExportError("give --board or --core, not both", "--board implies its core")
    if board_id:
        from .boards import get_board

        board = get_board(board_id)
        return board.target, board
    if core:
        if core not in CORES:
            raise ExportError(f"unknown core '{core}'", f"choose one of: {', '.join(CORES)}")
        return target_for(core, core, "none"), None
    return HOST, None


def export_library(model_path: str | Path, fmt: str, out_dir: str | Path, name: str | None = None, *,
                   board_id: str | None = None, core: str | None = None, kernels: str = AUTO,
                   memory: str = AUTO, fit_check: bool = True,
                   detect: DetectRequest | None = None) -> ExportedLibrary:
    """Compile the model and write it as a library in the format's layout (atomically:
    all of it or nothing). With a board, the model must fit it, as for `generate`."""
    formats = export_formats()
    if fmt not in formats:
        raise ExportError(f"unknown export format '{fmt}'", f"choose one of: {', '.join(formats)}")
    model_path = Path(model_path)
    name = check_name(name if name is not None else default_name(model_path))
    target, board = export_target(board_id, core)
    budget = arena_budget(board) if board else None
    model = compile_model(model_path, target, kernels, memory, budget, config_header=CONFIG_HEADER, detect=detect)
    if board is not None and fit_check:
        verdict = check_fit(model.module.weights_bytes, model.module.arena_bytes, board)
        if not verdict.fits:
            raise FitError(f"{model_path.name} does not fit {board.id}: {verdict.shortfall()}",
                           "try --memory small, another --board, or --no-fit-check to export it anyway")
    files, sources = library_files(model, formats[fmt], name, model_path.name)
    out = write_project(Path(out_dir), files,
                        f"mcugen {__version__} {fmt} library '{name}' for {model_path.name}")
    return ExportedLibrary(out, formats[fmt], name, model, files, sources)
