"""Check that a graph read from a model means something, before anything plans it.

The reader (mcugen.tflite_reader, after mcugen.tflite_layout) already refused a
file whose bytes are out of place, unknown types, bad shapes and insane
quantization. What is left needs the whole graph: the data flow (every op reads
only tensors that exist before it runs, writes tensors nobody else writes, never
reads its own output), option values inside their domains, activations that
carry quantization, and output shapes that follow from the inputs
(mcugen.op_shapes). TensorFlow Lite Micro checks some of this and trusts the
rest; a model that fails here would make it read or write outside its buffers.

Every refusal is a ModelError: one line, exit 2.
"""

from __future__ import annotations

import numpy as np

from .errors import ModelError
from .ir import Graph, Operator
from . import op_shapes
from .ops import DETECTION_POSTPROCESS, OP_SPECS, data_inputs

_HINT = "the model is malformed: export it again from the training framework"
_PADDINGS = ("SAME", "VALID")
_ACTIVATIONS = ("NONE", "RELU", "RELU_N1_TO_1", "RELU6", "TANH", "SIGN_BIT")
# Options that size a window: each must be at least 1, and no window is this large.
# (depth_multiplier is the depthwise lowering's to judge: TFLite Micro derives it from the channels.)
_WINDOW_OPTIONS = ("stride_h", "stride_w", "dilation_hfactor", "dilation_wfactor", "filter_height",
                   "filter_width")
_MAX_WINDOW = 1 << 16
# Shapes given as options (RESHAPE's new_shape, SQUEEZE's squeeze_dims): TFLite's
# parser takes at most 8 entries.
_SHAPE_OPTIONS = ("new_shape", "squeeze_dims")
_MAX_OPTION_DIMS = 8
_QUANTIZED_TYPES = ("int8", "uint8", "int16")
_ACTIVATION_BOUNDS = {"RELU": (0.0,), "RELU6": (0.0, 6.0), "RELU_N1_TO_1": (-1.0, 1.0)}


def verify_graph(graph: Graph, origin: str) -> None:
    """Raises ModelError for the first thing in ``graph`` that cannot be right."""
    for op in graph.operators:
        _verify_arity(op, f"{origin}: layer {op.index} ({op.op})")
    _verify_data_flow(graph, origin)
    for op in graph.operators:
        where = f"{origin}: layer {op.index} ({op.op})"
        _verify_quantized(graph, op, where)
        _verify_options(op, where)
        _verify_output_shape(graph, op, where)
        _verify_activation_bounds(graph, op, where)
        if op.op == "FULLY_CONNECTED":
            _verify_bias_scale(graph, op, where)
        if op.op == DETECTION_POSTPROCESS:
            problem = op_shapes.detection_postprocess(graph, op)
            if problem is not None:
                raise ModelError(f"{where}: {problem}", _HINT)


def _verify_arity(op: Operator, where: str) -> None:
    spec = OP_SPECS.get(op.op)
    if spec is None:
        return
    for role, given, (low, high) in (("inputs", op.inputs, spec.inputs), ("outputs", op.outputs, spec.outputs)):
        if len(given) < low or (high is not None and len(given) > high):
            wanted = f"{low}" if low == high else f"{low} to {high}" if high is not None else f"at least {low}"
            raise ModelError(f"{where} has {len(given)} {role}; it takes {wanted}", _HINT)
    missing = [pos for pos in range(spec.inputs[0]) if op.inputs[pos] < 0]
    if missing:
        raise ModelError(f"{where} omits its input {missing[0]}, which it needs", _HINT)


def _verify_quantized(graph: Graph, op: Operator, where: str) -> None:
    """Integer data an op computes on carries scale and zero point (parameters such
    as shapes and paddings do not)."""
    for t in data_inputs(op) + list(op.outputs):
        tensor = graph.tensor(t)
        if tensor.dtype in _QUANTIZED_TYPES and tensor.quant is None:
            raise ModelError(f"{where}: {tensor.dtype} tensor {t} ('{tensor.label()}') has no quantization "
                             "parameters", _HINT)


def _verify_bias_scale(graph: Graph, op: Operator, where: str) -> None:
    """TFLite Micro's rule for FULLY_CONNECTED with per-tensor weights
    (GetQuantizedConvolutionMultipler): the bias scale may differ from input scale x
    weight scale by at most 2% of the output scale. Per-channel weights skip it."""
    ins = graph.op_inputs(op)
    out = graph.tensor(op.outputs[0])
    if len(ins) < 3 or ins[2] is None or any(t is None or t.quant is None for t in (ins[0], ins[1], out)):
        return
    inp, weights, bias = ins[0], ins[1], ins[2]
    if weights.quant.per_channel:  # type: ignore[union-attr]
        return
    product = inp.quant.scale[0] * weights.quant.scale[0]  # type: ignore[union-attr]
    scale = bias.quant.scale[0] if bias.quant is not None else 0.0  # TFLite reads a missing scale as 0
    if abs(product - scale) / out.quant.scale[0] > 0.02:
        raise ModelError(f"{where}: bias scale {scale:.9g} is too far from input scale x weight scale "
                         f"({product:.9g})", _HINT)


