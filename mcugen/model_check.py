"""Decide whether a graph is a fully int8-quantized model that mcugen can compile.

Fully quantized: int8 activations and weights, int32 biases, with float32 or
uint8 allowed only at the model's edges through QUANTIZE / DEQUANTIZE. Float and
hybrid (int8 weights, float activations) models are refused with the fix.

One exception: SSD detectors end in the custom op TFLite_Detection_PostProcess, which
computes in float32 (as TFLite Micro's kernel does). Its box and score inputs come
from DEQUANTIZE ops inside the graph, its anchors are a float32 constant and its
float32 outputs are model outputs; float anywhere else is refused as before.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import UnsupportedModelError
from .ir import Graph, Operator
from .ops import DETECTION_POSTPROCESS, data_inputs, spec_for
_FULL_INT8_HINT = (
    "convert it with full-integer post-training quantization: "
    "converter.optimizations=[tf.lite.Optimize.DEFAULT], a representative_dataset, "
    "target_spec.supported_ops=[tf.lite.OpsSet.TFLITE_BUILTINS_INT8]"
)


@dataclass(frozen=True)
class ModelKind:
    kind: str  # "int8", "float", "hybrid", "int16", "uint8"
    reason: str = ""


def _feeds_detection_only(graph: Graph, tensor: int) -> bool:
    """The float32 tensor is read by TFLite_Detection_PostProcess only (as its boxes or scores)."""
    readers = graph.consumers().get(tensor, [])
    return bool(readers) and all(op.op == DETECTION_POSTPROCESS and tensor in op.inputs[:2] for op in readers)


def classify(graph: Graph) -> ModelKind:
    graph_inputs, graph_outputs = set(graph.inputs), set(graph.outputs)
    for op in graph.operators:
        if op.op == DETECTION_POSTPROCESS:
            continue  # float32 by definition; require_builtin_ops checked its tensors
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
            if dst.dtype == "float32" and dst.index not in graph_outputs and not (
                    op.op == "DEQUANTIZE" and _feeds_detection_only(graph, dst.index)):
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
        if op.op == DETECTION_POSTPROCESS:
            _require_float_detection(graph, op, origin)
            continue
        if op.is_custom:
            code = op.op.split(":", 1)[1]
            hint = "mcugen compiles builtin TFLite ops only"
            if code == "ethos-u":
                hint = "this model was compiled by Vela for an Arm Ethos-U NPU; give mcugen the .tflite from before Vela"
            raise UnsupportedModelError(
                f"{origin}: layer {op.index} is the custom operator '{code}', which mcugen cannot compile", hint
            )


def _require_float_detection(graph: Graph, op: Operator, origin: str) -> None:
    """TFLite Micro's TFLite_Detection_PostProcess decodes float32 boxes and scores only
    (an int8 one fails its Eval), with the anchors mcugen bakes in as a constant."""
    where = f"{origin}: layer {op.index} (TFLite_Detection_PostProcess)"
    for pos, role in ((0, "box encodings"), (1, "class scores")):
        t = graph.tensor(op.inputs[pos]) if pos < len(op.inputs) and op.inputs[pos] >= 0 else None
        if t is not None and t.dtype != "float32":
            raise UnsupportedModelError(
                f"{where} reads {t.dtype} {role}; TensorFlow Lite Micro's kernel, which mcugen matches, takes "
                "float32 only", "convert the model with TF2's converter, which dequantizes them before the op")
        if t is not None and (t.is_constant or t.index in graph.inputs):
            source = "constant" if t.is_constant else "model input"
            raise UnsupportedModelError(f"{where} reads its {role} from a {source}",
                                        "mcugen compiles the op after a quantized detector's box and score heads")
    anchors = graph.tensor(op.inputs[2]) if len(op.inputs) > 2 and op.inputs[2] >= 0 else None
    if anchors is not None and not (anchors.is_constant and anchors.dtype == "float32"):
        raise UnsupportedModelError(f"{where} reads anchors that are not a float32 constant "
                                    f"({anchors.dtype}{'' if anchors.is_constant else ', computed at run time'})",
                                    "mcugen bakes the anchors in: export them as a float32 constant")


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
