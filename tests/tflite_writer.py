"""A small TFLite flatbuffer writer for tests: models the converter does not readily emit.

Tensors and operators are plain dataclasses; `write_model` lays them out with the
builder functions the PyPI ``tflite`` package generates from the TFLite schema,
so no field slot or enum value is spelled out by hand here. Only what the tests
need: one subgraph, builtin ops, per-tensor or per-channel affine quantization.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import flatbuffers
import numpy as np
import tflite

# Ops whose options table is not named after the op itself (the rest are found by
# name: CONV_2D -> Conv2DOptions, PADV2 -> PadV2Options, ...).
OPTIONS_TABLES = {
    "AVERAGE_POOL_2D": "Pool2DOptions", "MAX_POOL_2D": "Pool2DOptions", "L2_POOL_2D": "Pool2DOptions",
    "MEAN": "ReducerOptions", "SUM": "ReducerOptions", "REDUCE_MAX": "ReducerOptions",
    "REDUCE_MIN": "ReducerOptions", "REDUCE_PROD": "ReducerOptions", "REDUCE_ANY": "ReducerOptions",
}
# Option fields holding a schema enum: given by name ("SAME", "RELU6") in an options dict.
ENUM_FIELDS = {"padding": tflite.Padding, "fused_activation_function": tflite.ActivationFunctionType}
_TABLE_BY_KEY = {name.lower(): name for name in vars(tflite.BuiltinOptions) if name.endswith("Options")}


@dataclass
class Tensor:
    """One tensor. ``scale`` None: no quantization table; a sequence: per-channel along ``axis``."""

    shape: tuple[int, ...]
    dtype: str = "int8"  # numpy-style name: int8, uint8, int16, int32, int64, float32
    scale: float | Sequence[float] | None = None
    zero_point: int | Sequence[int] = 0
    data: Any = None  # constant contents (array-like, cast to dtype); None: an activation
    axis: int = 0  # quantized_dimension of per-channel scales
    name: str | None = None  # default t<index>


@dataclass
class Operator:
    """A builtin op. ``inputs``/``outputs`` index the tensor list, -1 an omitted optional input.
    ``options``: snake_case schema fields (``stride_w``, ``keep_dims``), or None for no options table."""

    op: str
    inputs: Sequence[int]
    outputs: Sequence[int]
    options: dict[str, Any] | None = None


def options_table(op: str) -> str:
    table = OPTIONS_TABLES.get(op) or _TABLE_BY_KEY.get(op.replace("_", "").lower() + "options")
    if table is None:
        raise KeyError(f"no options table known for {op}")
    return table


def _camel(field: str) -> str:
    return "".join(part.capitalize() for part in field.split("_"))


def _options(b: flatbuffers.Builder, table: str, options: dict[str, Any]) -> int:
    # Vectors must be finished before the table starts (flatbuffers forbids nesting).
    values = {key: b.CreateNumpyVector(np.asarray(v, dtype=np.int32)) if isinstance(v, (list, tuple)) else v
              for key, v in options.items()}
    getattr(tflite, f"{table}Start")(b)
    for key, value in values.items():
        add = getattr(tflite, f"{table}Add{_camel(key)}", None)
        if add is None:
            raise KeyError(f"{table} has no field {key}")
        if key in ENUM_FIELDS and isinstance(value, str):
            value = getattr(ENUM_FIELDS[key], value)
        add(b, value)
    return getattr(tflite, f"{table}End")(b)


def _quantization(b: flatbuffers.Builder, t: Tensor) -> int:
    scales = np.atleast_1d(np.asarray(t.scale, dtype=np.float32))
    zero_points = np.atleast_1d(np.asarray(t.zero_point, dtype=np.int64))
    if zero_points.size == 1 and scales.size > 1:  # TFLite Micro wants one zero point per scale
        zero_points = np.repeat(zero_points, scales.size)
    scale_vec, zp_vec = b.CreateNumpyVector(scales), b.CreateNumpyVector(zero_points)
    tflite.QuantizationParametersStart(b)
    tflite.QuantizationParametersAddScale(b, scale_vec)
    tflite.QuantizationParametersAddZeroPoint(b, zp_vec)
    tflite.QuantizationParametersAddQuantizedDimension(b, t.axis)
    return tflite.QuantizationParametersEnd(b)


def _tensor(b: flatbuffers.Builder, t: Tensor, index: int, buffer: int) -> int:
    name = b.CreateString(t.name if t.name is not None else f"t{index}")
    shape = b.CreateNumpyVector(np.asarray(t.shape, dtype=np.int32))
    quant = _quantization(b, t) if t.scale is not None else None
    tflite.TensorStart(b)
    tflite.TensorAddShape(b, shape)
    tflite.TensorAddType(b, getattr(tflite.TensorType, t.dtype.upper()))
    tflite.TensorAddBuffer(b, buffer)
    tflite.TensorAddName(b, name)
    if quant is not None:
        tflite.TensorAddQuantization(b, quant)
    return tflite.TensorEnd(b)


def _buffer(b: flatbuffers.Builder, t: Tensor | None) -> int:
    data = None
    if t is not None:
        values = np.asarray(t.data, dtype=np.dtype(t.dtype).newbyteorder("<"))  # the schema is little-endian
        if values.size != int(np.prod(t.shape)):
            raise ValueError(f"constant of shape {t.shape} given {values.size} values")
        payload = values.tobytes()
        b.Prep(16, len(payload))  # start the data 16-aligned, as the converter does, so no read is misaligned
        data = b.CreateByteVector(payload)
    tflite.BufferStart(b)
    if data is not None:
        tflite.BufferAddData(b, data)
    return tflite.BufferEnd(b)


def _offsets(b: flatbuffers.Builder, offsets: list[int]) -> int:
    b.StartVector(4, len(offsets), 4)
    for off in reversed(offsets):
        b.PrependUOffsetTRelative(off)
    return b.EndVector()


def _ints(b: flatbuffers.Builder, values: Sequence[int]) -> int:
    return b.CreateNumpyVector(np.asarray(values, dtype=np.int32))


def write_model(path: Path, tensors: Sequence[Tensor], operators: Sequence[Operator], inputs: Sequence[int],
                outputs: Sequence[int], description: str | None = None) -> Path:
    """Write a one-subgraph model to ``path`` and return it."""
    b = flatbuffers.Builder(1024)
    constants = [i for i, t in enumerate(tensors) if t.data is not None]
    # Buffer 0 is the schema's empty sentinel that every non-constant tensor points at.
    buffers = [_buffer(b, None)] + [_buffer(b, tensors[i]) for i in constants]
    buffer_of = {i: k + 1 for k, i in enumerate(constants)}
    tensor_tables = [_tensor(b, t, i, buffer_of.get(i, 0)) for i, t in enumerate(tensors)]
    codes = list(dict.fromkeys(op.op for op in operators))  # one OperatorCode per distinct op
    operator_tables = []
    for op in operators:
        table = options_table(op.op) if op.options is not None else None
        options = _options(b, table, op.options) if table else None
        op_inputs, op_outputs = _ints(b, op.inputs), _ints(b, op.outputs)
        tflite.OperatorStart(b)
        tflite.OperatorAddOpcodeIndex(b, codes.index(op.op))
        tflite.OperatorAddInputs(b, op_inputs)
        tflite.OperatorAddOutputs(b, op_outputs)
        if table:
            tflite.OperatorAddBuiltinOptionsType(b, getattr(tflite.BuiltinOptions, table))
            tflite.OperatorAddBuiltinOptions(b, options)
        operator_tables.append(tflite.OperatorEnd(b))
    tensors_vec, operators_vec = _offsets(b, tensor_tables), _offsets(b, operator_tables)
    graph_inputs, graph_outputs = _ints(b, inputs), _ints(b, outputs)
    tflite.SubGraphStart(b)
    tflite.SubGraphAddTensors(b, tensors_vec)
    tflite.SubGraphAddInputs(b, graph_inputs)
    tflite.SubGraphAddOutputs(b, graph_outputs)
    tflite.SubGraphAddOperators(b, operators_vec)
    subgraph = tflite.SubGraphEnd(b)
    opcode_tables = []
    for name in codes:
        code = getattr(tflite.BuiltinOperator, name)
        tflite.OperatorCodeStart(b)
        # Readers before builtin_code existed look only at this byte-sized field.
        tflite.OperatorCodeAddDeprecatedBuiltinCode(
            b, min(code, tflite.BuiltinOperator.PLACEHOLDER_FOR_GREATER_OP_CODES))
        tflite.OperatorCodeAddBuiltinCode(b, code)
        tflite.OperatorCodeAddVersion(b, 1)
        opcode_tables.append(tflite.OperatorCodeEnd(b))
    opcodes, subgraphs, buffers_vec = _offsets(b, opcode_tables), _offsets(b, [subgraph]), _offsets(b, buffers)
    text = b.CreateString(description) if description is not None else None
    tflite.ModelStart(b)
    tflite.ModelAddVersion(b, 3)  # the current schema version, which TFLite Micro checks
    tflite.ModelAddOperatorCodes(b, opcodes)
    tflite.ModelAddSubgraphs(b, subgraphs)
    if text is not None:
        tflite.ModelAddDescription(b, text)
    tflite.ModelAddBuffers(b, buffers_vec)
    b.Finish(tflite.ModelEnd(b), file_identifier=b"TFL3")
    path.write_bytes(bytes(b.Output()))
    return path


def write_op_model(path: Path, op: str, inputs: Sequence[Tensor | None], outputs: Sequence[Tensor],
                   options: dict[str, Any] | None = None, description: str | None = None) -> Path:
    """A model of one operator: tensors numbered inputs then outputs, a None input
    written as -1 (omitted), every non-constant input a model input."""
    tensors: list[Tensor] = []
    op_inputs = []
    for t in inputs:
        op_inputs.append(-1 if t is None else len(tensors))
        if t is not None:
            tensors.append(t)
    graph_inputs = [i for i, t in enumerate(tensors) if t.data is None]
    op_outputs = list(range(len(tensors), len(tensors) + len(outputs)))
    return write_model(path, tensors + list(outputs), [Operator(op, op_inputs, op_outputs, options)], graph_inputs,
                       op_outputs, description)
