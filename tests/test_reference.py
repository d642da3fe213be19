"""The reference interpreter runs in a child process (mcugen/reference.py): a model
that crashes or hangs tflite-micro costs one line and an exit code, never mcugen."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mcugen.errors import ReferenceInterpreterError
from mcugen.reference import TflmInterpreter

from conftest import assert_clean_refusal, run_cli, shared_model
from tflite_writer import Operator, Tensor, write_model


def _depthwise_without_bias(path: Path) -> Path:
    """A depthwise convolution with its optional bias left out: valid TFLite, but
    tflite-micro's int8 depthwise kernel dereferences the missing bias (SIGSEGV)."""
    rng = np.random.default_rng(1)
    t = [Tensor((1, 7, 6, 8), "int8", 0.05, 2),
         Tensor((1, 3, 3, 8), "int8", [0.01] * 8, [0] * 8, rng.integers(-127, 128, (1, 3, 3, 8)).astype(np.int8), 3),
         Tensor((1, 7, 6, 8), "int8", 0.05, 2)]
    options = {"padding": "SAME", "stride_w": 1, "stride_h": 1, "depth_multiplier": 1, "dilation_w_factor": 1,
               "dilation_h_factor": 1, "fused_activation_function": "NONE"}
    return write_model(path, t, [Operator("DEPTHWISE_CONV_2D", [0, 1, -1], [2], options)], [0], [2])


def test_a_crash_of_tflite_micro_is_an_error_not_a_crash(tmp_path):
    model = _depthwise_without_bias(tmp_path / "dw.tflite")
    with pytest.raises(ReferenceInterpreterError, match=r"crashed \(signal \d+\)"):
        with TflmInterpreter(model) as reference:
            reference.run([np.zeros((1, 7, 6, 8), np.int8)], 1)


def test_validate_refuses_the_model_before_the_reference_can_crash(tmp_path):
    """Since the fuzzer found this crash (issue 10), mcugen refuses the layer itself, in
    one line, before the reference runs; the test above keeps the reference's own crash
    handling honest with the same real crash."""
    model = _depthwise_without_bias(tmp_path / "dw.tflite")
    assert_clean_refusal(run_cli("validate", model, "--inputs", "2"), "layer 0 (DEPTHWISE_CONV_2D)",
                         "TensorFlow Lite Micro crashes on", code=1)


def test_a_reference_that_does_not_answer_in_time_is_an_error():
    with pytest.raises(ReferenceInterpreterError, match="hung loading"):
        TflmInterpreter(shared_model("person_detect.tflite"), timeout=0.001)


def test_the_reference_answers_many_inputs_and_closes(tmp_path):
    model = shared_model("kws_ref_model.tflite")
    with TflmInterpreter(model) as reference:
        outs = [reference.run([np.full((1, 49, 10, 1), v, np.int8)], 1)[0] for v in (-5, 0, 7)]
        proc = reference._proc
    assert all(o.shape == (1, 12) for o in outs) and not all(np.array_equal(outs[0], o) for o in outs[1:])
    assert proc.poll() is not None  # the child is gone once closed
