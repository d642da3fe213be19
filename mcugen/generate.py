"""Model -> C: lower, plan and render a model into a project folder for a target."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import __version__
from .codegen.emit import ModelModule, _environment, render_model_module, runtime_files
from .ir import Graph
from .loader import load_model
from .planner import MemoryPlan, plan_memory
from .project import write_project

HOST_TARGET = "host"


@dataclass
class GeneratedModel:
    graph: Graph
    plan: MemoryPlan
    module: ModelModule
    files: dict[str, str]


def compile_model(model_path: str | Path) -> GeneratedModel:
    """Everything up to the C text, in memory; raises before anything is written."""
    model_path = Path(model_path)
    graph = load_model(model_path)
    plan = plan_memory(graph)
    module = render_model_module(graph, plan, model_path.read_bytes(), model_path.name)
    files = dict(runtime_files(module.headers))
    files.update(module.files)
    return GeneratedModel(graph, plan, module, files)


def host_files(model: GeneratedModel, model_name: str) -> dict[str, str]:
    env = _environment()
    values = dict(version=__version__, model_name=model_name)
    files = dict(model.files)
    files["main_host.c"] = env.get_template("host/main.c.j2").render(**values)
    files["Makefile"] = env.get_template("host/Makefile.j2").render(**values)
    return files


def generate_host_project(model_path: str | Path, out_dir: str | Path) -> GeneratedModel:
    model = compile_model(model_path)
    files = host_files(model, Path(model_path).name)
    write_project(Path(out_dir), files, f"mcugen {__version__} host project for {Path(model_path).name}")
    model.files = files
    return model
