"""AVERAGE_POOL_2D, MAX_POOL_2D, MEAN, SOFTMAX, LOGISTIC, HARD_SWISH: the generated
C against TFLite Micro, bit for bit (compiled with ASan/UBSan).

Two sources of models:
  * the per-op models in tests/models/ops (MANIFEST.json), made by the TensorFlow
    converter (tests/make_op_models.py);
  * one-operator models written here as TFLite flatbuffers, for what the converter
    does not readily emit: fused activations on pools, batches > 1, even SAME
    windows, MEAN over other axes / with duplicate and negative axes / with a new
    output scale, SOFTMAX with beta != 1 and other input scales, LOGISTIC and
    HARD_SWISH across input and output scales (both signs of HARD_SWISH's relu-ish
    shift), and options mcugen must refuse. TFLite Micro is the oracle for all.

Each model runs random inputs plus edge vectors (all -128, all 127, alternating,
sparse maxima) that random inputs rarely produce.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from mcugen.codegen.emit import render_model_module, runtime_files
from mcugen.codegen.lowering import UnsupportedOpError
from mcugen.errors import ModelError
from mcugen.generate import GeneratedModel, compile_model
from mcugen.target import HOST
from mcugen.loader import fold_constants
from mcugen.plan import plan_graph
from mcugen.tflite_reader import read_tflite
from mcugen.validate import validate_model

from op_cases import compile_or_skip, manifest_cases
from tflite_writer import Tensor, write_op_model

MY_OPS = {"AVERAGE_POOL_2D", "MAX_POOL_2D", "MEAN", "SOFTMAX", "LOGISTIC", "HARD_SWISH"}
N_RANDOM = 20


def edge_vectors(directory: Path, shape: tuple[int, ...]) -> list[Path]:
    """Inputs random draws almost never give: constant rows, extremes side by side."""
    flat = np.arange(int(np.prod(shape))).reshape(shape)
    patterns = {
        "min": np.full(shape, -128),
        "max": np.full(shape, 127),
        "zero": np.zeros(shape),
        "alternating": np.where(flat % 2, 127, -128),
        "sparse_max": np.where(flat % 7 == 3, 127, -128),
        "ramp": flat % 256 - 128,
    }
    paths = []
    for name, values in patterns.items():
        path = directory / f"{name}.npy"
        np.save(path, values.astype(np.int8))
        paths.append(path)
    return paths


def assert_bit_exact(model: Path, tmp_path: Path, generated: GeneratedModel | None = None,
                     kernels: str = "portable") -> None:
    generated = generated or compile_model(model, HOST, kernels)
    shape = generated.graph.input_tensors()[0].shape
    report = validate_model(model, n_random=N_RANDOM, vectors=edge_vectors(tmp_path, shape), sanitize=True,
                            model=generated)
    assert report.inputs == N_RANDOM + 6
    assert report.bit_exact == report.inputs, report.to_json()


# --------------------------------------------------------------------------
# Per-op models from the manifest
# --------------------------------------------------------------------------

@pytest.mark.parametrize("model", manifest_cases(MY_OPS))
def test_op_model_bit_exact(model: Path, tmp_path: Path, kernels: str) -> None:
    assert_bit_exact(model, tmp_path, compile_or_skip(model, MY_OPS, kernels))


# --------------------------------------------------------------------------
# One-operator models
# --------------------------------------------------------------------------

@dataclass
class Op:
    op: str
    inputs: list[Tensor]
    output: Tensor
    options: dict | None = None  # None: no options table


def write_model(path: Path, spec: Op) -> Path:
    return write_op_model(path, spec.op, spec.inputs, [spec.output], spec.options)


def q8(shape: tuple[int, ...], scale: float, zero_point: int) -> Tensor:
    return Tensor(shape, "int8", scale, zero_point)


def pool_options(filt: tuple[int, int], stride: tuple[int, int], padding: str, activation: str = "NONE") -> dict:
    return {"filter_height": filt[0], "filter_width": filt[1], "stride_h": stride[0], "stride_w": stride[1],
            "padding": padding, "fused_activation_function": activation}


# --------------------------------------------------------------------------
# Variant builders
# --------------------------------------------------------------------------

def _out_size(padding: str, n: int, f: int, s: int) -> int:
    return (n + s - 1) // s if padding == "SAME" else (n + s - f) // s


def pool(op: str, shape: tuple[int, int, int, int], filt: tuple[int, int], stride: tuple[int, int], padding: str,
         activation: str = "NONE", scale: float = 0.02, zp: int = -5) -> Op:
    n, h, w, c = shape
    out = (n, _out_size(padding, h, filt[0], stride[0]), _out_size(padding, w, filt[1], stride[1]), c)
    return Op(op, [q8(shape, scale, zp)], q8(out, scale, zp), pool_options(filt, stride, padding, activation))


def mean(shape: tuple[int, ...], axes: list[int], keep_dims: bool, out_shape: tuple[int, ...],
         in_q: tuple[float, int] = (0.02, -26), out_q: tuple[float, int] = (0.02, -26)) -> Op:
    axis = Tensor((len(axes),), "int32", data=np.array(axes))
    return Op("MEAN", [q8(shape, *in_q), axis], q8(out_shape, *out_q), {"keep_dims": keep_dims})


def softmax(shape: tuple[int, ...], beta: float, in_q: tuple[float, int], int16: bool = False) -> Op:
    out = Tensor(shape, "int16", 1.0 / 65536, -32768) if int16 else q8(shape, 1.0 / 256, -128)
    return Op("SOFTMAX", [q8(shape, *in_q)], out, {"beta": beta})


def unary(op: str, in_q: tuple[float, int], out_q: tuple[float, int], shape: tuple[int, ...] = (1, 6, 7, 8)) -> Op:
    return Op(op, [q8(shape, *in_q)], q8(shape, *out_q))


VARIANTS = {
    # pooling: fused activations, batch 2, even SAME windows (padding only after), global windows
    "avg_relu6_batch2": pool("AVERAGE_POOL_2D", (2, 9, 11, 5), (3, 3), (2, 2), "SAME", "RELU6", 0.05, 10),
    "avg_relu_2x3_s1x2_same": pool("AVERAGE_POOL_2D", (1, 7, 10, 3), (2, 3), (1, 2), "SAME", "RELU"),
    "avg_n1to1_5x5_s3_same": pool("AVERAGE_POOL_2D", (1, 13, 8, 4), (5, 5), (3, 3), "SAME", "RELU_N1_TO_1", 0.01, 3),
    "avg_4x4_s1_same": pool("AVERAGE_POOL_2D", (1, 6, 7, 2), (4, 4), (1, 1), "SAME"),
    "avg_global_valid": pool("AVERAGE_POOL_2D", (1, 9, 11, 6), (9, 11), (1, 1), "VALID"),
    "max_relu6_batch2": pool("MAX_POOL_2D", (2, 9, 11, 5), (3, 3), (2, 2), "SAME", "RELU6", 0.05, 10),
    "max_relu_2x3_s1x2_same": pool("MAX_POOL_2D", (1, 7, 10, 3), (2, 3), (1, 2), "SAME", "RELU"),
    "max_n1to1_4x4_s1_same": pool("MAX_POOL_2D", (1, 6, 7, 2), (4, 4), (1, 1), "SAME", "RELU_N1_TO_1", 0.01, 3),
    # MEAN: other axes, negative and duplicate axes, rank 3, all axes, new output scales
    "mean_channels_keep": mean((1, 9, 11, 5), [3], True, (1, 9, 11, 1)),
    "mean_neg_axis": mean((1, 9, 11, 5), [-1], False, (1, 9, 11)),
    "mean_axes_0_2": mean((2, 9, 11, 5), [0, 2], False, (9, 5)),
    "mean_dup_axes_rescaled": mean((1, 9, 11, 5), [2, 1, 2], True, (1, 1, 1, 5), out_q=(0.0003, 7)),
    "mean_h_rescaled": mean((1, 9, 11, 5), [1], False, (1, 11, 5), (0.02, 100), (0.05, -3)),
    "mean_all_axes": mean((1, 9, 11, 5), [0, 1, 2, 3], False, (), out_q=(0.00001, 0)),
    "mean_axes_1_3_keep": mean((2, 3, 4, 5), [1, 3], True, (2, 1, 4, 1), out_q=(0.5, -100)),
    "mean_rank3": mean((6, 50, 7), [1], False, (6, 7), out_q=(0.001, 20)),
    # 1/count cannot be folded in whole: the shift clamp (31 + output_shift) of TFLM's Eval
    "mean_shift_clamp": mean((1, 100, 100, 2), [1, 2], False, (1, 2), (2e-8, 77), (0.00001, -60)),
    # SOFTMAX: beta, input scales from tiny to large, wide rows
    "softmax_beta_0_5": softmax((3, 17), 0.5, (0.0274, 18)),
    "softmax_beta_2_small_scale": softmax((3, 17), 2.0, (0.001, -20)),
    "softmax_large_scale": softmax((5, 9), 1.0, (0.7, 5)),
    "softmax_depth_300": softmax((2, 300), 1.0, (0.01, 0)),
    # LOGISTIC: input scales (shift and range radius), an output scale TFLM ignores
    "logistic_scale_0_01": unary("LOGISTIC", (0.01, 5), (1.0 / 256, -128)),
    "logistic_scale_0_2": unary("LOGISTIC", (0.2, -30), (1.0 / 256, -128)),
    "logistic_scale_1": unary("LOGISTIC", (1.0, 0), (1.0 / 256, -128)),
    "logistic_other_out_scale": unary("LOGISTIC", (0.0625, 127), (0.01, -128)),
    # HARD_SWISH: relu-ish shift > 0 and < 0, various output shifts and zero points
    "hard_swish_a": unary("HARD_SWISH", (0.1, 10), (0.05, -20)),
    "hard_swish_small_input_scale": unary("HARD_SWISH", (0.005, -7), (0.003, -128)),
    "hard_swish_large_input_scale": unary("HARD_SWISH", (0.5, 0), (0.3, 50)),
    "hard_swish_high_zero_point": unary("HARD_SWISH", (0.03, 120), (0.2, -128)),
}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_variant_bit_exact(name: str, tmp_path: Path, kernels: str) -> None:
    model = write_model(tmp_path / f"{name}.tflite", VARIANTS[name])
    assert_bit_exact(model, tmp_path, kernels=kernels)


def _generate_without_int8_check(model: Path) -> GeneratedModel:
    """compile_model without the loader's int8-only gate (which turns away any
    int16 tensor): lets the int8 -> int16 SOFTMAX kernel be proven now."""
    graph = read_tflite(model)
    fold_constants(graph)
    plan = plan_graph(graph)
    module = render_model_module(graph, plan, model.read_bytes(), model.name)
    files = dict(runtime_files(module.headers))
    files.update(module.files)
    return GeneratedModel(graph, plan, module, files)


@pytest.mark.parametrize("shape", [(4, 10), (2, 257)], ids=["4x10", "2x257"])
def test_softmax_int16_output_bit_exact(shape: tuple[int, ...], tmp_path: Path) -> None:
    model = write_model(tmp_path / "softmax_s16.tflite", softmax(shape, 1.0, (0.03, 3), int16=True))
    generated = _generate_without_int8_check(model)
    assert "fixedpoint.h" in generated.files
    assert_bit_exact(model, tmp_path, generated)


def test_fixedpoint_header_copied_only_when_used(tmp_path: Path) -> None:
    pooled = compile_model(write_model(tmp_path / "p.tflite", VARIANTS["max_relu6_batch2"]))
    assert "fixedpoint.h" not in pooled.files
    soft = compile_model(write_model(tmp_path / "s.tflite", VARIANTS["softmax_beta_0_5"]))
    assert "fixedpoint.h" in soft.files


# --------------------------------------------------------------------------
# Refusals: options TFLM rejects or mcugen cannot honour, caught at generate time
# --------------------------------------------------------------------------

REFUSED = {
    "pool_scale_differs": (
        Op("AVERAGE_POOL_2D", [q8((1, 8, 8, 3), 0.02, 0)], q8((1, 4, 4, 3), 0.04, 0),
           pool_options((2, 2), (2, 2), "VALID")),
        "layer 0 (AVERAGE_POOL_2D)", "quantization differ"),
    "pool_fused_tanh": (
        Op("MAX_POOL_2D", [q8((1, 8, 8, 3), 0.02, 0)], q8((1, 4, 4, 3), 0.02, 0),
           pool_options((2, 2), (2, 2), "VALID", "TANH")),
        "layer 0 (MAX_POOL_2D)", "TANH"),
    "softmax_output_scale": (
        Op("SOFTMAX", [q8((1, 10), 0.1, 0)], q8((1, 10), 1.0 / 128, -128), {"beta": 1.0}),
        "layer 0 (SOFTMAX)", "scale 1/256"),
    "softmax_tiny_beta": (
        Op("SOFTMAX", [q8((1, 10), 1e-9, 0)], q8((1, 10), 1.0 / 256, -128), {"beta": 1.0}),
        "layer 0 (SOFTMAX)", "not > 1"),
    "logistic_output_zero_point": (
        unary("LOGISTIC", (0.05, 0), (1.0 / 256, 0)), "layer 0 (LOGISTIC)", "zero point must be -128"),
    "hard_swish_output_exponent": (
        unary("HARD_SWISH", (0.5, 0), (0.001, 0)), "layer 0 (HARD_SWISH)", "exponent"),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_at_generate_time(name: str, tmp_path: Path) -> None:
    spec, layer, detail = REFUSED[name]
    model = write_model(tmp_path / f"{name}.tflite", spec)
    with pytest.raises(UnsupportedOpError) as info:
        compile_model(model)
    assert layer in str(info.value)
    assert detail in str(info.value)


def test_pool_with_wrong_output_shape_is_a_malformed_model(tmp_path: Path) -> None:
    """The verifier refuses it (exit 2) before the lowering could (mcugen/op_shapes.py)."""
    spec = Op("MAX_POOL_2D", [q8((1, 8, 8, 3), 0.02, 0)], q8((1, 3, 3, 3), 0.02, 0),
              pool_options((2, 2), (2, 2), "VALID"))
    with pytest.raises(ModelError, match=r"layer 0 \(MAX_POOL_2D\) has output shape \[1, 3, 3, 3\], but its "
                                         r"inputs \[1, 8, 8, 3\] and options give \[1, 4, 4, 3\]"):
        compile_model(write_model(tmp_path / "pool_wrong_output_shape.tflite", spec))


def test_mean_with_runtime_axes_is_refused(tmp_path: Path) -> None:
    spec = mean((1, 4, 4, 3), [1, 2], True, (1, 1, 1, 3))
    spec.inputs[1] = Tensor((2,), "int32")  # axes fed at run time, not a constant
    model = write_model(tmp_path / "mean_runtime_axes.tflite", spec)
    with pytest.raises(UnsupportedOpError) as info:
        compile_model(model)
    assert "layer 0 (MEAN)" in str(info.value)
    assert "constant" in str(info.value)
