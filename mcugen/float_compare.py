"""`mcugen validate --float FLOAT_MODEL`: how far the int8 model's outputs are from its
float original's, beyond bit-exactness with the reference.

Inputs. Both models see the same values: the int8 model its int8 (or uint8) input q,
the float model that input's real value scale * (q - zero_point). This is the only
direction that is right for the inputs validate has: random int8 vectors and given
int8 vectors have no float original to quantize from, and dequantizing is exact (every
int8 value is a representable float), so any difference at the outputs is the model's
quantization, none of it the inputs'. An int8 model with float32 inputs (a QUANTIZE at
its edge) gets the same float32 values as the float model.

Outputs. The int8 outputs are dequantized by their scale and zero point, float32 ones
taken as they are, and compared with the float model's per output, over all inputs.

Metrics. Those of ST Edge AI Core's `validate` ("Evaluation report and metrics":
stedgeai-dc.st.com/assets/embedded-docs/evaluation_metrics.html), with P the
predictions compared (here: the generated C's dequantized outputs) and R the
reference's (the float model's), each output's values over every input flattened
into one vector of n values:
  RMSE = sqrt(sum((P - R)^2) / n)
  MAE  = sum(|P - R|) / n
  L2r  = ||P - R||_2 / ||R||_2     (the relative L2 error; undefined when R is all zero)
  COS  = <P, R> / (||P||_2 ||R||_2) (cosine similarity; undefined when either is zero)
ST's ACC scores against labels; without labels, top-1 agreement counts the inputs on
which both models pick the same class, for an output that is one vector of class
scores (its leading 1s dropped, at least two values), n/a for any other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import McugenError
from .ir import Graph, Tensor


class FloatModelError(McugenError):
    """The --float model cannot be the int8 model's float original."""


@dataclass
class FloatMetrics:
    """One output of the int8 model against the same output of its float original."""

    index: int
    name: str
    values: int  # compared, over all inputs
    rmse: float
    mae: float
    l2r: float | None  # None: the float output is all zeros
    cos: float | None  # None: either output is all zeros
    max_abs_diff: float
    top1_agree: int | None = None  # None: not a class vector
    top1_inputs: int = 0
    # Inputs whose int8 scores tie for the top (argmax then takes the first class, as a device
    # would): agreement there says more about the output's coarse grid than about the model.
    top1_ties: int = 0

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class FloatReport:
    float_model: str
    inputs: int
    outputs: list[FloatMetrics] = field(default_factory=list)
    feed: str = ""  # how the float model's inputs were made

    def to_json(self) -> dict[str, Any]:
        return {"float_model": self.float_model, "inputs": self.inputs, "feed": self.feed,
                "outputs": [o.to_json() for o in self.outputs]}


def load_float_model(path: Path, int8: Graph) -> Graph:
    """Read and check the float original: a float model, with the int8 model's inputs
    and outputs (count and shapes, in order). Refuses with one line and the fix."""
    from .model_check import classify
    from .model_verify import verify_graph
    from .tflite_reader import read_tflite

    path = Path(path)
    if not path.exists():
        raise FloatModelError(f"float model not found: {path}", "give --float the float .tflite the int8 model was "
                                                                "converted from")
    origin = path.name
    try:
        graph = read_tflite(path)  # refuses a folder or a file that is not a model, in one line
    except McugenError as exc:
        raise FloatModelError(f"--float: {exc.message}", exc.hint) from None
    # Before the verifier, as the loader does: a custom op's tensors follow its own rules.
    custom = next((op for op in graph.operators if op.is_custom), None)
    if custom is not None:
        raise FloatModelError(f"--float {origin}: layer {custom.index} is the custom operator "
                              f"'{custom.op.split(':', 1)[1]}', which is no float original",
                              "give --float the .tflite the converter wrote before quantization")
    try:
        verify_graph(graph, origin)
    except McugenError as exc:
        raise FloatModelError(f"--float: {exc.message}", exc.hint) from None
    kind = classify(graph)
    edges = graph.input_tensors() + graph.output_tensors()
    not_float = [t for t in edges if t.dtype != "float32"]
    if kind.kind != "float" or not_float:
        what = {"int8": "an int8-quantized model", "hybrid": "a hybrid model (int8 weights, float activations)",
                "uint8": "a uint8-quantized model", "int16": "a 16x8-quantized model"}.get(kind.kind, "not a float model")
        if kind.kind == "float":
            t = not_float[0]
            what = f"not a float model at its edges (its {_edge_name(graph, t)} is {t.dtype})"
        raise FloatModelError(f"--float {origin} is {what}; it must be the float32 model the int8 model was made "
                              "from", "give --float the .tflite the converter wrote before quantization "
                                      "(float32 inputs, weights and outputs)")
    for kind_name, mine, theirs in (("input", int8.input_tensors(), graph.input_tensors()),
                                    ("output", int8.output_tensors(), graph.output_tensors())):
        if len(mine) != len(theirs):
            raise FloatModelError(f"--float {origin} has {len(theirs)} {kind_name}(s) but the int8 model has "
                                  f"{len(mine)}", "give the float model this int8 model was converted from")
        for i, (a, b) in enumerate(zip(mine, theirs)):
            if tuple(a.shape) != tuple(b.shape):
                raise FloatModelError(f"--float {origin}: {kind_name} {i} ({b.label()}) has shape {list(b.shape)} "
                                      f"but the int8 model's ({a.label()}) is {list(a.shape)}",
                                      "give the float model this int8 model was converted from")
    for t in int8.input_tensors() + int8.output_tensors():
        if t.dtype != "float32" and t.quant is None:
            raise FloatModelError(f"{t.label()} of the int8 model has no scale and zero point, so its values mean "
                                  "nothing in float", "compare a model whose inputs and outputs are quantized")
    return graph


