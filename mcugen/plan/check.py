"""An independent check of a placed plan: run the program over a model of the arena.

It trusts neither the builder's rows nor the placement's lifetimes. Every arena byte
carries a tag: which tensor byte it holds, or garbage. The model inputs are written
first; then, call by call, each read must find exactly the tensor bytes it expects at
the address the generated code will use (so data overwritten while still needed, or
a wrong address, is caught), the rows a call reads must be all its layer needs for
the rows it writes, a call's output may share bytes with its input only where the
layer is elementwise and in place, and its scratch may share none; then the writes
land and the scratch turns to garbage. At the end every model output must be whole
where the host reads it.
"""

from __future__ import annotations

import numpy as np

from ..ops import data_inputs, row_window, spec_for
from .program import Call, Rows, row_bytes, row_count

GARBAGE = -1


def _tags(tensor: int, start_byte: int, count: int) -> np.ndarray:
    return (np.int64(tensor + 1) << np.int64(32)) | np.arange(start_byte, start_byte + count, dtype=np.int64)


def _describe(tag: int, graph) -> str:
    if tag < 0:
        return "garbage (scratch, or never written)"
    t = (tag >> 32) - 1
    return f"byte {tag & 0xFFFFFFFF} of tensor {t} ({graph.tensor(t).label()})"


def plan_problems(plan) -> list[str]:
    """Everything wrong with a placed plan (mcugen.plan.MemoryPlan); [] for a sound one."""
    program = plan.program
    graph = program.graph
    arena = np.full(max(plan.arena_bytes, 1), GARBAGE, np.int64)
    problems: list[str] = []
    # A reinterpreting op (RESHAPE ...) runs no code: its output is its input's bytes,
    # so both carry the tags of the first tensor of the chain.
    canon: dict[int, int] = {}
    for op in graph.operators:
        ins = [t for t in data_inputs(op) if not graph.tensor(t).is_constant]
        if spec_for(op).aliases_input and ins and op.outputs:
            canon[op.outputs[0]] = canon.get(ins[0], ins[0])

    def tags(tensor: int, start_byte: int, count: int) -> np.ndarray:
        return _tags(canon.get(tensor, tensor), start_byte, count)

    def span(rows: Rows) -> tuple[int, int]:
        """The first byte of the rows and one past their last (a channel slice's rows
        have other slices' bytes in between)."""
        at = plan.address(rows)
        if not rows.count:
            return at, at
        return at, at + (rows.count - 1) * program.row_pitch(rows.tensor) + program.row_extent(rows.tensor)

    def cells(rows: Rows) -> tuple[np.ndarray, np.ndarray]:
        """Every byte of the rows: its arena address, and the tag of the tensor byte it holds."""
        t = graph.tensor(rows.tensor)
        rb = row_bytes(t)
        at = plan.address(rows)
        want = tags(rows.tensor, rows.start * rb, rows.count * rb)
        stride = program.tensor_stride.get(rows.tensor)
        if stride is None:
            return np.arange(at, at + rows.count * rb), want
        width, item = t.shape[2], rb // (t.shape[2] * t.shape[3])
        r = np.arange(rows.count)[:, None, None] * program.row_pitch(rows.tensor)
        x = np.arange(width)[None, :, None] * stride * item
        c = np.arange(t.shape[3] * item)[None, None, :]
        return (at + r + x + c).reshape(-1), want

    def inside(rows: Rows, what: str) -> bool:
        lo, hi = span(rows)
        if lo < 0 or hi > plan.arena_bytes:
            problems.append(f"{what}: rows {rows.start}..{rows.stop} of tensor {rows.tensor} at {lo}..{hi} are "
                            f"outside the {plan.arena_bytes}-byte arena")
            return False
        return True

    def expect(rows: Rows, what: str) -> None:
        if not inside(rows, what):
            return
        where, want = cells(rows)
        got = arena[where]
        bad = np.nonzero(got != want)[0]
        if len(bad):
            k = int(bad[0])
            problems.append(f"{what}: tensor {rows.tensor} ({graph.tensor(rows.tensor).label()}) rows "
                            f"{rows.start}..{rows.stop} at {span(rows)[0]}: byte {int(where[k])} holds "
                            f"{_describe(int(got[k]), graph)}")

    def write(rows: Rows, what: str) -> None:
        if inside(rows, what):
            where, want = cells(rows)
            arena[where] = want

    for t in graph.inputs:
        if t in program.tensor_buffer:
            write(program.whole_rows(t), f"model input {t}")
    for k, entry in enumerate(program.entries):
        if not isinstance(entry, Call):
            expect(entry.source, f"entry {k} (move)")
            write(entry.target, f"entry {k} (move)")
            continue
        op = graph.operators[entry.position]
        what = f"entry {k} (layer {op.index} {op.op})"
        _check_rows_needed(graph, op, entry, what, problems)
        for rows in entry.reads:
            expect(rows, what)
        if spec_for(op).aliases_input:
            continue  # no code runs; the output's reads will find the input's tags where it claims to be
        if entry.no_code:
            # A concatenation made in place: each input must already sit in its slice,
            # as its own bytes (contiguous slices) or its channels of every pixel.
            out = entry.writes[0]
            t_out = graph.tensor(out.tensor)
            at = span(out)[0]
            item = row_bytes(t_out) // max(t_out.num_elements // max(row_count(t_out), 1), 1)
            for r in entry.reads:
                t_in = graph.tensor(r.tensor)
                stride = program.tensor_stride.get(r.tensor)
                if span(r)[0] != at or (stride is not None and stride != t_out.shape[-1]):
                    problems.append(f"{what}: input tensor {r.tensor} is at {span(r)[0]} (pixel stride {stride}), "
                                    f"not in its slice at {at}")
                at += t_in.shape[-1] * item if stride is not None else t_in.nbytes
            write(out, what)
            continue
        elementwise = spec_for(op).elementwise and entry.whole
        spans_in = [span(r) for r in entry.reads]
        for out in entry.writes:
            olo, ohi = span(out)
            for (ilo, ihi), r in zip(spans_in, entry.reads):
                if olo < ihi and ilo < ohi and not (elementwise and olo == ilo):
                    problems.append(f"{what}: output rows at {olo}..{ohi} overlap input tensor {r.tensor}'s "
                                    f"rows at {ilo}..{ihi} within one call")
        if entry.scratch_buffer is not None and entry.scratch_bytes:
            slo = plan.offsets[entry.scratch_buffer]
            shi = slo + entry.scratch_bytes
            if slo < 0 or shi > plan.arena_bytes:
                problems.append(f"{what}: scratch at {slo}..{shi} is outside the arena")
            for r in entry.reads + entry.writes:
                lo, hi = span(r)
                if slo < hi and lo < shi:
                    problems.append(f"{what}: scratch at {slo}..{shi} overlaps tensor {r.tensor}'s rows at {lo}..{hi}")
            arena[max(slo, 0):min(shi, plan.arena_bytes)] = GARBAGE
        for rows in entry.writes:
            write(rows, what)
    for t in graph.outputs:
        if t in program.tensor_buffer:
            expect(program.whole_rows(t), f"model output {t} at the end")
        else:
            problems.append(f"model output {t} has no buffer of its own")
    return problems


