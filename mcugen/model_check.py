"""Decide whether a graph is a fully int8-quantized model that mcugen can compile.

Fully quantized: int8 activations and weights, int32 biases, with float32 or
uint8 allowed only at the model's edges through QUANTIZE / DEQUANTIZE. Float and
hybrid (int8 weights, float activations) models are refused with the fix.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import UnsupportedModelError
from .ir import Graph
from .ops import data_inputs, spec_for
_FULL_INT8_HINT = (
    "convert it with full-integer post-training quantization: "
    "converter.optimizations=[tf.lite.Optimize.DEFAULT], a representative_dataset, "
    "target_spec.supported_ops=[tf.lite.OpsSet.TFLITE_BUILTINS_INT8]"
)


@dataclass(frozen=True)
class ModelKind:
    kind: str  # "int8", "float", "hybrid", "int16", "uint8"
    reason: str = ""


def classify(graph: Graph) -> ModelKind:
    graph_inputs, graph_outputs = set(graph.inputs), set(graph.outputs)
    for op in graph.operators:
        ins = [graph.tensor(t) for t in data_inputs(op)]
        outs = graph.op_outputs(op)
        where = f"layer {op.index} ({op.op})"
        if spec_for(op).edge:
            src, dst = ins[0], outs[0]
            if src.is_constant and src.dtype in ("float16", "float32", "int8"):
                return ModelKind(
                    "float" if src.dtype.startswith("float") else "hybrid",
                    f"{where} dequantizes constant {src.dtype} weights at run time",
                )
            # Float or uint8 on the outside is fine only at a model input or output.
            if src.dtype == "float32" and src.index not in graph_inputs:
                return ModelKind("float", f"{where} quantizes a float32 tensor inside the graph")
            if dst.dtype == "float32" and dst.index not in graph_outputs:
                return ModelKind("float", f"{where} dequantizes into a float32 tensor inside the graph")
            continue
        activations = [t for t in ins + outs if not t.is_constant]
        weights = [t for t in ins if t.is_constant]
        if any(t.dtype in ("float32", "float16") for t in activations):
            if any(t.dtype in ("int8", "uint8") for t in weights):
                return ModelKind("hybrid", f"{where} has int8 weights but float32 activations")
            return ModelKind("float", f"{where} computes in float32")
        if any(t.dtype == "int16" for t in activations):
            return ModelKind("int16", f"{where} has int16 activations (16x8 quantization)")
        if any(t.dtype == "uint8" for t in activations):
            return ModelKind("uint8", f"{where} computes on uint8 activations (TF1-style asymmetric quantization)")
        if any(t.dtype in ("float32", "float16") for t in weights):
            return ModelKind("float", f"{where} has float weights")
    return ModelKind("int8")


def require_builtin_ops(graph: Graph, origin: str) -> None:
    """Raise the one-line refusal for a model with custom operators (say, Vela's Ethos-U op)."""
    for op in graph.operators:
        if op.is_custom:
            code = op.op.split(":", 1)[1]
            hint = "mcugen compiles builtin TFLite ops only"
            if code == "ethos-u":
                hint = "this model was compiled by Vela for an Arm Ethos-U NPU; give mcugen the .tflite from before Vela"
            raise UnsupportedModelError(
                f"{origin}: layer {op.index} is the custom operator '{code}', which mcugen cannot compile", hint
            )


def require_int8(graph: Graph, origin: str) -> None:
    """Raise the one-line refusal for float, hybrid, uint8 and int16 models."""
    kind = classify(graph)
    if kind.kind == "int8":
        return
    if kind.kind == "uint8":
        raise UnsupportedModelError(
            f"{origin} is a uint8-quantized model ({kind.reason}); mcugen compiles int8 models "
            "(uint8 is fine at the edges, through QUANTIZE)", _FULL_INT8_HINT)
    if kind.kind == "int16":
        raise UnsupportedModelError(
            f"{origin} is a 16x8-quantized model ({kind.reason}); mcugen compiles int8 models", _FULL_INT8_HINT
        )
    label = "a float32 model" if kind.kind == "float" else "a hybrid model (int8 weights, float activations)"
    raise UnsupportedModelError(f"{origin} is {label}: {kind.reason}; mcugen needs a fully int8-quantized model",
                                _FULL_INT8_HINT)