def _edge_name(graph: Graph, t: Tensor) -> str:
    if t.index in graph.inputs:
        return f"input {graph.inputs.index(t.index)} ({t.label()})"
    return f"output {graph.outputs.index(t.index)} ({t.label()})"


def dequantize(x: np.ndarray, t: Tensor) -> np.ndarray:
    """Real values of an int8 model's tensor: scale * (q - zero_point); float32 as it is."""
    if t.dtype == "float32":
        return np.asarray(x, dtype=np.float32)
    assert t.quant is not None
    scale, zp = float(t.quant.scale[0]), int(t.quant.zero_point[0])
    return (scale * (np.asarray(x).astype(np.float64) - zp)).astype(np.float32)


def float_inputs(input_sets: list[list[np.ndarray]], inputs: list[Tensor]) -> list[list[np.ndarray]]:
    return [[dequantize(x, t).reshape(t.shape) for x, t in zip(one, inputs)] for one in input_sets]


def feed_note(inputs: list[Tensor]) -> str:
    parts = []
    for t in inputs:
        if t.dtype == "float32":
            parts.append(f"{t.label()}: the same float32 values")
        else:
            assert t.quant is not None
            zp = int(t.quant.zero_point[0])
            offset = f"q - {zp}" if zp >= 0 else f"q + {-zp}"
            parts.append(f"{t.label()}: {t.quant.scale[0]:.6g} * ({offset})")
    return "float model fed the int8 inputs' real values (" + "; ".join(parts) + ")"


def is_class_vector(t: Tensor) -> bool:
    dims = list(t.shape)
    while len(dims) > 1 and dims[0] == 1:
        dims.pop(0)
    return len(dims) == 1 and dims[0] >= 2


def output_metrics(index: int, t: Tensor, predicted: list[np.ndarray], reference: list[np.ndarray]) -> FloatMetrics:
    """predicted: the int8 model's dequantized output per input; reference: the float model's."""
    p = np.concatenate([np.asarray(x, np.float64).reshape(-1) for x in predicted])
    r = np.concatenate([np.asarray(x, np.float64).reshape(-1) for x in reference])
    d = p - r
    n = d.size
    norm_p, norm_r, norm_d = (float(np.sqrt(np.sum(v * v))) for v in (p, r, d))
    top1 = None
    ties = 0
    if is_class_vector(t):
        top1 = sum(int(np.argmax(np.asarray(a).reshape(-1)) == np.argmax(np.asarray(b).reshape(-1)))
                   for a, b in zip(predicted, reference))
        ties = sum(int(np.count_nonzero(np.asarray(a).reshape(-1) == np.max(a)) > 1) for a in predicted)
    return FloatMetrics(
        index=index, name=t.label(), values=n,
        rmse=math.sqrt(float(np.sum(d * d)) / n) if n else 0.0,
        mae=float(np.sum(np.abs(d))) / n if n else 0.0,
        l2r=norm_d / norm_r if norm_r > 0 else None,
        cos=float(np.dot(p, r)) / (norm_p * norm_r) if norm_p > 0 and norm_r > 0 else None,
        max_abs_diff=float(np.max(np.abs(d))) if n else 0.0,
        top1_agree=top1, top1_inputs=len(predicted) if top1 is not None else 0, top1_ties=ties)


def compare_with_float(float_path: Path, graph: Graph, input_sets: list[list[np.ndarray]],
                       int8_outputs: list[list[np.ndarray]]) -> FloatReport:
    """Run the float model (the tflite-micro interpreter runs float32 kernels too) on
    the int8 inputs' real values and score the int8 outputs against its outputs."""
    from .reference import TflmInterpreter

    inputs, outputs = graph.input_tensors(), graph.output_tensors()
    fed = float_inputs(input_sets, inputs)
    with TflmInterpreter(float_path) as reference:
        floats = [reference.run(one, len(outputs)) for one in fed]
    report = FloatReport(Path(float_path).name, len(input_sets), feed=feed_note(inputs))
    for i, t in enumerate(outputs):
        predicted = [dequantize(one[i], t) for one in int8_outputs]
        ref = [np.asarray(one[i], np.float32).reshape(t.shape) for one in floats]
        report.outputs.append(output_metrics(i, t, predicted, ref))
    return report
