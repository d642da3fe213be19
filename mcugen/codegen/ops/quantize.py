"""QUANTIZE and DEQUANTIZE at the model's edges (float32 or uint8 outside, int8 inside),
as TFLM's quantize_common.cc / dequantize_common.cc Prepare and reference kernels do."""

from __future__ import annotations

import numpy as np

from ...ir import Graph, Operator, Tensor
from ...target import ARM_DSP
from .. import fixed_point as fx
from ..kernels import KERNELS
from ..lowering import KernelChoice, LayerCall, LoweringContext, c_float, c_int, chooses, lowers, shape_text
from ..quant import quantize_multiplier

# input dtype, output dtype -> kernel for the int8/uint8 requantizing QUANTIZE TFLM supports
_REQUANTIZE_KERNELS = {
    ("int8", "int8"): "mcugen_requantize_s8_s8",
    ("int8", "uint8"): "mcugen_requantize_s8_u8",
    ("uint8", "int8"): "mcugen_requantize_u8_s8",
}
_DEQUANTIZE_KERNELS = {"int8": "mcugen_dequantize_s8_f32", "uint8": "mcugen_dequantize_u8_f32"}
# The 256-byte table costs flash once per layer; below this many values the portable
# loop is left to do it (the model's last QUANTIZE of a few scores, say).
REQUANTIZE_DSP_MIN_ELEMENTS = 64
_OUTPUT_RANGE = {"int8": (-128, 127), "uint8": (0, 255)}


def requantize_table(in_dtype: str, out_dtype: str, in_zp: int, out_zp: int, multiplier: int,
                     shift: int) -> np.ndarray:
    """The output byte for each input byte 0..255 (read as in_dtype): quantize.c's
    requantize_one and clamp, evaluated once per possible input."""
    raw = np.arange(256, dtype=np.int64)
    q = raw - 256 * (raw >= 128) if in_dtype == "int8" else raw
    lo, hi = _OUTPUT_RANGE[out_dtype]
    out = np.clip(fx.requantize(q - in_zp, multiplier, shift) + out_zp, lo, hi)
    return (out & 0xFF).astype(np.uint8)


@chooses("QUANTIZE")
def choose_quantize(graph: Graph, op: Operator, variant: str) -> KernelChoice:
    """The table kernel for the 8-bit requantizing QUANTIZE of at least
    REQUANTIZE_DSP_MIN_ELEMENTS values. No scratch."""
    if not op.inputs or op.inputs[0] < 0 or not op.outputs:
        return KernelChoice()
    inp, out = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    if (inp.dtype, out.dtype) not in _REQUANTIZE_KERNELS or inp.quant is None or out.quant is None:
        return KernelChoice()
    if out.num_elements < REQUANTIZE_DSP_MIN_ELEMENTS:
        return KernelChoice()
    return KernelChoice(ARM_DSP, 0)


def _per_tensor(ctx: LoweringContext, op: Operator, t: Tensor, role: str) -> tuple[float, int]:
    if t.quant is None:
        raise ctx.unsupported(op, f"{role} {t.label()} is not quantized")
    if t.quant.per_channel:
        raise ctx.unsupported(op, f"{role} {t.label()} is per-channel quantized; TFLM supports one scale here")
    return t.quant.scale[0], t.quant.zero_point[0]


def _edge_comment(op: Operator, inp: Tensor, out: Tensor, detail: str) -> str:
    return f"{op.op} in {shape_text(inp)} {inp.dtype} -> out {shape_text(out)} {out.dtype}, {detail}"


def _io(ctx: LoweringContext, op: Operator) -> tuple[Tensor, Tensor]:
    inp, out = ctx.input(op, 0), ctx.output(op)
    if inp is None:
        raise ctx.unsupported(op, "missing input")
    if inp.num_elements != out.num_elements:
        raise ctx.unsupported(op, f"input {list(inp.shape)} and output {list(out.shape)} sizes differ")
    return inp, out


