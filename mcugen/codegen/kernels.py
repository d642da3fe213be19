"""Every C kernel the code generator can call, declared once: its function, the
header declaring it, its parameter struct and that struct's fields, and its variant.

A lowering fills a kernel's parameter struct field by field; LayerCall checks the
fields against the spec, so a forgotten or misspelt field is an error when the
model is compiled, never a silent zero in the generated C. tests/test_kernel_specs.py
checks each spec against the struct in its header.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..target import ARM_DSP, PORTABLE


@dataclass(frozen=True)
class KernelSpec:
    name: str  # the C function
    header: str  # runtime header declaring it (its .c beside it)
    params_type: str
    fields: tuple[str, ...]  # the parameter struct's fields, in declaration order
    variant: str = PORTABLE
    # Runtime headers its source includes beyond mcugen_common.h (copied with it).
    needs: tuple[str, ...] = ()


def _spec(name: str, header: str, params_type: str, fields: str, variant: str = PORTABLE,
          needs: tuple[str, ...] = ()) -> KernelSpec:
    return KernelSpec(name, header, params_type, tuple(fields.split()), variant, needs)


_CONV = "input output filter_h filter_w filter_in_c stride_h stride_w dilation_h dilation_w pad_h pad_w " \
        "input_offset output_offset act requant per_channel output_stride"
_POOL = "input output filter_h filter_w stride_h stride_w pad_h pad_w act output_stride"
_ADD = "input1_offset input2_offset output_offset left_shift input1 input2 output act bcast"
_REQUANTIZE = "size input_offset output_offset requant"
_QUANTIZE = "size scale zero_point"
_COPY = "outer num_inputs copy_size"

_SPECS = [
    _spec("mcugen_conv_s8", "conv.h", "mcugen_conv_params_t", _CONV),
    _spec("mcugen_depthwise_conv_s8", "depthwise_conv.h", "mcugen_depthwise_conv_params_t",
          "input output filter_h filter_w depth_multiplier stride_h stride_w dilation_h dilation_w pad_h pad_w "
          "input_offset output_offset act requant per_channel output_stride"),
    _spec("mcugen_transpose_conv_s8", "transpose_conv.h", "mcugen_transpose_conv_params_t",
          "input output filter_h filter_w stride_h stride_w pad_h pad_w input_offset output_offset act requant "
          "per_channel"),
    _spec("mcugen_fully_connected_s8", "fully_connected.h", "mcugen_fully_connected_params_t",
          "batches accum_depth output_depth input_offset weights_offset output_offset act requant per_channel"),
    _spec("mcugen_add_s8", "elementwise.h", "mcugen_add_params_t", _ADD),
    _spec("mcugen_sub_s8", "elementwise.h", "mcugen_sub_params_t", _ADD),
    _spec("mcugen_mul_s8", "elementwise.h", "mcugen_mul_params_t",
          "input1_offset input2_offset output_offset output act bcast"),
    _spec("mcugen_maximum_s8", "elementwise.h", "mcugen_minmax_params_t", "bcast"),
    _spec("mcugen_minimum_s8", "elementwise.h", "mcugen_minmax_params_t", "bcast"),
    _spec("mcugen_avg_pool_s8", "pooling.h", "mcugen_pool_params_t", _POOL),
    _spec("mcugen_max_pool_s8", "pooling.h", "mcugen_pool_params_t", _POOL),
    _spec("mcugen_mean_s8", "mean.h", "mcugen_mean_params_t",
          "kept_extent kept_stride reduced_extent reduced_stride zero_point_times_count output_offset requant"),
    _spec("mcugen_softmax_s8", "softmax.h", "mcugen_softmax_params_t",
          "outer depth input_multiplier input_left_shift diff_min"),
    _spec("mcugen_softmax_s8_s16", "softmax.h", "mcugen_softmax_params_t",
          "outer depth input_multiplier input_left_shift diff_min"),
    _spec("mcugen_logistic_s8", "logistic.h", "mcugen_logistic_params_t",
          "size input_zero_point input_range_radius input_multiplier input_shift"),
    _spec("mcugen_tanh_s8", "tanh.h", "mcugen_tanh_params_t",
          "size input_zero_point input_range_radius input_multiplier input_shift"),
    _spec("mcugen_hard_swish_s8", "hard_swish.h", "mcugen_hard_swish_params_t",
          "size input_zero_point output_zero_point output_multiplier output_shift reluish_multiplier reluish_shift"),
    _spec("mcugen_relu_s8", "relu.h", "mcugen_relu_params_t", "size input_zero_point output_zero_point output act"),
    _spec("mcugen_relu6_s8", "relu.h", "mcugen_relu6_params_t", "size act"),
    _spec("mcugen_leaky_relu_s8", "relu.h", "mcugen_leaky_relu_params_t",
          "size input_zero_point output_zero_point identity alpha"),
    _spec("mcugen_quantize_f32_s8", "quantize.h", "mcugen_quantize_params_t", _QUANTIZE),
    _spec("mcugen_requantize_s8_s8", "quantize.h", "mcugen_requantize_params_t", _REQUANTIZE),
    _spec("mcugen_requantize_s8_u8", "quantize.h", "mcugen_requantize_params_t", _REQUANTIZE),
    _spec("mcugen_requantize_u8_s8", "quantize.h", "mcugen_requantize_params_t", _REQUANTIZE),
    _spec("mcugen_dequantize_s8_f32", "quantize.h", "mcugen_dequantize_params_t", _QUANTIZE),
    _spec("mcugen_dequantize_u8_f32", "quantize.h", "mcugen_dequantize_params_t", _QUANTIZE),
    _spec("mcugen_pad_s8", "pad.h", "mcugen_pad_params_t", "out_shape before in_shape pad_value"),
    _spec("mcugen_concatenation_s8", "concatenation.h", "mcugen_concatenation_params_t", _COPY),
    _spec("mcugen_pack_s8", "pack.h", "mcugen_pack_params_t", _COPY),
    _spec("mcugen_split_s8", "split.h", "mcugen_split_params_t", "outer num_outputs copy_size"),
    _spec("mcugen_strided_slice_s8", "strided_slice.h", "mcugen_strided_slice_params_t", "start count step"),
    _spec("mcugen_transpose_s8", "transpose.h", "mcugen_transpose_params_t", "shape stride"),
    _spec("mcugen_resize_nearest_s8", "resize_nearest.h", "mcugen_resize_nearest_params_t",
          "batches out_height out_width depth in_batch_stride row_offset col_offset"),
    _spec("mcugen_resize_bilinear_s8", "resize_bilinear.h", "mcugen_resize_bilinear_params_t",
          "batches out_height out_width depth in_batch_stride row col"),
    _spec("mcugen_arg_max_s8", "arg_max.h", "mcugen_arg_max_params_t", "outer axis_size inner"),
    _spec("mcugen_detection_postprocess_f32", "detection_postprocess.h", "mcugen_detection_postprocess_params_t",
          "num_boxes box_stride num_classes score_stride label_offset max_detections classes_per_detection "
          "detections_per_class use_regular_nms output_slots score_threshold iou_threshold scale scratch"),
    # ---- arm-dsp variants (SIMD32; on the host through mcugen_simd.h's portable C) ----
    _spec("mcugen_conv_s8_dsp", "conv_dsp.h", "mcugen_conv_dsp_params_t",
          "input output filter_h filter_w stride_h stride_w dilation_h dilation_w pad_h pad_w depth4 input_offset "
          "output_offset act channels full_range output_stride offsets", ARM_DSP, ("mcugen_simd.h",)),
    _spec("mcugen_fully_connected_s8_dsp", "conv_dsp.h", "mcugen_fully_connected_dsp_params_t",
          "batches depth depth4 units input_offset output_offset act channels", ARM_DSP, ("mcugen_simd.h",)),
    _spec("mcugen_depthwise_conv_s8_dsp", "depthwise_conv_dsp.h", "mcugen_depthwise_conv_dsp_params_t",
          "input output filter_h filter_w stride_h stride_w pad_h pad_w input_zero_point output_offset act channels "
          "general output_stride",
          ARM_DSP, ("mcugen_simd.h",)),
    _spec("mcugen_add_s8_dsp", "elementwise_dsp.h", "mcugen_add_dsp_params_t",
          "small_offset small_multiplier small_round small_shift big_offset form output_multiplier "
          "output_bias output_shift act bcast", ARM_DSP, ("mcugen_simd.h", "elementwise.h")),
    _spec("mcugen_sub_s8_dsp", "elementwise_dsp.h", "mcugen_add_dsp_params_t",
          "small_offset small_multiplier small_round small_shift big_offset form output_multiplier "
          "output_bias output_shift act bcast", ARM_DSP, ("mcugen_simd.h", "elementwise.h")),
    _spec("mcugen_avg_pool_s8_dsp", "pooling_dsp.h", "mcugen_pool_dsp_params_t", _POOL, ARM_DSP, ("mcugen_simd.h",)),
    _spec("mcugen_max_pool_s8_dsp", "pooling_dsp.h", "mcugen_pool_dsp_params_t", _POOL, ARM_DSP, ("mcugen_simd.h",)),
    _spec("mcugen_requantize_s8_s8_dsp", "quantize_dsp.h", "mcugen_requantize_dsp_params_t", "size table", ARM_DSP,
          ("mcugen_simd.h",)),
    _spec("mcugen_requantize_s8_u8_dsp", "quantize_dsp.h", "mcugen_requantize_dsp_params_t", "size table", ARM_DSP,
          ("mcugen_simd.h",)),
    _spec("mcugen_requantize_u8_s8_dsp", "quantize_dsp.h", "mcugen_requantize_dsp_params_t", "size table", ARM_DSP,
          ("mcugen_simd.h",)),
    _spec("mcugen_pad_s8_dsp", "pad_dsp.h", "mcugen_pad_dsp_params_t", "out_shape before in_shape pad_value",
          ARM_DSP, ("mcugen_simd.h",)),
]
KERNELS: dict[str, KernelSpec] = {s.name: s for s in _SPECS}
