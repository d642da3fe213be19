"""mcugen_depthwise_conv_dsp_scratch_bytes (mcugen/runtime/depthwise_conv_dsp.h), mirrored
exactly: the kernel works band by band (up to MCUGEN_DW_DSP_BAND_ROWS output rows) on
up to MCUGEN_DW_DSP_GROUP channels at a time, each as a padded int16 plane, with an
int32 accumulator row buffer and the channels' taps widened to int16 pairs."""

from __future__ import annotations

DW_DSP_GROUP = 4  # MCUGEN_DW_DSP_GROUP
DW_DSP_BAND_ROWS = 8  # MCUGEN_DW_DSP_BAND_ROWS


def _round_up_4(n: int) -> int:
    return (n + 3) // 4 * 4


def depthwise_dsp_scratch_bytes(in_shape: tuple[int, ...], out_shape: tuple[int, ...], filter_h: int,
                                filter_w: int, stride_h: int, stride_w: int) -> int:
    out_h, out_w, channels = out_shape[1], out_shape[2], out_shape[3]
    if out_h * out_w * channels == 0:
        return 0
    if out_h > out_w:  # the kernel works on the transposed problem: rows are the long side
        out_h, out_w = out_w, out_h
        filter_h, filter_w = filter_w, filter_h
        stride_h, stride_w = stride_w, stride_h
    out_w_even = out_w + out_w % 2
    cols = (out_w_even - 1) * stride_w + filter_w + filter_w % 2
    plane_w = cols + cols % 2
    band = min(out_h, DW_DSP_BAND_ROWS)
    plane_rows = (band - 1) * stride_h + filter_h
    planes = min(channels, DW_DSP_GROUP)
    acc_words = _round_up_4(band * out_w + 1)
    taps_words = planes * _round_up_4(2 * filter_h * ((filter_w + 1) // 2))
    plane_words = plane_rows * plane_w // 2
    return 4 * (acc_words + taps_words + planes * plane_words)


def depthwise_dsp_needs_general(out_shape: tuple[int, ...], filter_h: int, filter_w: int, stride_h: int,
                                stride_w: int) -> bool:
    """mcugen_depthwise_conv_dsp_needs_general, mirrored: anything but a 3x3 filter at
    stride 1 or 2 along the rows the kernel walks, or channels not a multiple of 4."""
    out_h, out_w, channels = out_shape[1], out_shape[2], out_shape[3]
    transposed = out_h > out_w
    stride_cols = stride_h if transposed else stride_w
    out_cols = out_h if transposed else out_w
    is_3x3 = filter_h == 3 and filter_w == 3 and (out_cols + 1) // 2 <= 0x8000 and stride_cols in (1, 2)
    return not is_3x3 or channels % DW_DSP_GROUP != 0
