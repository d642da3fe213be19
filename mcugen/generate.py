"""Model -> C: lower, plan and render a model into a project folder for a target."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import __version__
from .codegen.emit import ModelModule, template_environment, render_model_module, runtime_files
from .detection import DetectionHead, DetectRequest, detection_head
from .ir import Graph
from .loader import load_model
from .codegen.lowering import plan_for
from .plan import MemoryPlan
from .project import write_project
from .target import AUTO, HOST, Target

HOST_TARGET = "host"


@dataclass
class GeneratedModel:
    graph: Graph
    plan: MemoryPlan
    module: ModelModule
    files: dict[str, str]

    @property
    def variant(self) -> str:
        return self.module.variant

    @property
    def detection(self) -> DetectionHead | None:
        return self.module.detection


def compile_model(model_path: str | Path, target: Target = HOST, kernels: str = AUTO,
                  memory: str = AUTO, arena_budget: int | None = None,
                  config_header: str | None = None, detect: DetectRequest | None = None) -> GeneratedModel:
    """Everything up to the C text, in memory; raises before anything is written.

    kernels: `auto` (the target's fastest variant: arm-dsp where the core has the DSP
    extension), `portable` or `arm-dsp` (which the host runs through portable C).
    memory: the memory strategy (mcugen/plan/): `fast`, `small`, or `auto` (fast when
    its arena fits arena_budget bytes, the board's RAM; else small).
    detect: the detection head mcugen_model_boxes() runs (mcugen/detection.py); None is
    `auto`: the SSD head when the model ends in TFLite_Detection_PostProcess, else none."""
    model_path = Path(model_path)
    variant = target.variant(kernels)
    graph = load_model(model_path)
    head = detection_head(graph, detect)  # refuses a head the outputs do not fit before any planning
    plan = plan_for(graph, variant, memory, arena_budget)
    module = render_model_module(graph, plan, model_path.read_bytes(), model_path.name, variant, config_header,
                                 head)
    files = dict(runtime_files(module.headers))
    files.update(module.files)
    return GeneratedModel(graph, plan, module, files)


def host_files(model: GeneratedModel, model_name: str) -> dict[str, str]:
    env = template_environment()
    values = dict(version=__version__, model_name=model_name)
    files = dict(model.files)
    files["main_host.c"] = env.get_template("host/main.c.j2").render(**values)
    files["Makefile"] = env.get_template("host/Makefile.j2").render(**values)
    return files


def generate_host_project(model_path: str | Path, out_dir: str | Path, kernels: str = AUTO,
                          memory: str = AUTO, detect: DetectRequest | None = None) -> GeneratedModel:
    model = compile_model(model_path, HOST, kernels, memory, detect=detect)
    files = host_files(model, Path(model_path).name)
    write_project(Path(out_dir), files, f"mcugen {__version__} host project for {Path(model_path).name}")
    model.files = files
    return model
