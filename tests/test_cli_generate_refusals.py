"""`mcugen generate` on models it cannot compile, as a user runs it: one error line
naming the layer, the op and what is missing, exit code 1, and no project written.

The models are written here (tests/tflite_writer.py), two layers each so the layer
index in the message is not the trivial 0: a supported MAX_POOL_2D, then either an
op mcugen has no kernel for or a CONV_2D with an option it cannot honour.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import assert_clean_refusal, run_cli
from tflite_writer import Operator, Tensor, write_model

POOL = {"padding": "VALID", "filter_height": 2, "filter_width": 2, "stride_h": 2, "stride_w": 2}


def _pool_then(path: Path, op: str, second_inputs: list[Tensor], output: Tensor, options: dict | None) -> Path:
    """input -> MAX_POOL_2D -> ``op`` -> output; ``op`` reads the pooled tensor, then ``second_inputs``."""
    tensors = [Tensor((1, 8, 8, 3), "int8", 0.02, -5), Tensor((1, 4, 4, 3), "int8", 0.02, -5), *second_inputs, output]
    rest = list(range(2, 2 + len(second_inputs)))
    out = len(tensors) - 1
    operators = [Operator("MAX_POOL_2D", [0], [1], POOL), Operator(op, [1, *rest], [out], options)]
    return write_model(path, tensors, operators, inputs=[0], outputs=[out])


def unsupported_op_model(folder: Path) -> Path:
    # ELU has an int8 kernel in TFLite Micro but none in mcugen.
    return _pool_then(folder / "elu.tflite", "ELU", [], Tensor((1, 4, 4, 3), "int8", 0.02, -5), None)


def conv_model(folder: Path, name: str, filter_zero_point: int = 0, activation: str = "NONE") -> Path:
    rng = np.random.default_rng(7)
    weights = Tensor((4, 3, 3, 3), "int8", [0.01] * 4, [filter_zero_point] * 4,
                     rng.integers(-127, 128, (4, 3, 3, 3), dtype=np.int8))
    bias = Tensor((4,), "int32", [0.0002] * 4, [0] * 4, rng.integers(-300, 300, 4, dtype=np.int32))
    options = {"padding": "SAME", "stride_h": 1, "stride_w": 1, "fused_activation_function": activation}
    return _pool_then(folder / f"{name}.tflite", "CONV_2D", [weights, bias], Tensor((1, 4, 4, 4), "int8", 0.05, 3),
                      options)


REFUSALS = {
    # name: (model builder, what the error line must name)
    "unsupported_op_elu": (unsupported_op_model, ("layer 1 (ELU)", "no int8 kernel for ELU")),
    "conv_filter_zero_point": (lambda d: conv_model(d, "conv_zp", filter_zero_point=3),
                               ("layer 1 (CONV_2D)", "filter zero point must be 0")),
    "conv_fused_tanh": (lambda d: conv_model(d, "conv_tanh", activation="TANH"),
                        ("layer 1 (CONV_2D)", "fused activation TANH")),
}


@pytest.mark.parametrize("board", ["host", None], ids=["host", "default_board"])
@pytest.mark.parametrize("name", sorted(REFUSALS))
def test_generate_refuses_cleanly_and_writes_nothing(name: str, board: str | None, tmp_path: Path) -> None:
    build, needles = REFUSALS[name]
    model = build(tmp_path)
    out = tmp_path / "out"
    proc = run_cli("generate", model, *(["--board", board] if board else []), "-o", out)
    assert_clean_refusal(proc, *needles, code=1)
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == [model.name]  # no staging folder left behind either


def test_inspect_lists_the_unsupported_op(tmp_path: Path) -> None:
    proc = run_cli("inspect", unsupported_op_model(tmp_path), "--json")
    assert_clean_refusal(proc, "cannot compile", "ELU (layer 1)", code=1)
    report = json.loads(proc.stdout)
    assert report["unsupported_ops"] == ["ELU"]
    assert report["ops"] == {"MAX_POOL_2D": 1, "ELU": 1}


def test_same_conv_model_without_the_option_generates(tmp_path: Path) -> None:
    """The control: only the refused option stands between these models and a project."""
    out = tmp_path / "out"
    proc = run_cli("generate", conv_model(tmp_path, "conv_ok"), "--board", "host", "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert (out / "mcugen_model.c").is_file(), sorted(p.name for p in out.iterdir())


def test_inspect_reports_an_unsupported_option_after_the_tables(tmp_path: Path) -> None:
    proc = run_cli("inspect", conv_model(tmp_path, "conv_zp", filter_zero_point=3), "--json")
    assert_clean_refusal(proc, "cannot be compiled", "layer 1 (CONV_2D)", "filter zero point", code=1)
    report = json.loads(proc.stdout)
    assert report["unsupported_ops"] == [] and "filter zero point" in report["refusal"]
    assert report["constants_bytes"] is None and report["arena_bytes"] > 0


def test_legacy_uint8_model_is_refused_with_the_fix(tmp_path: Path) -> None:
    """A TF1-style model: uint8 activations and weights everywhere, not only at the edges."""
    rng = np.random.default_rng(3)
    tensors = [Tensor((1, 6, 6, 3), "uint8", 0.02, 128),
               Tensor((4, 3, 3, 3), "uint8", 0.01, 120, rng.integers(0, 256, (4, 3, 3, 3), dtype=np.uint8)),
               Tensor((4,), "int32", 0.0002, 0, rng.integers(-300, 300, 4, dtype=np.int32)),
               Tensor((1, 6, 6, 4), "uint8", 0.05, 128)]
    model = write_model(tmp_path / "legacy_uint8.tflite", tensors,
                        [Operator("CONV_2D", [0, 1, 2], [3], {"padding": "SAME", "stride_h": 1, "stride_w": 1})],
                        inputs=[0], outputs=[3])
    for command in (("inspect", model), ("generate", model, "-o", tmp_path / "out")):
        assert_clean_refusal(run_cli(*command), "uint8-quantized model", "int8")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["inspect", "generate", "validate"])
def test_a_folder_given_as_the_model(command: str, tmp_path: Path) -> None:
    """One line naming the folder and the models inside it (it was click's usage error)."""
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "net.tflite").write_bytes(b"")
    proc = run_cli(command, tmp_path / "models")
    assert_clean_refusal(proc, "is a folder, not a .tflite model file", "net.tflite")


def test_a_folder_given_as_vectors(tmp_path: Path) -> None:
    from conftest import EXAMPLE_MODEL

    (tmp_path / "batch.npy").write_bytes(b"")
    proc = run_cli("validate", EXAMPLE_MODEL, "--vectors", tmp_path)
    assert_clean_refusal(proc, "is a folder, not a .npy vector file", "batch.npy")
