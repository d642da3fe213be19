"""The typed graph IR every later stage reads: tensors, operators, one subgraph.

The reader builds it from a .tflite file; the planner, the analysis and the code
generator only ever see this, never the flatbuffer.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

import numpy as np

class DType(enum.StrEnum):
    """A tensor's element type, as mcugen names it (equal to its plain string, so
    ``t.dtype == "int8"`` reads naturally). The reader refuses any type not listed."""

    INT8 = "int8"
    UINT8 = "uint8"
    INT16 = "int16"
    UINT16 = "uint16"
    INT32 = "int32"
    UINT32 = "uint32"
    INT64 = "int64"
    UINT64 = "uint64"
    FLOAT16 = "float16"
    FLOAT32 = "float32"
    FLOAT64 = "float64"
    BOOL = "bool"

    @property
    def numpy(self) -> type:
        return NUMPY_DTYPES[self]

    @property
    def nbytes(self) -> int:
        return DTYPE_BYTES[self]


# NumPy type of each dtype.
NUMPY_DTYPES = {
    DType.FLOAT32: np.float32,
    DType.FLOAT16: np.float16,
    DType.FLOAT64: np.float64,
    DType.INT8: np.int8,
    DType.UINT8: np.uint8,
    DType.INT16: np.int16,
    DType.UINT16: np.uint16,
    DType.INT32: np.int32,
    DType.UINT32: np.uint32,
    DType.INT64: np.int64,
    DType.UINT64: np.uint64,
    DType.BOOL: np.bool_,
}

# Byte width of each dtype.
DTYPE_BYTES = {d: np.dtype(t).itemsize for d, t in NUMPY_DTYPES.items()}

# The values an integer dtype holds (a zero point must be one of them).
INTEGER_RANGES = {d: (int(np.iinfo(t).min), int(np.iinfo(t).max))
                  for d, t in NUMPY_DTYPES.items() if np.issubdtype(t, np.integer)}


@dataclass(frozen=True)
class Quantization:
    """Affine quantization: real = scale * (q - zero_point).

    ``axis`` is None for per-tensor parameters (one scale), else the dimension
    that carries one scale per slice (per-channel).
    """

    scale: tuple[float, ...]
    zero_point: tuple[int, ...]
    axis: int | None = None

    @property
    def per_channel(self) -> bool:
        return self.axis is not None

    def to_json(self) -> dict[str, Any]:
        if self.axis is None:
            return {"scale": self.scale[0], "zero_point": self.zero_point[0]}
        return {"scale": list(self.scale), "zero_point": list(self.zero_point), "axis": self.axis}


@dataclass
class Tensor:
    index: int
    name: str
    shape: tuple[int, ...]
    dtype: DType | str  # a DType from the reader; plain strings compare equal
    quant: Quantization | None = None
    data: np.ndarray | None = None  # constant contents, already shaped and typed
    is_variable: bool = False

    @property
    def is_constant(self) -> bool:
        return self.data is not None

    @property
    def num_elements(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    @property
    def nbytes(self) -> int:
        return self.num_elements * DTYPE_BYTES[self.dtype]

    def label(self) -> str:
        return self.name or f"tensor_{self.index}"


class Options(dict):
    """An op's options as read from the model, which knows every option name its op's
    schema table has: asking for any other name (a misspelling in a lowering, which
    would otherwise silently read the default) is an error, not a default."""

    def __init__(self, values: dict[str, Any], known: frozenset[str]):
        super().__init__(values)
        self.known = known

    def _check(self, key: str) -> None:
        if self.known and key not in self.known:
            raise KeyError(f"no option '{key}' in this op's schema (it has: {', '.join(sorted(self.known))})")

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        self._check(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> Any:
        self._check(key)
        return super().__getitem__(key)


@dataclass
class Operator:
    index: int  # position in the model file (as Netron shows it), kept after folding
    op: str  # builtin name such as "CONV_2D"; custom ops read "CUSTOM:<code>"
    inputs: tuple[int, ...]  # tensor indices; -1 marks an omitted optional input
    outputs: tuple[int, ...]
    options: dict[str, Any] = field(default_factory=dict)
    # Padding before the image (top, left) given outright instead of by the SAME/VALID
    # option: a PAD folded into this layer, or one row strip of the layer run on its
    # own (mcugen/plan/). The padding after the image is wherever the input ends.
    explicit_padding: tuple[int, int] | None = None

    @property
    def is_custom(self) -> bool:
        return self.op.startswith("CUSTOM")


@dataclass
class Graph:
    """One subgraph in execution order, with the tensors it touches."""

    tensors: list[Tensor]
    operators: list[Operator]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    name: str = ""
    description: str = ""

    def tensor(self, index: int) -> Tensor:
        return self.tensors[index]

    def input_tensors(self) -> list[Tensor]:
        return [self.tensors[i] for i in self.inputs]

    def output_tensors(self) -> list[Tensor]:
        return [self.tensors[i] for i in self.outputs]

    def op_inputs(self, op: Operator) -> list[Tensor | None]:
        return [self.tensors[i] if i >= 0 else None for i in op.inputs]

    def op_outputs(self, op: Operator) -> list[Tensor]:
        return [self.tensors[i] for i in op.outputs]

    def producers(self) -> dict[int, Operator]:
        """Tensor index -> the operator that writes it."""
        return {t: op for op in self.operators for t in op.outputs}

    def consumers(self) -> dict[int, list[Operator]]:
        """Tensor index -> operators that read it, in execution order."""
        found: dict[int, list[Operator]] = {}
        for op in self.operators:
            for t in op.inputs:
                if t >= 0:
                    found.setdefault(t, []).append(op)
        return found
