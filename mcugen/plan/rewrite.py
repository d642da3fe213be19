"""Graph rewrites that change neither a single output bit nor the work that matters,
applied before planning, the same for every strategy (so the program a board runs
can be worked out again from the model alone, as `bench` does for its profile).

- A PAD whose only reader is a convolution becomes that convolution's padding. A
  convolution counts each padded tap as zero; PAD writes the zero point, which is
  zero too once the input offset is added: the same sums, without the padded copy
  (fomo_face_detection's largest tensor) or the layer that writes it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..ir import Graph, Operator
from ..ops import conv_padding, data_inputs

_FOLDS_INTO = ("CONV_2D", "DEPTHWISE_CONV_2D")


@dataclass
class Rewritten:
    graph: Graph
    notes: list[str]


def _image_paddings(graph: Graph, pad: Operator) -> tuple[int, int] | None:
    """(top, left) if the PAD pads only rows and columns of an int8 image with its zero point."""
    if len(pad.inputs) < 2 or pad.inputs[0] < 0 or pad.inputs[1] < 0 or len(pad.outputs) != 1:
        return None
    src, pads_t, out = graph.tensor(pad.inputs[0]), graph.tensor(pad.inputs[1]), graph.tensor(pad.outputs[0])
    if src.dtype != "int8" or out.dtype != "int8" or len(src.shape) != 4 or src.quant is None or out.quant is None:
        return None
    if src.quant != out.quant or src.quant.per_channel:
        return None
    if pads_t.data is None or pads_t.data.size != 8:
        return None
    pads = [int(v) for v in np.asarray(pads_t.data).reshape(-1)]
    if min(pads) < 0 or pads[0] or pads[1] or pads[6] or pads[7]:
        return None
    expected = (src.shape[0], src.shape[1] + pads[2] + pads[3], src.shape[2] + pads[4] + pads[5], src.shape[3])
    if tuple(out.shape) != expected:
        return None
    if pad.op == "PADV2":
        if len(pad.inputs) < 3 or pad.inputs[2] < 0:
            return None
        value = graph.tensor(pad.inputs[2])
        if value.data is None or value.data.size != 1 or value.quant != out.quant:
            return None
        if int(np.asarray(value.data).reshape(-1)[0]) != out.quant.zero_point[0]:
            return None
    return pads[2], pads[4]


def fold_pads(graph: Graph) -> Rewritten:
    readers: dict[int, list[Operator]] = {}
    for op in graph.operators:
        for t in op.inputs:
            if t >= 0:
                readers.setdefault(t, []).append(op)
    outputs = set(graph.outputs)
    folded: dict[int, Operator] = {}  # id(conv) -> conv with the padding in it
    dropped: set[int] = set()
    notes = []
    for pad in graph.operators:
        if pad.op not in ("PAD", "PADV2"):
            continue
        before = _image_paddings(graph, pad)
        y = pad.outputs[0] if pad.outputs else -1
        users = readers.get(y, [])
        if before is None or y in outputs or len(users) != 1:
            continue
        conv = users[0]
        if conv.op not in _FOLDS_INTO or conv.explicit_padding is not None or id(conv) in folded:
            continue
        if data_inputs(conv)[:1] != [y] or conv.inputs.count(y) != 1 or len(conv.inputs) < 2 or conv.inputs[1] < 0:
            continue
        o = conv.options
        padded, filt = graph.tensor(y), graph.tensor(conv.inputs[1])
        if o.get("padding") not in ("SAME", "VALID") or len(filt.shape) != 4:
            continue
        strides = (int(o.get("stride_h", 1)), int(o.get("stride_w", 1)))
        dilations = (int(o.get("dilation_hfactor", 1)), int(o.get("dilation_wfactor", 1)))
        own = conv_padding(conv, (padded.shape[1], padded.shape[2]), (filt.shape[1], filt.shape[2]), strides,
                           dilations)
        new_inputs = (pad.inputs[0],) + tuple(conv.inputs[1:])
        folded[id(conv)] = replace(conv, inputs=new_inputs, explicit_padding=(before[0] + own[0], before[1] + own[1]))
        dropped.add(id(pad))
        notes.append(f"PAD (layer {pad.index}) folded into layer {conv.index}'s padding")
    if not dropped:
        return Rewritten(graph, [])
    ops = [folded.get(id(op), op) for op in graph.operators if id(op) not in dropped]
    return Rewritten(Graph(graph.tensors, ops, graph.inputs, graph.outputs, graph.name, graph.description), notes)
