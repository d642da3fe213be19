"""Render the model module (mcugen_model.h / .c) from the lowered layers.

Deterministic: the same model gives byte-identical files (no timestamps, no
dict-order or path dependence).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import jinja2
import numpy as np

from .. import __version__
from ..ir import Graph, Tensor
from ..plan import ALIGNMENT, MemoryPlan
from ..resources import templates_dir
from ..target import PORTABLE
from .kernels import KERNELS
from .lowering import C_TYPES, ConstArray, LayerCall, c_float, c_int, lower_graph

_DTYPE_CODES = {"int8": "MCUGEN_DTYPE_INT8", "uint8": "MCUGEN_DTYPE_UINT8", "float32": "MCUGEN_DTYPE_FLOAT32",
                "int16": "MCUGEN_DTYPE_INT16", "int32": "MCUGEN_DTYPE_INT32"}
_VALUES_PER_LINE = 24


@dataclass(frozen=True)
class EdgeInfo:
    """One model input or output as the header describes it."""

    name: str
    dtype_code: str
    ctype: str
    shape: tuple[int, ...]
    nbytes: int
    scale: str
    zero_point: int
    arena_offset: int


@dataclass
class ModelModule:
    files: dict[str, str]  # file name -> text
    headers: list[str]  # runtime kernel headers the model uses
    layers: list[LayerCall]
    arrays: list[ConstArray]
    arena_bytes: int
    weights_bytes: int
    model_sha256: str
    variant: str = PORTABLE


def edge_info(t: Tensor, plan: MemoryPlan) -> EdgeInfo:
    scale = c_float(t.quant.scale[0]) if t.quant else "0.0f"
    zp = t.quant.zero_point[0] if t.quant else 0
    return EdgeInfo(t.label(), _DTYPE_CODES[t.dtype], C_TYPES[t.dtype], t.shape, t.nbytes, scale, zp,
                    plan.tensor_offsets[t.index])


def _format_values(array: ConstArray) -> list[str]:
    values = array.values
    if array.group > 1:
        items = ["{%s}" % ", ".join(c_int(int(v)) for v in values[i : i + array.group])
                 for i in range(0, len(values), array.group)]
        per_line = max(1, _VALUES_PER_LINE // (array.group * 4))
    elif values.dtype.kind == "f":
        items = [c_float(float(v)) for v in values]
        per_line = 8
    elif array.ctype == "uint32_t":  # packed int8 words: four taps each, readable as bytes
        items = ["0x%08x" % v for v in values.astype(np.int64).tolist()]
        per_line = 8
    else:
        items = [str(v) for v in values.astype(np.int64).tolist()]
        if array.ctype == "int32_t":
            items = [v if v != str(-(1 << 31)) else "INT32_MIN" for v in items]
        per_line = _VALUES_PER_LINE if array.ctype in ("int8_t", "uint8_t") else 12
    return [", ".join(items[i : i + per_line]) for i in range(0, len(items), per_line)]


def c_comment(text: str) -> str:
    return text.replace("*/", "* /")


def template_environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["c_comment"] = c_comment
    env.filters["format_values"] = _format_values
    return env


def render_model_module(graph: Graph, plan: MemoryPlan, model_bytes: bytes, model_name: str,
                        variant: str = PORTABLE, config_header: str | None = None) -> ModelModule:
    """config_header: a header mcugen_model.c includes first (a library export's place for
    the user's placement macros, for build systems that cannot pass -D flags)."""
    layers, ctx = lower_graph(graph, plan, variant)
    graph = plan.graph  # in the order the program runs
    structs = list({layer.params_name: layer for layer in layers if layer.kernel}.values())
    sha = hashlib.sha256(model_bytes).hexdigest()
    headers = sorted({layer.header for layer in layers if layer.header})
    weights_bytes = sum(a.nbytes for a in ctx.arrays)
    env = template_environment()
    values = dict(
        version=__version__,
        model_name=model_name,
        model_sha256=sha,
        description=graph.description,
        arena_bytes=max(plan.arena_bytes, ALIGNMENT),
        planned_arena_bytes=plan.arena_bytes,
        alignment=ALIGNMENT,
        inputs=[edge_info(t, plan) for t in graph.input_tensors()],
        outputs=[edge_info(t, plan) for t in graph.output_tensors()],
        layers=layers,
        structs=structs,
        layer_ops=[op.op for op in graph.operators],
        arrays=ctx.arrays,
        headers=headers,
        weights_bytes=weights_bytes,
        variant=variant,
        config_header=config_header,
        kernel_variants=sorted({layer.spec.variant for layer in layers if layer.spec}),
    )
    files = {
        "mcugen_model.h": env.get_template("model/mcugen_model.h.j2").render(**values),
        "mcugen_model.c": env.get_template("model/mcugen_model.c.j2").render(**values),
    }
    return ModelModule(files, headers, layers, ctx.arrays, plan.arena_bytes, weights_bytes, sha, variant)


def runtime_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "runtime"


def runtime_files(headers: list[str]) -> dict[str, str]:
    """The portable C runtime a model needs, copied as is: the shared header plus
    each kernel's header and source (mcugen_model.c includes exactly these)."""
    names = ["mcugen_common.h"]
    needs = {h for spec in KERNELS.values() if spec.header in headers for h in spec.needs}
    names += sorted(needs)
    for header in headers:
        names += [header, header[: -len(".h")] + ".c"]
    root = runtime_dir()
    files = {name: (root / name).read_text() for name in names if (root / name).exists()}
    # Header-only helper shared by several kernels (softmax, logistic): copied when one includes it.
    if any('#include "fixedpoint.h"' in text for text in files.values()):
        files["fixedpoint.h"] = (root / "fixedpoint.h").read_text()
    return files
