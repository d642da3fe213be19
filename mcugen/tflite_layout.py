"""Check a .tflite file's flatbuffer layout before anything reads it.

The flatbuffers runtime reads wherever an offset points: Python's struct wraps a
negative position round to the end of the file, and a vector that runs past the
end reads whatever bytes are there or fails deep inside numpy. So a corrupted
offset gives wrong values, not an error. This walks every table, vector and string
of the TFLite schema that mcugen or TensorFlow Lite Micro reads, as flatbuffers'
own Verifier does: every offset and length inside the file, offsets positive and
aligned, vtables well formed, strings terminated, a bound on depth and on the
number of objects (a crafted file cannot make it walk for long), and the file no
shorter than the objects it describes.

Only the layout is checked here; what the values mean (indices, types, shapes,
quantization) is mcugen.model_verify's job, on the graph the reader builds.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import NoReturn

import tflite

from .errors import ModelError

_FIX = "the file is damaged: export the model again or copy it again"
MAX_DEPTH = 64  # flatbuffers' Verifier default
MAX_OBJECTS = 1_000_000  # likewise: tables, vectors and strings in one file
_MAX_OFFSET = 0x7FFF_FFFF  # flatbuffers offsets are positive 32-bit signed values


@dataclass(frozen=True)
class Field:
    """One field of a table, at slot ``index`` of its vtable."""

    index: int
    name: str
    kind: str  # "scalar", "string", "table", "vector" (of scalars), "tables", "union"
    size: int = 0  # bytes of the scalar, or of each vector element
    table: str = ""  # schema name of the table(s); "" for a table only checked as a table


def _scalar(index: int, name: str, size: int) -> Field:
    return Field(index, name, "scalar", size)


def _vector(index: int, name: str, size: int) -> Field:
    return Field(index, name, "vector", size)


def _tables(index: int, name: str, table: str = "") -> Field:
    return Field(index, name, "tables", table=table)


def _table(index: int, name: str, table: str = "") -> Field:
    return Field(index, name, "table", table=table)


def _string(index: int, name: str) -> Field:
    return Field(index, name, "string")


# The part of TensorFlow Lite's schema.fbs that is read, by field slot.
SCHEMA: dict[str, tuple[Field, ...]] = {
    "Model": (
        _scalar(0, "version", 4), _tables(1, "operator_codes", "OperatorCode"), _tables(2, "subgraphs", "SubGraph"),
        _string(3, "description"), _tables(4, "buffers", "Buffer"), _vector(5, "metadata_buffer", 4),
        _tables(6, "metadata", "Metadata"), _tables(7, "signature_defs", "SignatureDef"),
    ),
    "OperatorCode": (
        _scalar(0, "deprecated_builtin_code", 1), _string(1, "custom_code"), _scalar(2, "version", 4),
        _scalar(3, "builtin_code", 4),
    ),
    "SubGraph": (
        _tables(0, "tensors", "Tensor"), _vector(1, "inputs", 4), _vector(2, "outputs", 4),
        _tables(3, "operators", "Operator"), _string(4, "name"), _scalar(5, "debug_metadata_index", 4),
    ),
    "Tensor": (
        _vector(0, "shape", 4), _scalar(1, "type", 1), _scalar(2, "buffer", 4), _string(3, "name"),
        _table(4, "quantization", "QuantizationParameters"), _scalar(5, "is_variable", 1), _table(6, "sparsity"),
        _vector(7, "shape_signature", 4), _scalar(8, "has_rank", 1), _tables(9, "variant_tensors"),
    ),
    "QuantizationParameters": (
        _vector(0, "min", 4), _vector(1, "max", 4), _vector(2, "scale", 4), _vector(3, "zero_point", 8),
        _scalar(4, "details_type", 1), _table(5, "details"), _scalar(6, "quantized_dimension", 4),
    ),
    "Operator": (
        _scalar(0, "opcode_index", 4), _vector(1, "inputs", 4), _vector(2, "outputs", 4),
        _scalar(3, "builtin_options_type", 1), Field(4, "builtin_options", "union"), _vector(5, "custom_options", 1),
        _scalar(6, "custom_options_format", 1), _vector(7, "mutating_variable_inputs", 1),
        _vector(8, "intermediates", 4), _scalar(9, "large_custom_options_offset", 8),
        _scalar(10, "large_custom_options_size", 8), _scalar(11, "builtin_options_2_type", 1),
        _table(12, "builtin_options_2"), _scalar(13, "debug_metadata_index", 4),
    ),
    "Buffer": (_vector(0, "data", 1), _scalar(1, "offset", 8), _scalar(2, "size", 8)),
    "Metadata": (_string(0, "name"), _scalar(1, "buffer", 4)),
    "SignatureDef": (
        _tables(0, "inputs", "TensorMap"), _tables(1, "outputs", "TensorMap"), _string(2, "signature_key"),
        _scalar(4, "subgraph_index", 4),
    ),
    "TensorMap": (_string(0, "name"), _scalar(1, "tensor_index", 4)),
    # The option tables mcugen reads vectors from; every other one is all scalars.
    "ReshapeOptions": (_vector(0, "new_shape", 4),),
    "SqueezeOptions": (_vector(0, "squeeze_dims", 4),),
}

# builtin_options_type code -> the option table's name in the schema.
OPTION_TABLES = {v: k for k, v in vars(tflite.BuiltinOptions).items() if not k.startswith("_")}


@dataclass(frozen=True)
class Site:
    """Where one field's bytes are (recorded on request, for tools that edit or
    damage models on purpose, such as the test suite's fuzzer)."""

    path: str  # e.g. "the model.subgraphs[0].tensors[3].shape"
    kind: str  # "scalar", "vector" (elements), "offset", "vtable"
    pos: int
    size: int  # bytes of one value
    count: int = 1


