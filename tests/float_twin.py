"""The float "twin" of a real int8 model, for tests of `mcugen validate --float`.

../shared has real int8 models but none of their float originals (and TensorFlow is
not installed here to make them), so `write_float_twin` builds one from the int8
model itself: the same graph, read with mcugen's own reader (mcugen.loader.load_model),
written back with tests/tflite_writer.py, with

- every int8/uint8 activation tensor float32, without quantization;
- every quantized constant dequantized, w_real = scale[c] * (q - zero_point[c]), per
  channel along its quantized axis (conv weights axis 0, depthwise axis 3), int32
  biases with their own scales (input scale x weight scale, per channel);
- integer constants without quantization (RESHAPE shapes, MEAN axes) kept as they are;
- the same ops in the same order, with the same options, shapes and tensor names,
  except QUANTIZE and DEQUANTIZE, which are dropped: between float tensors they are
  identities (an int8 model's edge conversions, uint8 <-> int8 or float <-> int8, and
  any requantization in the middle). The tensor kept is the graph's own input or
  output tensor, so the twin's inputs and outputs have the int8 model's names and
  shapes. What the loader folds ahead of time (constant shape arithmetic such as
  SHAPE -> STRIDED_SLICE -> PACK) is folded in the twin too: its result is a constant.

What the twin is, and is not. It is exactly the float model the int8 model would be
if its only error were activation quantization: its weights and biases are the int8
model's, to the last bit of their real values, so the int8 model's weight quantization
is no error against it. What remains between the two is the rounding of every
activation to its int8 grid, the saturation of every activation at its tensor's int8
range (the twin saturates only where an op's fused activation says so), and the
fixed-point arithmetic of the int8 kernels (requantization, softmax's tables). It is
NOT the user's float original, from which the int8 model also differs by the rounding
of its weights (and biases), so figures measured against the twin are usually smaller
than they would be against the real original. It makes the metrics meaningful
on real graphs: they must be small but not zero, and a twin that is wrong on purpose
(`scale_weights`) must score clearly worse.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import tflite

from mcugen.ir import Graph
from mcugen.ir import Tensor as IrTensor
from mcugen.loader import load_model

from tflite_writer import Operator, Tensor, options_table, write_model

# Ops whose int8 form is a conversion between two representations of the same real
# values: in float, an identity, so the twin drops them.
IDENTITY_IN_FLOAT = frozenset({"QUANTIZE", "DEQUANTIZE"})
# Integer activation types that are quantized values, which become float32.
QUANTIZED_ACTIVATIONS = frozenset({"int8", "uint8", "int16"})


def dequantize_constant(t: IrTensor) -> np.ndarray:
    """A quantized constant's real values, per channel along its quantized axis."""
    assert t.data is not None and t.quant is not None
    q = t.data.astype(np.float64)
    scale = np.asarray(t.quant.scale, np.float64)
    zero = np.asarray(t.quant.zero_point, np.float64)
    if t.quant.axis is not None:
        # One scale per slice of the axis: broadcast along it.
        shape = [1] * q.ndim
        shape[t.quant.axis] = scale.size
        scale, zero = scale.reshape(shape), zero.reshape(shape)
    return (scale * (q - zero)).astype(np.float32)


def _option_key(table: str, key: str) -> str:
    """The reader's option name as tflite_writer spells it. The reader snake-cases the
    schema's accessors with a regex that leaves runs of capitals together
    (DilationHFactor -> dilation_hfactor); the writer capitalizes each part back
    (dilation_h_factor -> DilationHFactor). The schema's own accessor decides."""
    prefix = f"{table}Add"
    wanted = key.replace("_", "").lower()
    for attr in vars(tflite).keys():
        if attr.startswith(prefix) and attr[len(prefix):].lower() == wanted:
            return re.sub(r"(?<!^)([A-Z])", r"_\1", attr[len(prefix):]).lower()
    raise KeyError(f"{table} has no field {key}")


def _options(op: str, options: dict) -> dict | None:
    if not options:
        return None  # the op has no options table (or an empty one): write none
    table = options_table(op)
    return {_option_key(table, k): v for k, v in dict(options).items()}