@lowers("QUANTIZE")
def lower_quantize(ctx: LoweringContext, op: Operator) -> LayerCall:
    inp, out = _io(ctx, op)
    out_scale, out_zp = _per_tensor(ctx, op, out, "output")
    args = [ctx.ptr(inp, const=True), ctx.ptr(out)]
    if inp.dtype == "float32":
        if out.dtype != "int8":
            raise ctx.unsupported(op, f"float32 -> {out.dtype} is not supported; TFLM quantizes float32 to int8 "
                                      "(or int16)")
        # AffineQuantize: roundf(x / (float)scale) + zero_point, clamped
        params = [("size", c_int(out.num_elements)), ("scale", c_float(out_scale)), ("zero_point", c_int(out_zp))]
        comment = _edge_comment(op, inp, out, f"s={out_scale:.6g} zp={out_zp}")
        return LayerCall(op.index, op.op, comment, "mcugen_quantize_f32_s8", "mcugen_quantize_params_t",
                         params, args, "quantize.h")
    kernel = _REQUANTIZE_KERNELS.get((inp.dtype, out.dtype))
    if kernel is None:
        raise ctx.unsupported(op, f"{inp.dtype} -> {out.dtype} is not supported; mcugen requantizes int8 -> int8, "
                                  "int8 -> uint8 and uint8 -> int8, as TFLM does for 8-bit types")
    in_scale, in_zp = _per_tensor(ctx, op, inp, "input")
    # quantize_common.cc: QuantizeMultiplier((double)input_scale / (double)output_scale)
    multiplier, shift = quantize_multiplier(in_scale / out_scale)
    params = [
        ("size", c_int(out.num_elements)),
        ("input_offset", c_int(-in_zp)),
        ("output_offset", c_int(out_zp)),
        ("requant", "{.multiplier = %s, .shift = %s}" % (c_int(multiplier), c_int(shift))),
    ]
    comment = _edge_comment(op, inp, out, f"s={in_scale:.6g} zp={in_zp} -> s={out_scale:.6g} zp={out_zp}")
    if ctx.choice(op).variant == ARM_DSP:
        table = requantize_table(inp.dtype, out.dtype, int(in_zp), int(out_zp), multiplier, shift)
        name = ctx.add_array(f"l{op.index}_requantize", "uint8_t", table,
                             f"{out.dtype} output byte for each input byte 0..255 (TFLM's Requantize, "
                             f"multiplier {multiplier}, shift {shift})")
        dsp_params = [("size", c_int(out.num_elements)), ("table", name)]
        return LayerCall.of(KERNELS[kernel + "_dsp"], op.index, op.op, comment + " [arm-dsp: lookup table]",
                            dsp_params, args)
    return LayerCall(op.index, op.op, comment, kernel, "mcugen_requantize_params_t", params, args, "quantize.h")


@lowers("DEQUANTIZE")
def lower_dequantize(ctx: LoweringContext, op: Operator) -> LayerCall:
    inp, out = _io(ctx, op)
    if out.dtype != "float32":
        raise ctx.unsupported(op, f"output is {out.dtype}; TFLM dequantizes to float32 only")
    kernel = _DEQUANTIZE_KERNELS.get(inp.dtype)
    if kernel is None:
        raise ctx.unsupported(op, f"input is {inp.dtype}; mcugen dequantizes int8 or uint8")
    scale, zp = _per_tensor(ctx, op, inp, "input")
    params = [("size", c_int(out.num_elements)), ("scale", c_float(scale)), ("zero_point", c_int(zp))]
    comment = _edge_comment(op, inp, out, f"s={scale:.6g} zp={zp}")
    return LayerCall(op.index, op.op, comment, kernel, "mcugen_dequantize_params_t", params,
                     [ctx.ptr(inp, const=True), ctx.ptr(out)], "quantize.h")
