"""Build the per-op int8 test models: one tiny TFLite model per kernel variant.

What it makes (everything under tests/models/ops/):

  <case>.tflite    a small Keras / tf.function model converted with full-integer
                   post-training quantization (Optimize.DEFAULT, a seeded random
                   representative dataset, TFLITE_BUILTINS_INT8 only, int8 input
                   and output unless the case is about the model's edges)
  MANIFEST.json    every case: its file, a one-line description, the operators
                   and their options as read back from the converted file (fused
                   activations, paddings, strides, ...), how its weights are
                   quantized and its input and output tensors

Each model isolates one kernel variant mcugen's generated C must reproduce bit
for bit against TensorFlow Lite Micro: CONV_2D / DEPTHWISE_CONV_2D strides,
paddings, dilations, kernel shapes, odd channel counts and fused activations;
FULLY_CONNECTED; ADD and MUL (broadcasting, constants, fused activations); PAD;
the pools; MEAN; SOFTMAX; LOGISTIC; HARD_SWISH; CONCATENATION; STRIDED_SLICE;
TRANSPOSE; RESIZE_NEAREST_NEIGHBOR; RESHAPE; uint8 and float32 model edges; and
the SHAPE -> STRIDED_SLICE -> PACK -> RESHAPE flatten a dynamic batch leaves.
Shapes are deliberately small and odd (1x9x11x3, 1x8x8x7, ...).

Every weight and every calibration sample comes from numpy generators seeded
from the case name, so a rerun with the same TensorFlow writes the same bytes.
After conversion the script reads each file back with mcugen's own reader,
checks that the converter emitted exactly the operators the case aims for (it
fails rather than write a model that tests something else), and, when the
tflite-micro package is installed, runs it once through TFLite Micro.

How to run (from the repository root):

    pip install -e .[tensorflow]
    python tests/make_op_models.py              # all cases
    python tests/make_op_models.py --only conv_3x3_s1_same_none --only mean_hw

The outputs are committed to the repository, so the test suite needs neither
TensorFlow nor this script; rerun it only to add or change a case.
"""

from __future__ import annotations

import os

