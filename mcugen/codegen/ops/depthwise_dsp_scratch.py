"""Provisional: replaced by the kernel's own rule."""


def depthwise_dsp_scratch_bytes(in_shape, out_shape, filter_h, filter_w, stride_h, stride_w) -> int:
    rows = (out_shape[1] - 1) * stride_h + filter_h
    cols = (out_shape[2] - 1) * stride_w + filter_w + 2
    return rows * cols * 2