def _verify_activation_bounds(graph: Graph, op: Operator, where: str) -> None:
    """TFLite Micro's CalculateActivationRangeQuantized: a fused activation's bounds
    (0 and 6 for RELU6), quantized in float32 with the output's scale, must fit int32."""
    bounds = _ACTIVATION_BOUNDS.get(op.options.get("fused_activation_function") if "fused_activation_function"
                                    in op.options else None)
    out = graph.tensor(op.outputs[0])
    if not bounds or out.quant is None or out.quant.per_channel:
        return
    scale = np.float32(out.quant.scale[0])
    for bound in bounds:
        value = float(np.round(np.float32(bound) / scale)) + out.quant.zero_point[0]
        if not -(2**31) <= value <= 2**31 - 1:
            raise ModelError(f"{where}: its output scale {float(scale):.3g} puts the fused "
                             f"{op.options['fused_activation_function']} bound {bound} outside int32", _HINT)


def _verify_data_flow(graph: Graph, origin: str) -> None:
    n = len(graph.tensors)
    available = set(graph.inputs) | {t.index for t in graph.tensors if t.is_constant or t.is_variable}
    writer: dict[int, int] = {}
    for op in graph.operators:
        where = f"{origin}: layer {op.index} ({op.op})"
        for t in op.inputs + op.outputs:
            if t >= n:
                raise ModelError(f"{where} refers to tensor {t} but the model has {n} tensors", _HINT)
        for t in op.outputs:
            tensor = graph.tensor(t)
            if t in op.inputs:
                raise ModelError(f"{where} reads its own output, tensor {t} ('{tensor.label()}')", _HINT)
            if t in writer:
                raise ModelError(f"{where} writes tensor {t} ('{tensor.label()}'), which layer {writer[t]} "
                                 "writes too", _HINT)
            if tensor.is_constant or t in graph.inputs:
                kind = "a constant" if tensor.is_constant else "a model input"
                raise ModelError(f"{where} writes tensor {t} ('{tensor.label()}'), which is {kind}", _HINT)
        for t in op.inputs:
            if t >= 0 and t not in available:
                later = t in {o for other in graph.operators for o in other.outputs}
                why = "written only by a later layer" if later else "never written"
                raise ModelError(f"{where} reads tensor {t} ('{graph.tensor(t).label()}'), {why}", _HINT)
        for t in op.outputs:
            writer[t] = op.index
            available.add(t)
    if not graph.inputs or not graph.outputs:
        raise ModelError(f"{origin} has no model {'inputs' if not graph.inputs else 'outputs'}", _HINT)
    for t in graph.outputs:
        if t not in available:
            raise ModelError(f"{origin}: model output tensor {t} ('{graph.tensor(t).label()}') is never written",
                             _HINT)


def _verify_options(op: Operator, where: str) -> None:
    options = op.options
    if "padding" in options and options["padding"] not in _PADDINGS:
        raise ModelError(f"{where} has padding {options['padding']}, not SAME or VALID", _HINT)
    activation = options.get("fused_activation_function") if "fused_activation_function" in options else None
    if activation is not None and activation not in _ACTIVATIONS:
        raise ModelError(f"{where} has fused activation {activation}, which TensorFlow Lite does not define", _HINT)
    for name in _SHAPE_OPTIONS:
        if name in options and len(options[name]) > _MAX_OPTION_DIMS:
            raise ModelError(f"{where} has {len(options[name])} entries in {name}; TensorFlow Lite takes at most "
                             f"{_MAX_OPTION_DIMS}", _HINT)
    if op.op not in OP_SPECS:
        return
    for name in _WINDOW_OPTIONS:
        if name in options and not 1 <= int(options[name]) <= _MAX_WINDOW:
            raise ModelError(f"{where} has {name} = {options[name]}", _HINT)


def _verify_output_shape(graph: Graph, op: Operator, where: str) -> None:
    spec = OP_SPECS.get(op.op)
    if spec is None or len(op.outputs) != 1:
        return
    out = graph.tensor(op.outputs[0])
    if spec.output_shape is not None:
        expected = spec.output_shape(graph, op)
        if isinstance(expected, str):
            raise ModelError(f"{where}: {expected}", _HINT)
        if expected is not None and tuple(expected) != out.shape:
            inputs = ", ".join(str(list(graph.tensor(t).shape)) for t in op.inputs if t >= 0)
            raise ModelError(f"{where} has output shape {list(out.shape)}, but its inputs {inputs} and options "
                             f"give {list(expected)}", _HINT)
    if spec.output_elements is not None:
        expected_count = spec.output_elements(graph, op)
        if expected_count is not None and expected_count != out.num_elements:
            raise ModelError(f"{where} reshapes {expected_count} values into shape {list(out.shape)} "
                             f"({out.num_elements} values)", _HINT)