# Must be set before TensorFlow is imported.
os.environ.setdefault("TF_DETERMINISTIC_OPS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse
import json
import sys
import time
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

REPO = Path(__file__).resolve().parents[1]
OUT_DIR = REPO / "tests" / "models" / "ops"
SEED = 20240611
CALIBRATION_SAMPLES = 32
FLOAT_TEST_RANGE = (-1.0, 1.5)  # float32-input models get TFLite Micro test data from here

# mcugen's reader (no TensorFlow inside) is the one that reads the results back.
sys.path.insert(0, str(REPO))


# --------------------------------------------------------------------------
# Case table
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    name: str
    description: str
    # Input shapes; None as the first dimension makes the batch dynamic.
    inputs: tuple[tuple[int | None, ...], ...]
    # build(tf, keras, weights) -> a function of the float input tensors.
    build: Callable[[Any, Any, "Weights"], Callable[..., Any]]
    # The exact operator sequence the converted file must hold.
    ops: tuple[str, ...]
    # Option values the first operator of each named kind must carry.
    options: dict[str, dict[str, Any]] = field(default_factory=dict)
    io_type: str = "int8"  # int8 | uint8 | float32
    per_channel: bool = True
    # Calibration range per input (uniform); a seeded random lopsided range when absent.
    ranges: tuple[tuple[float, float], ...] = ()
    # The model outputs' dtype when it is not io_type (ARG_MAX's int32 indices).
    output_dtype: str | None = None


CASES: list[Case] = []


def case(name: str, description: str, inputs, ops, **kw) -> Callable:
    """Register the decorated builder as one case."""

    def register(build):
        CASES.append(Case(name, description, tuple(tuple(s) for s in inputs), build, tuple(ops), **kw))
        return build

    return register


class Weights:
    """Seeded weight values for one case; the same case always gets the same numbers."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)

    def normal(self, shape, scale: float) -> np.ndarray:
        return (self.rng.standard_normal(shape) * scale).astype(np.float32)

    def kernel(self, shape, fan_in: int) -> np.ndarray:
        """He-like weights whose last-axis slices differ in size, so per-channel
        scales really differ from one another."""
        w = self.normal(shape, 1.0 / np.sqrt(fan_in))
        spread = np.exp(self.rng.uniform(-1.0, 1.0, shape[-1])).astype(np.float32)
        return w * spread

    def bias(self, n: int) -> np.ndarray:
        return self.normal((n,), 0.3)

    def uniform(self, shape, lo: float, hi: float) -> np.ndarray:
        return self.rng.uniform(lo, hi, shape).astype(np.float32)


def _activation(tf, name: str):
    return {
        "NONE": lambda y: y,
        "RELU": tf.nn.relu,
        "RELU6": tf.nn.relu6,
        # The converter fuses a clip to [-1, 1] as RELU_N1_TO_1.
        "RELU_N1_TO_1": lambda y: tf.clip_by_value(y, -1.0, 1.0),
    }[name]


def _pair(v) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else tuple(v)


# ---- CONV_2D -------------------------------------------------------------

def conv_case(name, shape, filters, kernel, strides=1, padding="SAME", dilation=1, act="NONE",
              use_bias=True, per_channel=True, note=""):
    kh, kw = _pair(kernel)
    sh, sw = _pair(strides)
    cin = shape[-1]
    desc = (f"CONV_2D {kh}x{kw} {cin}->{filters}, stride {sh}x{sw}, {padding}"
            + (f", dilation {dilation}" if dilation != 1 else "")
            + f", fused {act} on {'x'.join(map(str, shape))}"
            + ("" if use_bias else ", no bias")
            + (", per-tensor weights" if not per_channel else "")
            + note)

    def build(tf, keras, w):
        layer = keras.layers.Conv2D(filters, (kh, kw), strides=(sh, sw), padding=padding.lower(),
                                    dilation_rate=dilation, use_bias=use_bias, name="conv")
        layer.build(shape)
        values = [w.kernel((kh, kw, cin, filters), kh * kw * cin)]
        if use_bias:
            values.append(w.bias(filters))
        layer.set_weights(values)
        act_fn = _activation(tf, act)
        return lambda x: act_fn(layer(x))

    want = {"padding": padding, "stride_h": sh, "stride_w": sw, "fused_activation_function": act,
            "dilation_hfactor": dilation, "dilation_wfactor": dilation}
    CASES.append(Case(name, desc, (shape,), build, ("CONV_2D",), {"CONV_2D": want}, per_channel=per_channel))


conv_case("conv_3x3_s1_same_none", (1, 9, 11, 3), 5, 3)
conv_case("conv_3x3_s1_valid_relu", (1, 9, 11, 3), 5, 3, padding="VALID", act="RELU")
conv_case("conv_3x3_s2_same_relu6", (1, 9, 11, 3), 5, 3, strides=2, act="RELU6")
conv_case("conv_3x3_s2_valid_none_7to9", (1, 8, 8, 7), 9, 3, strides=2, padding="VALID")
conv_case("conv_3x3_s2x1_same_relu", (1, 9, 11, 3), 5, 3, strides=(2, 1), act="RELU")
conv_case("conv_1x1_s1_valid_relu_7to9", (1, 8, 8, 7), 9, 1, padding="VALID", act="RELU")
conv_case("conv_1x1_s2_same_none_7to9", (1, 9, 11, 7), 9, 1, strides=2)
conv_case("conv_5x3_s1_same_relu_n1_to_1", (1, 9, 11, 3), 5, (5, 3), act="RELU_N1_TO_1",
          note=" (from tf.clip_by_value(y, -1, 1))")
conv_case("conv_5x3_s2_valid_relu6_7to9", (1, 9, 11, 7), 9, (5, 3), strides=2, padding="VALID", act="RELU6")
conv_case("conv_3x3_dil2_same_relu", (1, 9, 11, 3), 5, 3, dilation=2, act="RELU")
conv_case("conv_3x3_dil2_valid_none_7to9", (1, 8, 8, 7), 9, 3, dilation=2, padding="VALID")
conv_case("conv_3x3_s1_same_none_nobias", (1, 9, 11, 3), 5, 3, use_bias=False,
          note=" (use_bias=False; the converter stores a zero int32 bias)")
conv_case("conv_3x3_s1_same_relu6_per_tensor", (1, 9, 11, 3), 5, 3, act="RELU6", per_channel=False)
conv_case("conv_5x3_s2_valid_relu_n1_to_1_per_tensor", (1, 9, 11, 7), 9, (5, 3), strides=2, padding="VALID",
          act="RELU_N1_TO_1", per_channel=False)


# ---- DEPTHWISE_CONV_2D ---------------------------------------------------

def depthwise_case(name, shape, kernel, multiplier=1, strides=1, padding="SAME", dilation=1, act="NONE",
                   use_bias=True, per_channel=True, note=""):
    kh, kw = _pair(kernel)
    sh, sw = _pair(strides)
    cin = shape[-1]
    desc = (f"DEPTHWISE_CONV_2D {kh}x{kw}, depth multiplier {multiplier} ({cin}->{cin * multiplier}), "
            f"stride {sh}x{sw}, {padding}" + (f", dilation {dilation}" if dilation != 1 else "")
            + f", fused {act} on {'x'.join(map(str, shape))}"
            + ("" if use_bias else ", no bias")
            + (", per-tensor weights" if not per_channel else "")
            + note)

    def build(tf, keras, w):
        layer = keras.layers.DepthwiseConv2D((kh, kw), strides=(sh, sw), padding=padding.lower(),
                                             depth_multiplier=multiplier, dilation_rate=dilation,
                                             use_bias=use_bias, name="depthwise")
        layer.build(shape)
        kernel_values = w.kernel((kh, kw, cin * multiplier), kh * kw).reshape(kh, kw, cin, multiplier)
        values = [kernel_values]
        if use_bias:
            values.append(w.bias(cin * multiplier))
        layer.set_weights(values)
        act_fn = _activation(tf, act)
        return lambda x: act_fn(layer(x))

    want = {"padding": padding, "stride_h": sh, "stride_w": sw, "fused_activation_function": act,
            "depth_multiplier": multiplier, "dilation_hfactor": dilation, "dilation_wfactor": dilation}
    CASES.append(Case(name, desc, (shape,), build, ("DEPTHWISE_CONV_2D",), {"DEPTHWISE_CONV_2D": want},
                      per_channel=per_channel))


depthwise_case("dw_3x3_s1_same_none", (1, 9, 11, 5), 3)
depthwise_case("dw_3x3_s1_valid_relu_dm2", (1, 9, 11, 3), 3, multiplier=2, padding="VALID", act="RELU")
depthwise_case("dw_3x3_s2_same_relu6", (1, 9, 11, 5), 3, strides=2, act="RELU6")
depthwise_case("dw_3x3_s2_valid_none_dm2", (1, 8, 8, 3), 3, multiplier=2, strides=2, padding="VALID")
depthwise_case("dw_3x3_dil2_same_relu6", (1, 9, 11, 5), 3, dilation=2, act="RELU6")
depthwise_case("dw_5x3_s2_same_relu_n1_to_1_dm2", (1, 9, 11, 3), (5, 3), multiplier=2, strides=2,
               act="RELU_N1_TO_1", note=" (from tf.clip_by_value(y, -1, 1))")
depthwise_case("dw_3x3_s1_valid_none_nobias", (1, 8, 8, 7), 3, padding="VALID", use_bias=False,
               note=" (use_bias=False; the converter stores a zero int32 bias)")
depthwise_case("dw_3x3_s1_same_relu6_per_tensor", (1, 9, 11, 5), 3, act="RELU6", per_channel=False)


# ---- FULLY_CONNECTED -----------------------------------------------------

def fc_case(name, shape, units, act="NONE", use_bias=True, keep_num_dims=False, per_channel=True, note=""):
    fan_in = shape[-1]
    desc = (f"FULLY_CONNECTED {fan_in}->{units} on {'x'.join(map(str, shape))}, fused {act}"
            + ("" if use_bias else ", no bias (bias input omitted)")
            + (", keep_num_dims" if keep_num_dims else "")
            + (", per-tensor weights" if not per_channel else "")
            + note)

    def build(tf, keras, w):
        layer = keras.layers.Dense(units, use_bias=use_bias, name="dense")
        layer.build(shape)
        values = [w.kernel((fan_in, units), fan_in)]
        if use_bias:
            values.append(w.bias(units))
        layer.set_weights(values)
        act_fn = _activation(tf, act)
        return lambda x: act_fn(layer(x))

    want = {"fused_activation_function": act, "keep_num_dims": keep_num_dims}
    CASES.append(Case(name, desc, (shape,), build, ("FULLY_CONNECTED",), {"FULLY_CONNECTED": want},
                      per_channel=per_channel))


fc_case("fc_37to11_bias_none", (1, 37), 11)
fc_case("fc_37to11_bias_relu", (1, 37), 11, act="RELU")
fc_case("fc_37to11_nobias_none", (1, 37), 11, use_bias=False)
fc_case("fc_37to11_nobias_relu6", (1, 37), 11, act="RELU6", use_bias=False)
fc_case("fc_batch3_13to7_relu", (3, 13), 7, act="RELU", note=" (a 2-D batch of 3 rows)")
fc_case("fc_3d_5x13to7_keep_dims", (1, 5, 13), 7, keep_num_dims=True, note=" (Dense on a 3-D input)")
fc_case("fc_37to11_bias_none_per_tensor", (1, 37), 11, per_channel=False)


# ---- ADD / MUL -----------------------------------------------------------

def binary_case(name, op, a_shape, b_shape, act="NONE", const=False, ranges=(), note=""):
    kind = "ADD" if op == "add" else "MUL"
    if const:
        desc = f"{kind} of {'x'.join(map(str, a_shape))} and a constant {'x'.join(map(str, b_shape))}"
        inputs = (a_shape,)
    else:
        desc = f"{kind} of {'x'.join(map(str, a_shape))} and {'x'.join(map(str, b_shape))}"
        inputs = (a_shape, b_shape)
    desc += f", fused {act}" + note

    def build(tf, keras, w):
        act_fn = _activation(tf, act)
        combine = tf.add if op == "add" else tf.multiply
        if const:
            value = tf.constant(w.uniform(b_shape, -0.8, 1.7))
            return lambda a: act_fn(combine(a, value))
        return lambda a, b: act_fn(combine(a, b))

    CASES.append(Case(name, desc, inputs, build, (kind,), {kind: {"fused_activation_function": act}},
                      ranges=ranges))


binary_case("add_same_shape", "add", (1, 5, 7, 3), (1, 5, 7, 3), ranges=((-1.0, 1.5), (-3.0, 0.5)),
            note=" (inputs with different scales)")
binary_case("add_broadcast_channel", "add", (1, 4, 4, 3), (1, 1, 1, 3), ranges=((-1.0, 1.5), (-0.4, 0.9)))
binary_case("add_broadcast_rows", "add", (1, 5, 7, 3), (1, 5, 1, 1), ranges=((-1.0, 1.5), (-2.0, 2.0)))
binary_case("add_const_vector", "add", (1, 5, 7, 3), (3,), const=True)
binary_case("add_same_shape_relu", "add", (1, 5, 7, 3), (1, 5, 7, 3), act="RELU",
            ranges=((-1.0, 1.5), (-3.0, 0.5)))
binary_case("add_broadcast_channel_relu6", "add", (1, 4, 4, 3), (1, 1, 1, 3), act="RELU6",
            ranges=((-4.0, 7.0), (-0.4, 0.9)))
binary_case("mul_same_shape", "mul", (1, 5, 7, 3), (1, 5, 7, 3), ranges=((-1.0, 1.5), (-3.0, 0.5)),
            note=" (inputs with different scales)")
binary_case("mul_broadcast_channel", "mul", (1, 4, 4, 3), (1, 1, 1, 3), ranges=((-1.0, 1.5), (-0.4, 0.9)))
binary_case("mul_broadcast_rows", "mul", (1, 5, 7, 3), (1, 5, 1, 1), ranges=((-1.0, 1.5), (-2.0, 2.0)))
binary_case("mul_const_vector", "mul", (1, 5, 7, 3), (3,), const=True)
binary_case("mul_same_shape_relu", "mul", (1, 5, 7, 3), (1, 5, 7, 3), act="RELU",
            ranges=((-1.0, 1.5), (-3.0, 0.5)))
binary_case("mul_broadcast_channel_relu6", "mul", (1, 4, 4, 3), (1, 1, 1, 3), act="RELU6",
            ranges=((-4.0, 7.0), (-0.4, 1.9)))


# ---- PAD -----------------------------------------------------------------

@case("pad_asym_hw", "PAD with zeros, asymmetric: 1 top, 2 bottom, 0 left, 3 right on 1x5x7x3",
      [(1, 5, 7, 3)], ["PAD"])
def _pad_hw(tf, keras, w):
    return lambda x: tf.pad(x, [[0, 0], [1, 2], [0, 3], [0, 0]])


@case("pad_asym_hwc", "PAD with zeros on H, W and channels ([2,0], [1,1], [1,2]) on 1x5x7x3",
      [(1, 5, 7, 3)], ["PAD"])
def _pad_hwc(tf, keras, w):
    return lambda x: tf.pad(x, [[0, 0], [2, 0], [1, 1], [1, 2]])


# ---- pools ---------------------------------------------------------------

def pool_case(name, kind, shape, size, strides, padding):
    op = "AVERAGE_POOL_2D" if kind == "avg" else "MAX_POOL_2D"
    desc = f"{op} {size}x{size} stride {strides}, {padding} on {'x'.join(map(str, shape))}"

    def build(tf, keras, w):
        cls = keras.layers.AveragePooling2D if kind == "avg" else keras.layers.MaxPooling2D
        layer = cls(size, strides=strides, padding=padding.lower(), name="pool")
        return lambda x: layer(x)

    want = {"filter_height": size, "filter_width": size, "stride_h": strides, "stride_w": strides,
            "padding": padding, "fused_activation_function": "NONE"}
    CASES.append(Case(name, desc, (shape,), build, (op,), {op: want}))


for _kind, _prefix in (("avg", "avgpool"), ("max", "maxpool")):
    pool_case(f"{_prefix}_2x2_s2_valid", _kind, (1, 9, 11, 5), 2, 2, "VALID")
    pool_case(f"{_prefix}_3x3_s2_same", _kind, (1, 9, 11, 5), 3, 2, "SAME")
    pool_case(f"{_prefix}_3x3_s2_valid", _kind, (1, 9, 11, 5), 3, 2, "VALID")


# ---- MEAN ----------------------------------------------------------------

@case("mean_hw_keepdims", "MEAN over H and W with keepdims=True on 1x9x11x5 (-> 1x1x1x5)",
      [(1, 9, 11, 5)], ["MEAN"], options={"MEAN": {"keep_dims": True}})
def _mean_keep(tf, keras, w):
    return lambda x: tf.reduce_mean(x, axis=[1, 2], keepdims=True)


@case("mean_hw", "MEAN over H and W with keepdims=False on 1x9x11x5 (-> 1x5; keras GlobalAveragePooling2D)",
      [(1, 9, 11, 5)], ["MEAN"], options={"MEAN": {"keep_dims": False}})
def _mean(tf, keras, w):
    layer = keras.layers.GlobalAveragePooling2D(name="gap")
    return lambda x: layer(x)


# ---- SOFTMAX / LOGISTIC / HARD_SWISH ------------------------------------

# The converter never folds a scale into SOFTMAX's beta: tf.nn.softmax(x * 0.5)
# or (x / 0.5) becomes MUL + SOFTMAX(beta=1.0), so every case here has beta 1.
@case("softmax_vector", "SOFTMAX on a rank-1 tensor of 13 values", [(13,)], ["SOFTMAX"],
      options={"SOFTMAX": {"beta": 1.0}}, ranges=((-4.0, 3.0),))
def _softmax_1d(tf, keras, w):
    return lambda x: tf.nn.softmax(x)


@case("softmax_rows", "SOFTMAX over the last axis of 4 rows of 10 (4x10)", [(4, 10)], ["SOFTMAX"],
      options={"SOFTMAX": {"beta": 1.0}}, ranges=((-4.0, 3.0),))
def _softmax_2d(tf, keras, w):
    return lambda x: tf.nn.softmax(x, axis=-1)


@case("softmax_4d_channels", "SOFTMAX over the channels of 1x3x5x7", [(1, 3, 5, 7)], ["SOFTMAX"],
      options={"SOFTMAX": {"beta": 1.0}}, ranges=((-6.0, 5.0),))
def _softmax_4d(tf, keras, w):
    return lambda x: tf.nn.softmax(x, axis=-1)


@case("logistic", "LOGISTIC (sigmoid) on 1x7x9x3, inputs in [-6, 6]", [(1, 7, 9, 3)], ["LOGISTIC"],
      ranges=((-6.0, 6.0),))
def _logistic(tf, keras, w):
    return lambda x: tf.math.sigmoid(x)


# Only this operand order is matched: relu6(x + 3) * x / 6 stays ADD(RELU6) + MUL
# + MUL. keras.ops.hard_swish also becomes HARD_SWISH.
@case("hard_swish", "HARD_SWISH from x * relu6(x + 3) * (1/6) on 1x8x8x5, inputs in [-5, 5]",
      [(1, 8, 8, 5)], ["HARD_SWISH"], ranges=((-5.0, 5.0),))
def _hard_swish(tf, keras, w):
    return lambda x: x * tf.nn.relu6(x + 3.0) * (1.0 / 6.0)


# ---- CONCATENATION -------------------------------------------------------

# CONCATENATION's int8 inputs cannot keep their own scales: the converter gives
# every input the output's scale and zero point, even model inputs.
@case("concat_channels", "CONCATENATION on the channel axis of 1x5x7x3 and 1x5x7x4 calibrated over different "
      "ranges (the converter gives both inputs the output's scale)",
      [(1, 5, 7, 3), (1, 5, 7, 4)], ["CONCATENATION"], options={"CONCATENATION": {"axis": 3}},
      ranges=((-1.0, 1.5), (-4.0, 6.0)))
def _concat(tf, keras, w):
    return lambda a, b: tf.concat([a, b], axis=3)


@case("concat_three_convs", "CONCATENATION on channels of three 1x1 CONV_2D branches (3->5, 3->2, 3->3) "
      "of 1x7x9x3", [(1, 7, 9, 3)], ["CONV_2D", "CONV_2D", "CONV_2D", "CONCATENATION"],
      options={"CONCATENATION": {"axis": 3}})
def _concat_convs(tf, keras, w):
    layers = []
    for i, n in enumerate((5, 2, 3)):
        layer = keras.layers.Conv2D(n, 1, name=f"branch{i}")
        layer.build((1, 7, 9, 3))
        layer.set_weights([w.kernel((1, 1, 3, n), 3) * (i + 1), w.bias(n)])
        layers.append(layer)
    return lambda x: tf.concat([layer(x) for layer in layers], axis=3)


# ---- STRIDED_SLICE / TRANSPOSE / RESHAPE ---------------------------------

@case("strided_slice_steps", "STRIDED_SLICE x[:, 1:8:2, ::3, 1:] on 1x9x11x5 (begin/end masks, strides 2 and 3)",
      [(1, 9, 11, 5)], ["STRIDED_SLICE"])
def _slice_steps(tf, keras, w):
    return lambda x: x[:, 1:8:2, ::3, 1:]


@case("strided_slice_shrink", "STRIDED_SLICE x[:, 2, 1:10:2, :] on 1x9x11x5 (shrink_axis_mask on H)",
      [(1, 9, 11, 5)], ["STRIDED_SLICE"], options={"STRIDED_SLICE": {"shrink_axis_mask": 2}})
def _slice_shrink(tf, keras, w):
    return lambda x: x[:, 2, 1:10:2, :]


@case("strided_slice_reverse", "STRIDED_SLICE x[:, ::-2, 1:10:3] on 1x9x11x5 (negative stride)",
      [(1, 9, 11, 5)], ["STRIDED_SLICE"])
def _slice_reverse(tf, keras, w):
    return lambda x: x[:, ::-2, 1:10:3]


@case("transpose_0213", "TRANSPOSE perm [0, 2, 1, 3] of 1x5x7x3", [(1, 5, 7, 3)], ["TRANSPOSE"])
def _transpose_hw(tf, keras, w):
    return lambda x: tf.transpose(x, [0, 2, 1, 3])


@case("transpose_0312", "TRANSPOSE perm [0, 3, 1, 2] of 1x5x7x3 (NHWC -> NCHW)", [(1, 5, 7, 3)], ["TRANSPOSE"])
def _transpose_nchw(tf, keras, w):
    return lambda x: tf.transpose(x, [0, 3, 1, 2])


@case("reshape_4d_to_3d", "RESHAPE 1x6x10x3 -> 1x36x5", [(1, 6, 10, 3)], ["RESHAPE"])
def _reshape(tf, keras, w):
    return lambda x: tf.reshape(x, [1, 36, 5])


@case("reshape_flatten", "RESHAPE 1x5x7x3 -> 1x105 (keras Flatten)", [(1, 5, 7, 3)], ["RESHAPE"])
def _flatten(tf, keras, w):
    layer = keras.layers.Flatten(name="flatten")
    return lambda x: layer(x)


# ---- RESIZE_NEAREST_NEIGHBOR ---------------------------------------------

@case("resize_nearest_x2", "RESIZE_NEAREST_NEIGHBOR x2 1x5x7x3 -> 1x10x14x3, neither align_corners nor "
      "half_pixel_centers (tf.compat.v1 resize; keras 3 UpSampling2D emits RESHAPE/TILE instead)",
      [(1, 5, 7, 3)], ["RESIZE_NEAREST_NEIGHBOR"],
      options={"RESIZE_NEAREST_NEIGHBOR": {"align_corners": False, "half_pixel_centers": False}})
def _resize_x2(tf, keras, w):
    return lambda x: tf.compat.v1.image.resize_nearest_neighbor(x, [10, 14])


@case("resize_nearest_align_corners", "RESIZE_NEAREST_NEIGHBOR 1x5x7x3 -> 1x10x14x3 with align_corners=True",
      [(1, 5, 7, 3)], ["RESIZE_NEAREST_NEIGHBOR"],
      options={"RESIZE_NEAREST_NEIGHBOR": {"align_corners": True, "half_pixel_centers": False}})
def _resize_align(tf, keras, w):
    return lambda x: tf.compat.v1.image.resize_nearest_neighbor(x, [10, 14], align_corners=True)


@case("resize_nearest_half_pixel", "RESIZE_NEAREST_NEIGHBOR 1x5x7x3 -> 1x10x14x3 with half_pixel_centers=True "
      "(tf.image.resize, method nearest)", [(1, 5, 7, 3)], ["RESIZE_NEAREST_NEIGHBOR"],
      options={"RESIZE_NEAREST_NEIGHBOR": {"align_corners": False, "half_pixel_centers": True}})
def _resize_half(tf, keras, w):
    return lambda x: tf.image.resize(x, [10, 14], method="nearest")


@case("resize_nearest_plain_odd", "RESIZE_NEAREST_NEIGHBOR 1x5x7x3 -> 1x9x12x3, neither align_corners nor "
      "half_pixel_centers (tf.compat.v1 resize), non-integer ratios", [(1, 5, 7, 3)], ["RESIZE_NEAREST_NEIGHBOR"],
      options={"RESIZE_NEAREST_NEIGHBOR": {"align_corners": False, "half_pixel_centers": False}})
def _resize_plain(tf, keras, w):
    return lambda x: tf.compat.v1.image.resize_nearest_neighbor(x, [9, 12])


# ---- model edges ---------------------------------------------------------

def _small_conv(keras, w, shape, filters, name="conv"):
    layer = keras.layers.Conv2D(filters, 3, padding="same", activation="relu", name=name)
    layer.build(shape)
    layer.set_weights([w.kernel((3, 3, shape[-1], filters), 9 * shape[-1]), w.bias(filters)])
    return layer


@case("io_uint8_conv", "uint8 model input and output: QUANTIZE uint8->int8, CONV_2D 3x3 3->5 RELU, "
      "QUANTIZE int8->uint8 on 1x9x11x3", [(1, 9, 11, 3)], ["QUANTIZE", "CONV_2D", "QUANTIZE"],
      io_type="uint8")
def _io_uint8(tf, keras, w):
    layer = _small_conv(keras, w, (1, 9, 11, 3), 5)
    return lambda x: layer(x)


@case("io_float32_conv", "float32 model input and output: QUANTIZE float->int8, CONV_2D 3x3 3->5 RELU, "
      "DEQUANTIZE int8->float on 1x9x11x3", [(1, 9, 11, 3)], ["QUANTIZE", "CONV_2D", "DEQUANTIZE"],
      io_type="float32")
def _io_float(tf, keras, w):
    layer = _small_conv(keras, w, (1, 9, 11, 3), 5)
    return lambda x: layer(x)


# TFLite Micro sizes RESHAPE outputs from the shape stored in the file. For
# tf.reshape(x, [tf.shape(x)[0], -1]) the converter stores [1, 1] (signature
# [-1, -1]) and TFLM refuses the model, so the chain here comes from keras
# Flatten, which packs the known 105 and leaves a [1, 105] output.
@case("shape_chain_flatten", "Dynamic-batch keras Flatten of Nx5x3x7: SHAPE -> STRIDED_SLICE -> PACK -> RESHAPE "
      "to [batch, 105]", [(None, 5, 3, 7)], ["SHAPE", "STRIDED_SLICE", "PACK", "RESHAPE"])
def _shape_chain(tf, keras, w):
    layer = keras.layers.Flatten(name="flatten")
    return lambda x: layer(x)


@case("shape_chain_flatten_dense", "Dynamic-batch tf.reshape(x, [tf.shape(x)[0], 105]) of Nx5x3x7 "
      "(SHAPE -> STRIDED_SLICE -> PACK -> RESHAPE) then FULLY_CONNECTED 105->6 RELU",
      [(None, 5, 3, 7)], ["SHAPE", "STRIDED_SLICE", "PACK", "RESHAPE", "FULLY_CONNECTED"],
      options={"FULLY_CONNECTED": {"fused_activation_function": "RELU"}})
def _shape_chain_dense(tf, keras, w):
    layer = keras.layers.Dense(6, activation="relu", name="dense")
    layer.build((1, 105))
    layer.set_weights([w.kernel((105, 6), 105), w.bias(6)])
    return lambda x: layer(tf.reshape(x, [tf.shape(x)[0], 105]))


# ---- SUB / MAXIMUM / MINIMUM ---------------------------------------------

def elementwise_case(name, op, a_shape, b_shape, act="NONE", const=False, ranges=(), note=""):
    kind = op.upper()
    if const:
        desc = f"{kind} of {'x'.join(map(str, a_shape))} and a constant {'x'.join(map(str, b_shape))}"
        inputs = (a_shape,)
    else:
        desc = f"{kind} of {'x'.join(map(str, a_shape))} and {'x'.join(map(str, b_shape))}"
        inputs = (a_shape, b_shape)
    desc += (f", fused {act}" if kind == "SUB" else "") + note

    def build(tf, keras, w):
        act_fn = _activation(tf, act)
        combine = {"sub": tf.subtract, "maximum": tf.maximum, "minimum": tf.minimum}[op]
        if const:
            value = tf.constant(w.uniform(b_shape, -0.8, 1.7))
            return lambda a: act_fn(combine(a, value))
        return lambda a, b: act_fn(combine(a, b))

    options = {kind: {"fused_activation_function": act}} if kind == "SUB" else {}
    CASES.append(Case(name, desc, inputs, build, (kind,), options, ranges=ranges))


elementwise_case("sub_same_shape", "sub", (1, 5, 7, 3), (1, 5, 7, 3), ranges=((-1.0, 1.5), (-3.0, 0.5)),
                 note=" (inputs with different scales)")
elementwise_case("sub_broadcast_channel", "sub", (1, 4, 4, 3), (1, 1, 1, 3), ranges=((-1.0, 1.5), (-0.4, 0.9)))
elementwise_case("sub_broadcast_rows", "sub", (1, 5, 7, 3), (1, 5, 1, 1), ranges=((-1.0, 1.5), (-2.0, 2.0)))
elementwise_case("sub_const_vector", "sub", (1, 5, 7, 3), (3,), const=True)
elementwise_case("sub_same_shape_relu", "sub", (1, 5, 7, 3), (1, 5, 7, 3), act="RELU",
                 ranges=((-1.0, 1.5), (-3.0, 0.5)))
elementwise_case("maximum_same_shape", "maximum", (1, 5, 7, 3), (1, 5, 7, 3), ranges=((-1.0, 1.5), (-3.0, 0.5)),
                 note=" (calibrated over different ranges)")
elementwise_case("maximum_broadcast_channel", "maximum", (1, 4, 4, 3), (1, 1, 1, 3),
                 ranges=((-1.0, 1.5), (-0.4, 0.9)))
elementwise_case("maximum_const_vector", "maximum", (1, 5, 7, 3), (3,), const=True)
elementwise_case("minimum_same_shape", "minimum", (1, 5, 7, 3), (1, 5, 7, 3), ranges=((-1.0, 1.5), (-3.0, 0.5)),
                 note=" (calibrated over different ranges)")
elementwise_case("minimum_broadcast_rows", "minimum", (1, 5, 7, 3), (1, 5, 1, 1),
                 ranges=((-1.0, 1.5), (-2.0, 2.0)))
elementwise_case("minimum_const_vector", "minimum", (1, 5, 7, 3), (3,), const=True)


# ---- standalone RELU / RELU6 / LEAKY_RELU / TANH -------------------------

@case("relu_standalone", "RELU on a model input 1x7x9x3 (keras ReLU; nothing to fuse it into)",
      [(1, 7, 9, 3)], ["RELU"], ranges=((-3.0, 2.0),))
def _relu(tf, keras, w):
    layer = keras.layers.ReLU(name="relu")
    return lambda x: layer(x)


@case("relu6_standalone", "RELU6 on a model input 1x7x9x3 (keras ReLU(max_value=6)), inputs in [-4, 9]",
      [(1, 7, 9, 3)], ["RELU6"], ranges=((-4.0, 9.0),))
def _relu6(tf, keras, w):
    layer = keras.layers.ReLU(max_value=6.0, name="relu6")
    return lambda x: layer(x)


# The converter hoists a RELU written after a RESHAPE ahead of it.
@case("relu_reshape", "tf.nn.relu(tf.reshape(x, [1, 36, 5])) of 1x6x10x3: the converter emits RELU then RESHAPE",
      [(1, 6, 10, 3)], ["RELU", "RESHAPE"], ranges=((-3.0, 2.0),))
def _relu_reshape(tf, keras, w):
    return lambda x: tf.nn.relu(tf.reshape(x, [1, 36, 5]))


@case("relu6_after_concat", "CONCATENATION on channels of 1x5x7x3 and 1x5x7x2 then RELU6 (not fused)",
      [(1, 5, 7, 3), (1, 5, 7, 2)], ["CONCATENATION", "RELU6"], ranges=((-4.0, 9.0), (-2.0, 7.0)))
def _relu6_concat(tf, keras, w):
    return lambda a, b: tf.nn.relu6(tf.concat([a, b], axis=3))


@case("leaky_relu", "LEAKY_RELU alpha 0.2 on 1x7x9x3, inputs in [-3, 2]", [(1, 7, 9, 3)], ["LEAKY_RELU"],
      ranges=((-3.0, 2.0),))
def _leaky(tf, keras, w):
    return lambda x: tf.nn.leaky_relu(x, alpha=0.2)


@case("leaky_relu_keras", "LEAKY_RELU alpha 0.3 (keras LeakyReLU) on 1x6x5x4", [(1, 6, 5, 4)], ["LEAKY_RELU"])
def _leaky_keras(tf, keras, w):
    layer = keras.layers.LeakyReLU(negative_slope=0.3, name="leaky")
    return lambda x: layer(x)


@case("tanh", "TANH on 1x7x9x3, inputs in [-4, 4]", [(1, 7, 9, 3)], ["TANH"], ranges=((-4.0, 4.0),))
def _tanh(tf, keras, w):
    return lambda x: tf.math.tanh(x)


@case("tanh_lopsided", "TANH on 1x6x5x4 over a seeded lopsided input range", [(1, 6, 5, 4)], ["TANH"])
def _tanh_lop(tf, keras, w):
    return lambda x: tf.math.tanh(x)


# ---- SPLIT / SPLIT_V / PACK / UNPACK -------------------------------------

@case("split_channels_3", "SPLIT 1x5x7x6 into three 1x5x7x2 on the channel axis, each a model output",
      [(1, 5, 7, 6)], ["SPLIT"], options={"SPLIT": {"num_splits": 3}})
def _split(tf, keras, w):
    return lambda x: tf.split(x, 3, axis=3)


@case("split_rows_2", "SPLIT 1x6x5x3 into two 1x3x5x3 on H, each a model output",
      [(1, 6, 5, 3)], ["SPLIT"], options={"SPLIT": {"num_splits": 2}})
def _split_h(tf, keras, w):
    return lambda x: tf.split(x, 2, axis=1)


@case("split_v_channels", "SPLIT_V 1x5x7x6 into channel sizes [1, 3, 2], each a model output",
      [(1, 5, 7, 6)], ["SPLIT_V"], options={"SPLIT_V": {"num_splits": 3}})
def _split_v(tf, keras, w):
    return lambda x: tf.split(x, [1, 3, 2], axis=3)


@case("split_v_width", "SPLIT_V 1x5x7x3 into width sizes [4, 3], each a model output",
      [(1, 5, 7, 3)], ["SPLIT_V"], options={"SPLIT_V": {"num_splits": 2}})
def _split_v_w(tf, keras, w):
    return lambda x: tf.split(x, [4, 3], axis=2)


@case("pack_axis1", "PACK of two 1x5x3 inputs on axis 1 (-> 1x2x5x3)", [(1, 5, 3), (1, 5, 3)], ["PACK"],
      options={"PACK": {"axis": 1, "values_count": 2}}, ranges=((-1.0, 1.5), (-1.0, 1.5)))
def _pack1(tf, keras, w):
    return lambda a, b: tf.stack([a, b], axis=1)


@case("pack_last_axis_3", "PACK of three 1x4x5 inputs on axis -1 (-> 1x4x5x3; the converter keeps axis -1)",
      [(1, 4, 5), (1, 4, 5), (1, 4, 5)], ["PACK"], options={"PACK": {"axis": -1, "values_count": 3}},
      ranges=((-2.0, 2.0), (-2.0, 2.0), (-2.0, 2.0)))
def _pack3(tf, keras, w):
    return lambda a, b, c: tf.stack([a, b, c], axis=-1)


@case("unpack_axis1", "UNPACK 1x3x5x4 on axis 1 into three 1x5x4, each a model output", [(1, 3, 5, 4)],
      ["UNPACK"], options={"UNPACK": {"axis": 1, "num": 3}})
def _unpack1(tf, keras, w):
    return lambda x: tf.unstack(x, axis=1)


@case("unpack_last_axis", "UNPACK 1x4x6x2 on axis -1 (kept negative by the converter) into two 1x4x6, each a "
      "model output", [(1, 4, 6, 2)], ["UNPACK"], options={"UNPACK": {"axis": -1, "num": 2}})
def _unpack_last(tf, keras, w):
    return lambda x: tf.unstack(x, axis=-1)


# ---- ARG_MAX ---------------------------------------------------------------

@case("argmax_channels", "ARG_MAX over the channels of 1x5x7x6, int32 indices out", [(1, 5, 7, 6)], ["ARG_MAX"],
      options={"ARG_MAX": {"output_type": 2}}, output_dtype="int32")
def _argmax_c(tf, keras, w):
    return lambda x: tf.argmax(x, axis=-1, output_type=tf.int32)


@case("argmax_rows", "ARG_MAX over axis 1 of 1x6x5x3, int32 indices out", [(1, 6, 5, 3)], ["ARG_MAX"],
      options={"ARG_MAX": {"output_type": 2}}, output_dtype="int32")
def _argmax_h(tf, keras, w):
    return lambda x: tf.argmax(x, axis=1, output_type=tf.int32)


# ---- RESIZE_BILINEAR -------------------------------------------------------

@case("resize_bilinear_half_pixel", "RESIZE_BILINEAR 1x5x7x3 -> 1x10x14x3 with half_pixel_centers=True "
      "(tf.image.resize, bilinear)", [(1, 5, 7, 3)], ["RESIZE_BILINEAR"],
      options={"RESIZE_BILINEAR": {"align_corners": False, "half_pixel_centers": True}})
def _bilinear_half(tf, keras, w):
    return lambda x: tf.image.resize(x, [10, 14], method="bilinear")


@case("resize_bilinear_half_pixel_odd", "RESIZE_BILINEAR 1x5x7x3 -> 1x9x12x3 with half_pixel_centers=True, "
      "non-integer ratios", [(1, 5, 7, 3)], ["RESIZE_BILINEAR"],
      options={"RESIZE_BILINEAR": {"align_corners": False, "half_pixel_centers": True}})
def _bilinear_half_odd(tf, keras, w):
    return lambda x: tf.image.resize(x, [9, 12], method="bilinear")


@case("resize_bilinear_align_corners", "RESIZE_BILINEAR 1x5x7x3 -> 1x9x12x3 with align_corners=True "
      "(tf.compat.v1 resize)", [(1, 5, 7, 3)], ["RESIZE_BILINEAR"],
      options={"RESIZE_BILINEAR": {"align_corners": True, "half_pixel_centers": False}})
def _bilinear_align(tf, keras, w):
    return lambda x: tf.compat.v1.image.resize_bilinear(x, [9, 12], align_corners=True)


@case("resize_bilinear_plain", "RESIZE_BILINEAR 1x5x7x3 -> 1x10x14x3, neither align_corners nor "
      "half_pixel_centers (tf.compat.v1 resize)", [(1, 5, 7, 3)], ["RESIZE_BILINEAR"],
      options={"RESIZE_BILINEAR": {"align_corners": False, "half_pixel_centers": False}})
def _bilinear_plain(tf, keras, w):
    return lambda x: tf.compat.v1.image.resize_bilinear(x, [10, 14])


@case("resize_bilinear_compat_half_pixel", "RESIZE_BILINEAR 1x5x7x3 -> 1x9x12x3 with half_pixel_centers=True "
      "(tf.compat.v1 resize)", [(1, 5, 7, 3)], ["RESIZE_BILINEAR"],
      options={"RESIZE_BILINEAR": {"align_corners": False, "half_pixel_centers": True}})
def _bilinear_compat_half(tf, keras, w):
    return lambda x: tf.compat.v1.image.resize_bilinear(x, [9, 12], half_pixel_centers=True)


# ---- TRANSPOSE_CONV --------------------------------------------------------

def transpose_conv_case(name, shape, filters, kernel, strides=2, padding="SAME", act="NONE", use_bias=True,
                        separate_act=False, note=""):
    kh, kw = _pair(kernel)
    sh, sw = _pair(strides)
    cin = shape[-1]
    desc = (f"TRANSPOSE_CONV {kh}x{kw} {cin}->{filters}, stride {sh}x{sw}, {padding}, "
            + (f"then a separate {act} op" if separate_act else f"fused {act}") + f" on {'x'.join(map(str, shape))} (keras Conv2DTranspose)"
            + ("" if use_bias else ", no bias") + note)

    def build(tf, keras, w):
        layer = keras.layers.Conv2DTranspose(filters, (kh, kw), strides=(sh, sw), padding=padding.lower(),
                                             use_bias=use_bias, name="deconv")
        layer.build(shape)
        values = [w.kernel((kh, kw, filters, cin), kh * kw * cin)]
        if use_bias:
            values.append(w.bias(filters))
        layer.set_weights(values)
        act_fn = _activation(tf, act)
        return lambda x: act_fn(layer(x))

    want = {"padding": padding, "stride_h": sh, "stride_w": sw,
            "fused_activation_function": "NONE" if separate_act else act}
    ops = ("TRANSPOSE_CONV", act) if separate_act else ("TRANSPOSE_CONV",)
    CASES.append(Case(name, desc, (shape,), build, ops, {"TRANSPOSE_CONV": want}))


transpose_conv_case("tconv_3x3_s2_same_none", (1, 4, 5, 3), 5, 3)
transpose_conv_case("tconv_3x3_s2_valid_none", (1, 4, 5, 3), 5, 3, padding="VALID")
transpose_conv_case("tconv_3x3_s2_same_relu", (1, 4, 5, 3), 5, 3, act="RELU")
transpose_conv_case("tconv_3x3_s2_valid_relu", (1, 4, 5, 3), 5, 3, padding="VALID", act="RELU")
# Without a bias the converter leaves the RELU unfused.
transpose_conv_case("tconv_3x3_s2_valid_nobias_relu", (1, 4, 5, 3), 5, 3, padding="VALID", act="RELU",
                    use_bias=False, separate_act=True, note=" (without a bias the converter does not fuse it)")
transpose_conv_case("tconv_2x2_s2_same_none_nobias", (1, 4, 5, 3), 4, 2, use_bias=False)


# --------------------------------------------------------------------------
# Conversion and checks
# --------------------------------------------------------------------------

def _seed(name: str) -> int:
    return SEED + zlib.crc32(name.encode())


def convert(tf, keras, c: Case) -> bytes:
    keras.backend.clear_session()  # keeps layer and tensor names independent of earlier cases
    w = Weights(_seed(c.name))
    fn = c.build(tf, keras, w)
    specs = [tf.TensorSpec(shape, tf.float32, name=f"input_{i}") for i, shape in enumerate(c.inputs)]
    module = tf.Module()
    module.f = tf.function(fn, input_signature=specs, autograph=False)
    concrete = module.f.get_concrete_function()

    data_rng = np.random.default_rng(_seed(c.name) + 1)
    # Without a fixed range each input gets its own seeded lopsided range, so
    # input scales and zero points vary from case to case.
    ranges = c.ranges or tuple(
        (-float(data_rng.uniform(0.3, 2.0)), float(data_rng.uniform(0.5, 3.0))) for _ in c.inputs
    )
    samples = [
        [data_rng.uniform(lo, hi, [1 if d is None else d for d in shape]).astype(np.float32)
         for shape, (lo, hi) in zip(c.inputs, ranges)]
        for _ in range(CALIBRATION_SAMPLES)
    ]

    converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete], module)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: iter(samples)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    if c.io_type != "float32":
        io = {"int8": tf.int8, "uint8": tf.uint8}[c.io_type]
        converter.inference_input_type = io
        converter.inference_output_type = io
    if not c.per_channel:
        converter._experimental_disable_per_channel = True  # private, but the only switch there is
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return converter.convert()


# The weights' and the bias's input index of each weighted operator
# (TRANSPOSE_CONV's inputs are output_shape, weights, input, bias).
_WEIGHTED = {"CONV_2D": (1, 2), "DEPTHWISE_CONV_2D": (1, 2), "FULLY_CONNECTED": (1, 2), "TRANSPOSE_CONV": (1, 3)}


def _tensor_json(t) -> dict[str, Any]:
    entry: dict[str, Any] = {"shape": list(t.shape), "dtype": t.dtype}
    if t.quant is not None:
        entry.update(t.quant.to_json())
    return entry


def describe(c: Case, raw: bytes) -> dict[str, Any]:
    """Read the converted model back and check it is the model the case aims for."""
    from mcugen.tflite_reader import parse_tflite

    g = parse_tflite(raw, c.name)
    ops = [o.op for o in g.operators]
    if tuple(ops) != c.ops:
        raise CaseError(f"the converter emitted {ops}, expected {list(c.ops)}")
    for op_name, want in c.options.items():
        first = next(o for o in g.operators if o.op == op_name)
        wrong = {k: first.options.get(k) for k, v in want.items() if first.options.get(k) != v}
        if wrong:
            raise CaseError(f"{op_name} options {wrong}, expected {want}")
    for t, io_dtype in [(t, c.io_type) for t in g.input_tensors()] + [
            (t, c.output_dtype or c.io_type) for t in g.output_tensors()]:
        if t.dtype != io_dtype:
            raise CaseError(f"model edge tensor '{t.name}' is {t.dtype}, expected {io_dtype}")

    operators = []
    for o in g.operators:
        entry: dict[str, Any] = {"op": o.op, "options": dict(sorted(o.options.items()))}
        if o.op in _WEIGHTED:
            wi, bi = _WEIGHTED[o.op]
            weights = g.tensor(o.inputs[wi])
            if weights.quant is None:
                raise CaseError(f"{o.op} weights are not quantized")
            per_channel = weights.quant.per_channel
            if per_channel != c.per_channel:
                raise CaseError(f"{o.op} weights are {'per-channel' if per_channel else 'per-tensor'}")
            entry["weights"] = "per-channel" if per_channel else "per-tensor"
            bias = g.tensor(o.inputs[bi]) if len(o.inputs) > bi and o.inputs[bi] >= 0 else None
            if bias is None:
                entry["bias"] = "omitted"
            elif bias.data is not None and not bias.data.any():
                entry["bias"] = "zeros"
            else:
                entry["bias"] = "values"
        operators.append(entry)

    def present(key: str) -> list:
        return sorted({o.options[key] for o in g.operators if key in o.options}, key=str)

    strides = sorted({(o.options["stride_h"], o.options["stride_w"]) for o in g.operators
                      if "stride_h" in o.options})
    return {
        "file": f"{c.name}.tflite",
        "description": c.description,
        "ops": ops,
        "fused_activations": present("fused_activation_function"),
        "paddings": present("padding"),
        "strides": [list(s) for s in strides],
        "operators": operators,
        "inputs": [dict(_tensor_json(t), **({"batch": "dynamic"} if shape[0] is None else {}))
                   for t, shape in zip(g.input_tensors(), c.inputs)],
        "outputs": [_tensor_json(t) for t in g.output_tensors()],
        "bytes": len(raw),
    }


class CaseError(Exception):
    pass


def run_tflm(path: Path, entry: dict[str, Any], seed: int) -> str:
    """Run the model once in TFLite Micro; returns a short summary or raises CaseError."""
    from tflite_micro import runtime

    try:
        interp = runtime.Interpreter.from_file(str(path), arena_size=1 << 20)
        rng = np.random.default_rng(seed)
        for i, spec in enumerate(entry["inputs"]):
            dtype = np.dtype(spec["dtype"])
            if dtype.kind == "f":
                x = rng.uniform(*FLOAT_TEST_RANGE, spec["shape"]).astype(dtype)
            else:
                info = np.iinfo(dtype)
                x = rng.integers(info.min, info.max + 1, spec["shape"]).astype(dtype)
            interp.set_input(x, i)
        interp.invoke()
        outs = [np.asarray(interp.get_output(i)) for i in range(len(entry["outputs"]))]
    except Exception as exc:  # the binding raises bare RuntimeError with TFLM's message
        raise CaseError(f"TFLite Micro refused it: {exc}") from None
    for out, spec in zip(outs, entry["outputs"]):
        if list(out.shape) != spec["shape"] or out.dtype != np.dtype(spec["dtype"]):
            raise CaseError(f"TFLite Micro produced {out.dtype}{list(out.shape)}, "
                            f"the file declares {spec['dtype']}{spec['shape']}")
    return ", ".join(f"{o.dtype}{list(o.shape)}" for o in outs)


def manifest_json(manifest: dict[str, Any]) -> str:
    """JSON with one line per case field: compact, yet readable and diffable."""
    def inline(value) -> str:
        return json.dumps(value, separators=(", ", ": "))

    lines = ["{"]
    for key, value in manifest.items():
        if key != "cases":
            lines.append(f'  "{key}": {inline(value)},')
    lines.append('  "cases": [')
    for i, entry in enumerate(manifest["cases"]):
        fields = [f'    "{k}": {inline(v)}' for k, v in entry.items()]
        lines.append("   {\n" + ",\n".join(fields) + "\n   }" + ("," if i + 1 < len(manifest["cases"]) else ""))
    lines.append("  ]")
    lines.append("}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="output folder (default: %(default)s)")
    parser.add_argument("--only", action="append", metavar="CASE", help="build only this case (repeatable)")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    args = parser.parse_args(argv)
    names = [c.name for c in CASES]
    assert len(set(names)) == len(names), "duplicate case names"
    if args.list:
        for c in CASES:
            print(f"{c.name:44s} {c.description}")
        return 0
    selected = CASES
    if args.only:
        unknown = sorted(set(args.only) - set(names))
        if unknown:
            parser.error(f"unknown case(s): {', '.join(unknown)}")
        selected = [c for c in CASES if c.name in args.only]

    started = time.monotonic()
    import tensorflow as tf
    import keras

    tf.get_logger().setLevel("ERROR")
    try:
        import tflite_micro  # noqa: F401
        have_tflm = True
    except ImportError:
        have_tflm = False
        print("note: tflite-micro is not installed; models are not run through TFLite Micro")

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    manifest_path = out / "MANIFEST.json"
    entries: dict[str, dict[str, Any]] = {}
    if args.only and manifest_path.exists():
        old = json.loads(manifest_path.read_text())
        entries = {e["name"]: e for e in old.get("cases", []) if e["name"] in names}

    failed: list[tuple[str, str]] = []
    for c in selected:
        target = out / f"{c.name}.tflite"
        try:
            raw = convert(tf, keras, c)
            entry = describe(c, raw)
            target.write_bytes(raw)
            summary = run_tflm(target, entry, _seed(c.name) + 2) if have_tflm else "not run"
        except CaseError as exc:
            target.unlink(missing_ok=True)
            entries.pop(c.name, None)
            failed.append((c.name, str(exc)))
            print(f"FAILED {c.name}: {exc}")
            continue
        entries[c.name] = {"name": c.name, **entry}
        print(f"{c.name:44s} {len(raw):6d} B  {' '.join(entry['ops']):40s} tflm: {summary}")

    if not args.only:
        # The folder belongs to this script: drop models of cases that no longer exist.
        for stale in sorted(set(out.glob("*.tflite")) - {out / f"{n}.tflite" for n in entries}):
            print(f"removing stale {stale.name}")
            stale.unlink()

    manifest = {
        "generator": "tests/make_op_models.py",
        "tensorflow": tf.__version__,
        "calibration": {"samples": CALIBRATION_SAMPLES,
                        "distribution": "uniform per input, range and values seeded per case"},
        "cases": [entries[n] for n in names if n in entries],
    }
    manifest_path.write_text(manifest_json(manifest))
    total = sum((out / e["file"]).stat().st_size for e in manifest["cases"])
    print(f"\nwrote {len(manifest['cases'])} models ({total / 1024:.1f} KiB) and {manifest_path}")
    print(f"done in {time.monotonic() - started:.1f} s")
    if failed:
        print(f"{len(failed)} case(s) failed:")
        for name, why in failed:
            print(f"  {name}: {why}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
