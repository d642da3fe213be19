"""Constants the arm-dsp kernels read, laid out at generate time in the order their
SIMD loops consume them (mcugen/runtime/conv_dsp.h, depthwise_conv_dsp.h).

Everything here is exact integer bookkeeping: repacking weights, padding them to
whole words, and folding per-channel terms into the bias, with the same modulo-2^32
wrap the kernels' accumulators have.
"""

from __future__ import annotations

import numpy as np

from ...ir import Operator
from ..lowering import LoweringContext
from ..quant import wrap_int32

REQUANT_DSP_FIELDS = 4  # mcugen_requant_dsp_t: multiplier, bias, left, right (int8)
REQUANT_DSP_BYTES = 12


def align4(n: int) -> int:
    return (n + 3) // 4 * 4


def pack_rows_dsp(rows: np.ndarray) -> np.ndarray:
    """[channels][depth] int8 -> the kernels' packed words (uint32, little-endian).

    Channels in pairs; for each pair and each group of four taps, the first
    channel's word then the second's; an odd last channel's words alone. Each row
    is zero-padded to a multiple of four taps, so the padding multiplies zeros."""
    channels, depth = rows.shape
    depth4 = align4(depth)
    padded = np.zeros((channels, depth4), dtype=np.int8)
    padded[:, :depth] = rows
    words = padded.view(np.uint8).reshape(channels, depth4 // 4, 4).astype(np.uint32)
    words = words[:, :, 0] | (words[:, :, 1] << 8) | (words[:, :, 2] << 16) | (words[:, :, 3] << 24)
    pairs = channels // 2 * 2
    # [pair][group][2] : the pair's two words of one group side by side
    interleaved = words[:pairs].reshape(pairs // 2, 2, depth4 // 4).transpose(0, 2, 1).reshape(-1)
    return np.concatenate([interleaved, words[pairs:].reshape(-1)]).astype(np.uint32)


def channels_array(ctx: LoweringContext, op: Operator, pairs: list[tuple[int, int]], channels: int,
                   biases: list[int], comment: str) -> str:
    """The mcugen_requant_dsp_t array, one entry per channel (a per-tensor
    multiplier repeated: the kernels index it by channel without a branch)."""
    if len(pairs) == 1:
        pairs = pairs * channels
    flat = []
    for (multiplier, shift), bias in zip(pairs, biases):
        flat += [multiplier, wrap_int32(bias), max(shift, 0), max(-shift, 0)]
    return ctx.add_array(f"l{op.index}_channels", "mcugen_requant_dsp_t", np.array(flat, dtype=np.int64), comment,
                         group=REQUANT_DSP_FIELDS, item_bytes=REQUANT_DSP_BYTES)



def words_array(ctx: LoweringContext, op: Operator, name: str, words: np.ndarray, comment: str) -> str:
    return ctx.add_array(f"l{op.index}_{name}", "uint32_t", words.astype(np.uint32), comment)