def _check_rows_needed(graph, op, call: Call, what: str, problems: list[str]) -> None:
    """The rows a call reads are all its layer needs for the rows it writes."""
    inputs = [t for t in data_inputs(op) if not graph.tensor(t).is_constant]
    if [r.tensor for r in call.reads] != inputs or [r.tensor for r in call.writes] != list(op.outputs):
        problems.append(f"{what}: reads {[r.tensor for r in call.reads]} / writes "
                        f"{[r.tensor for r in call.writes]}, but the layer reads {inputs} and writes {list(op.outputs)}")
        return
    full = all(r.start == 0 and r.stop == row_count(graph.tensor(r.tensor)) for r in call.reads + call.writes)
    if full:
        return
    window = row_window(graph, op)
    if window is None or len(call.writes) != 1:
        problems.append(f"{what}: runs on part of its tensors, but the layer has no row window")
        return
    out = call.writes[0]
    for r in call.reads:
        lo, hi = window.input_rows(out.start, out.stop, row_count(graph.tensor(r.tensor)))
        if r.start > lo or r.stop < hi:
            problems.append(f"{what}: output rows {out.start}..{out.stop} need input rows {lo}..{hi} of tensor "
                            f"{r.tensor}, the call reads {r.start}..{r.stop}")
        if call.pad is not None and call.pad[0] != r.start - (out.start * window.stride - window.pad):
            problems.append(f"{what}: padding {call.pad[0]} before the strip does not line its rows up "
                            f"(expected {r.start - (out.start * window.stride - window.pad)})")