@dataclass(frozen=True)
class Layout:
    """What the walk found: where the last object the flatbuffer describes ends,
    counting buffers stored after it (models over 2 GB address those by offset)."""

    end: int
    objects: int
    sites: tuple[Site, ...] = ()


class _Walk:
    def __init__(self, raw: bytes, origin: str, record: bool = False):
        self.raw = raw
        self.origin = origin
        self.objects = 0
        self.end = 0
        self.sites: list[Site] | None = [] if record else None

    def site(self, path: str, kind: str, pos: int, size: int, count: int = 1) -> None:
        if self.sites is not None:
            self.sites.append(Site(path, kind, pos, size, count))

    def fail(self, what: str, past_end: bool = False) -> NoReturn:
        state = "truncated or corrupt" if past_end else "corrupt"
        raise ModelError(f"{self.origin} is {state}: {what}", _FIX)

    def need(self, pos: int, size: int, align: int, what: str) -> None:
        if pos < 0 or size < 0 or pos + size > len(self.raw):
            self.fail(f"{what} (bytes {pos}..{pos + size}) runs past the end of the {len(self.raw)}-byte file",
                      past_end=True)
        if pos % align:
            self.fail(f"{what} at byte {pos} is not {align}-byte aligned")
        self.end = max(self.end, pos + size)

    def unpack(self, fmt: str, pos: int, what: str) -> int:
        size = struct.calcsize(fmt)
        self.need(pos, size, size if size <= 4 else 4, what)
        return struct.unpack_from(fmt, self.raw, pos)[0]

    def follow(self, pos: int, what: str) -> int:
        """The object an offset at ``pos`` points to."""
        value = self.unpack("<I", pos, f"the offset of {what}")
        self.site(what, "offset", pos, 4)
        if value == 0 or value > _MAX_OFFSET:
            self.fail(f"the offset of {what} at byte {pos} is {value}")
        return pos + value

    def count(self, what: str) -> None:
        self.objects += 1
        if self.objects > MAX_OBJECTS:
            self.fail(f"more than {MAX_OBJECTS:,} objects (at {what})")

    def vector(self, pos: int, elem_size: int, what: str) -> int:
        """Checks a vector's length and body; returns its element count."""
        self.count(what)
        length = self.unpack("<I", pos, f"the length of {what}")
        if length * elem_size > len(self.raw):
            self.fail(f"{what} claims {length:,} elements, more than the file holds", past_end=True)
        self.need(pos + 4, length * elem_size, 1, what)
        self.site(what, "length", pos, 4)
        if length:
            self.site(what, "vector", pos + 4, elem_size, length)
        return length

    def string(self, pos: int, what: str) -> None:
        length = self.vector(pos, 1, what)
        self.need(pos + 4 + length, 1, 1, f"the end of {what}")
        if self.raw[pos + 4 + length] != 0:
            self.fail(f"{what} is not terminated")

    def table(self, pos: int, schema: str, what: str, depth: int) -> None:
        if depth > MAX_DEPTH:
            self.fail(f"tables nested over {MAX_DEPTH} deep (at {what})")
        self.count(what)
        vtable = pos - self.unpack("<i", pos, f"the vtable offset of {what}")
        self.site(f"{what} (its vtable offset)", "offset", pos, 4)
        vt_size = self.unpack("<H", vtable, f"the vtable of {what}")
        inline_size = self.unpack("<H", vtable + 2, f"the vtable of {what}")
        if vt_size < 4 or vt_size % 2:
            self.fail(f"the vtable of {what} has a size of {vt_size}")
        self.need(vtable, vt_size, 2, f"the vtable of {what}")
        if inline_size < 4:
            self.fail(f"{what} has a size of {inline_size}")
        self.need(pos, inline_size, 1, what)
        fields = {f.index: f for f in SCHEMA.get(schema, ())}
        slots = (vt_size - 4) // 2
        union_type = 0
        for slot in range(slots):
            offset = struct.unpack_from("<H", self.raw, vtable + 4 + 2 * slot)[0]
            if offset == 0:
                continue
            field = fields.get(slot)
            self.site(f"{what} (vtable slot {slot})", "vtable", vtable + 4 + 2 * slot, 2)
            width = field.size if field is not None and field.kind == "scalar" else 4 if field is not None else 1
            name = f"{what}.{field.name if field is not None else f'field {slot}'}"
            if offset + width > inline_size:
                self.fail(f"{name} lies outside its table")
            if field is None:
                # A field this schema does not read, or a field of an option table (all
                # scalars): its first byte is recorded for tools that edit models.
                self.site(name, "scalar", pos + offset, 1)
                continue
            loc = pos + offset
            if field.kind == "scalar":
                self.need(loc, field.size, min(field.size, 4), name)
                self.site(name, "scalar", loc, field.size)
                if field.name == "builtin_options_type":
                    union_type = self.raw[loc]
            elif field.kind == "string":
                self.string(self.follow(loc, name), name)
            elif field.kind == "vector":
                self.vector(self.follow(loc, name), field.size, name)
            elif field.kind == "table":
                self.table(self.follow(loc, name), field.table, name, depth + 1)
            elif field.kind == "union":
                self.table(self.follow(loc, name), OPTION_TABLES.get(union_type, ""), name, depth + 1)
            elif field.kind == "tables":
                start = self.follow(loc, name)
                for i in range(self.vector(start, 4, name)):
                    item = f"{name}[{i}]"
                    self.table(self.follow(start + 4 + 4 * i, item), field.table, item, depth + 1)


def _buffers_after_flatbuffer(walk: _Walk, raw: bytes) -> None:
    """Buffers of models over 2 GB live after the flatbuffer at (offset, size):
    both must lie inside the file."""
    model = tflite.Model.GetRootAsModel(raw, 0)
    for i in range(model.BuffersLength()):
        buf = model.Buffers(i)
        offset, size = int(buf.Offset()), int(buf.Size())
        if offset > 1:
            if offset + size > len(raw):
                walk.fail(f"buffer {i} (bytes {offset}..{offset + size}) lies beyond the end of the file")
            walk.end = max(walk.end, offset + size)


def check_layout(raw: bytes, origin: str, record: bool = False) -> Layout:
    """Raises ModelError naming the first object that does not fit the file.
    record: also list where every field it walked lies (Layout.sites)."""
    walk = _Walk(raw, origin, record)
    walk.need(0, 8, 4, "the header")
    walk.table(walk.follow(0, "the model table"), "Model", "the model", 0)
    _buffers_after_flatbuffer(walk, raw)
    return Layout(walk.end, walk.objects, tuple(walk.sites or ()))