def _aliases(graph: Graph) -> dict[int, int]:
    """Tensor -> the tensor that replaces it once the identity ops are dropped.

    Dropping x -> QUANTIZE -> y: readers of y read x instead, unless y is a graph
    output, in which case x's producer writes y (so the output keeps its name)."""
    rep: dict[int, int] = {}

    def resolve(i: int) -> int:
        while i in rep:
            i = rep[i]
        return i

    for op in graph.operators:
        if op.op not in IDENTITY_IN_FLOAT:
            continue
        src, dst = resolve(op.inputs[0]), op.outputs[0]
        if dst in graph.outputs:
            if src in graph.inputs:
                raise ValueError(f"layer {op.index} ({op.op}) joins a model input straight to a model output: "
                                 "its float twin would have no op at all")
            rep[src] = dst
        else:
            rep[dst] = src
    return {i: resolve(i) for i in range(len(graph.tensors))}


def _twin_tensor(t: IrTensor, scale: float = 1.0) -> Tensor:
    name = t.name  # "" stays "": unnamed tensors stay unnamed
    if t.is_constant:
        if t.quant is not None:
            return Tensor(t.shape, "float32", data=dequantize_constant(t) * np.float32(scale), name=name)
        if scale != 1.0:
            raise ValueError(f"{t.label()} is not quantized weights; cannot scale it")
        return Tensor(t.shape, str(t.dtype), data=t.data, name=name)
    if str(t.dtype) in QUANTIZED_ACTIVATIONS:
        if t.quant is None:
            raise ValueError(f"activation {t.label()} is {t.dtype} without a scale: no real value to make float")
        return Tensor(t.shape, "float32", name=name)
    return Tensor(t.shape, str(t.dtype), name=name)  # float32 edges, int32 indices: as they are


def weighted_layers(graph: Graph) -> list[int]:
    """The layers (file indices) whose input 1 is quantized constant weights: those
    `write_float_twin`'s scale_weights can scale."""
    found = []
    for op in graph.operators:
        weights = graph.tensor(op.inputs[1]) if len(op.inputs) > 1 and op.inputs[1] >= 0 else None
        if op.op not in IDENTITY_IN_FLOAT and weights is not None and weights.is_constant and weights.quant:
            found.append(op.index)
    return found


def write_float_twin(int8_model: str | Path, path: Path, scale_weights: dict[int, float] | None = None) -> Path:
    """Write the float twin of ``int8_model`` to ``path`` and return ``path``.

    scale_weights: layer (its index in the model file, as Netron and mcugen number it)
    -> a factor for that layer's weights (its input 1) in the twin: a twin that is
    wrong on purpose, for tests that must be able to fail."""
    graph = load_model(int8_model)
    scale_weights = dict(scale_weights or {})
    padded = [op.index for op in graph.operators if op.explicit_padding is not None]
    if padded:
        raise ValueError(f"layer {padded[0]} has padding the loader folded in; the twin's writer cannot express it")
    alias = _aliases(graph)
    kept_ops = [op for op in graph.operators if op.op not in IDENTITY_IN_FLOAT]
    weighted = weighted_layers(graph)
    unknown = sorted(set(scale_weights) - set(weighted))
    if unknown:
        raise ValueError(f"{Path(int8_model).name} has no layer {unknown[0]} with quantized weights "
                         f"(those with: {weighted})")
    scaled = {op.inputs[1]: scale_weights[op.index] for op in kept_ops if op.index in scale_weights}

    # The tensors the twin uses, in the int8 model's order, renumbered densely.
    inputs = [alias[i] for i in graph.inputs]
    outputs = [alias[i] for i in graph.outputs]
    used = set(inputs) | set(outputs)
    for op in kept_ops:
        used.update(alias[i] for i in op.inputs if i >= 0)
        used.update(alias[i] for i in op.outputs)
    order = sorted(used)
    number = {old: new for new, old in enumerate(order)}

    def renumber(i: int) -> int:
        return -1 if i < 0 else number[alias[i]]

    tensors = [_twin_tensor(graph.tensor(i), scaled.get(i, 1.0)) for i in order]
    ops = [Operator(op.op, [renumber(i) for i in op.inputs], [renumber(i) for i in op.outputs],
                    _options(op.op, op.options)) for op in kept_ops]
    dropped = len(graph.operators) - len(kept_ops)
    note = f"float twin of {Path(int8_model).name} (tests/float_twin.py; {dropped} QUANTIZE/DEQUANTIZE dropped)"
    return write_model(Path(path), tensors, ops, [number[i] for i in inputs], [number[i] for i in outputs], note)
