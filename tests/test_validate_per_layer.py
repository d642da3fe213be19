"""`mcugen validate --per-layer`: every intermediate tensor of the generated C against
tflite-micro's (kPreserveAllTensors), naming the first layer that differs.

Real parts throughout: the generated C built with the system compiler, tflite-micro's
interpreter. The differences are real too: the model's generated C is patched (one
bias, or one layer's output zero point) before it is built, the way a broken kernel or
a wrong constant would show, and the layer named must be the patched one.
"""

from __future__ import annotations

import json
import re

from rich.console import Console

from mcugen.generate import compile_model
from mcugen.render import print_validation
from mcugen.target import HOST
from mcugen.validate import validate_model

from conftest import REPO, run_cli, shared_model

OPS = REPO / "tests" / "models" / "ops"


def patch_bias(model, layer: int, delta: int) -> None:
    """Add `delta` to the first bias of layer `layer` (its output channel 0) in the C."""
    text = model.files["mcugen_model.c"]
    pattern = re.compile(r"(static const int32_t mcugen_l%d_bias\[\d+\][^{]*\{\s*)(-?\d+)" % layer)
    patched, n = pattern.subn(lambda m: m.group(1) + str(int(m.group(2)) + delta), text, count=1)
    assert n == 1, f"no bias array for layer {layer} in the generated C"
    model.files["mcugen_model.c"] = patched


def patch_output_offset(model, layer: int, delta: int) -> None:
    text = model.files["mcugen_model.c"]
    pattern = re.compile(r"(mcugen_l%d_params = \{[^}]*?\.output_offset = )(-?\d+)" % layer, re.S)
    patched, n = pattern.subn(lambda m: m.group(1) + str(int(m.group(2)) + delta), text, count=1)
    assert n == 1, f"no output_offset for layer {layer} in the generated C"
    model.files["mcugen_model.c"] = patched


def test_cli_per_layer_passes_on_person_detect() -> None:
    model = shared_model("person_detect.tflite")
    proc = run_cli("validate", model, "--inputs", "2", "--per-layer", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)["per_layer"]
    # 31 layers, each output whole in the fast plan, all equal to tflite-micro's.
    assert (data["compared"], data["skipped"], data["differing"], data["first_difference"]) == (31, 0, 0, None)
    assert data["inputs"] == 2 and data["layers"] == 31
    assert [t["layer"] for t in data["tensors"]] == list(range(31))
    proc = run_cli("validate", model, "--inputs", "1", "--per-layer")
    assert proc.returncode == 0, proc.stderr
    assert "all 31 compared tensors match TFLite Micro's on 1 input; none skipped" in " ".join(proc.stdout.split())


def test_small_plan_and_folded_pads_are_skipped_with_their_reasons() -> None:
    """fomo_face_detection under --memory small with the arm-dsp kernels: row strips, a
    patch stage whose tensors never exist whole, and two PADs folded into convolutions."""
    report = validate_model(shared_model("fomo_face_detection.tflite"), n_random=1, per_layer=True,
                            kernels="arm-dsp", memory="small")
    layers = report.layers
    assert layers is not None and layers.strategy == "small"
    assert layers.first_difference is None and report.verdict == "bit-exact"
    reasons = [s.reason for s in layers.skipped]
    assert sum("PAD folded" in r for r in reasons) == 2 and sum("patch stage" in r for r in reasons) >= 1
    assert len(layers.checks) + len(layers.skipped) == 27  # every layer output of the file is one or the other
    assert len(layers.checks) >= 15


def test_folded_constants_and_channel_slices() -> None:
    """In-repo op models: a SHAPE -> STRIDED_SLICE -> PACK chain folded at generate time
    (skipped: a constant), and three convolutions writing their channels straight into a
    concatenation's output (read through their pixel stride)."""
    folded = validate_model(OPS / "shape_chain_flatten_dense.tflite", n_random=2, per_layer=True).layers
    assert folded is not None and folded.first_difference is None
    assert [s.op for s in folded.skipped] == ["SHAPE", "STRIDED_SLICE", "PACK"]
    assert all("generate time" in s.reason for s in folded.skipped) and len(folded.checks) == 2

    path = OPS / "concat_three_convs.tflite"
    model = compile_model(path, HOST, "portable", "fast")
    assert model.plan.program.tensor_stride, "the branches must be channel slices for this test to mean anything"
    clean = validate_model(path, n_random=2, model=model, per_layer=True).layers
    assert clean is not None and clean.first_difference is None and len(clean.checks) == 4

    model = compile_model(path, HOST, "portable", "fast")
    patch_bias(model, 1, 1 << 20)  # branch 1's channel 0
    layers = validate_model(path, n_random=2, model=model, per_layer=True).layers
    first = layers.first_difference
    assert (first.layer, first.op) == (1, "CONV_2D")
    _, h, w, _ = model.graph.tensor(first.tensor).shape
    assert 0 < first.first_input_differing <= h * w  # one channel of its slice, nothing of its neighbours'
    assert [c.layer for c in layers.differing] == [1, 3]  # the concatenation holds it; branches 0 and 2 match


def test_a_broken_constant_is_found_at_its_layer() -> None:
    """person_detect with one bias of layer 5 (a depthwise convolution) broken in the C."""
    path = shared_model("person_detect.tflite")
    model = compile_model(path, HOST, "portable", "fast")
    patch_bias(model, 5, 1 << 20)
    report = validate_model(path, n_random=2, model=model, per_layer=True)
    layers = report.layers
    first = layers.first_difference
    assert (first.layer, first.op, first.position) == (5, "DEPTHWISE_CONV_2D", 5)
    assert first.tensor == model.graph.operators[5].outputs[0]
    assert first.inputs_differing == 2 and first.first_input == 0
    assert 0 < first.first_input_differing <= 24 * 24  # channel 0 of a 24x24x32 output only
    assert first.max_abs_diff > 0
    assert all(c.matches for c in layers.checks if c.position < 5)
    assert len(layers.differing) > 1  # what it feeds differs too, but it is not the first
    assert report.verdict == "MISMATCH"

    console = Console(record=True, width=300, file=open("/dev/null", "w"))
    print_validation(console, report)
    text = console.export_text()
    assert "first difference at layer 5 (DEPTHWISE_CONV_2D)" in text
    assert "of 18,432 elements differ on input 0" in text and "5 tensor(s) before it match" in text


def test_a_wrong_zero_point_in_a_middle_layer_is_named() -> None:
    """hello_world: layer 1 of 3 (FULLY_CONNECTED) with its output zero point off by 3."""
    path = shared_model("hello_world_int8.tflite")
    model = compile_model(path, HOST, "portable", "fast")
    patch_output_offset(model, 1, 3)
    report = validate_model(path, n_random=3, model=model, per_layer=True)
    first = report.layers.first_difference
    assert (first.layer, first.op) == (1, "FULLY_CONNECTED")
    assert report.layers.checks[0].matches and first.inputs_differing == 3
    assert first.max_abs_diff <= 3
