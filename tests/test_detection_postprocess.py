"""TFLite_Detection_PostProcess (SSD detectors' last op): read, accepted with its float
tensors, planned, compiled and bit-exact with TFLite Micro on the host (both NMS modes,
both kernel variants) and on the emulated qemu-cm7; what TFLite Micro cannot run is refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")
pytest.importorskip("tflite_micro")

from conftest import SSD_MAX_DETECTIONS, assert_clean_refusal, run_cli  # noqa: E402
from ssd_model import SCORE_THRESHOLD  # noqa: E402

from mcugen.codegen.lowering import UnsupportedOpError, lower_graph, plan_for  # noqa: E402
from mcugen.errors import ModelError, UnsupportedModelError  # noqa: E402
from mcugen.loader import load_model  # noqa: E402
from mcugen.model_check import classify, require_builtin_ops  # noqa: E402
from mcugen.ops import DETECTION_POSTPROCESS  # noqa: E402
from mcugen.reference import TflmInterpreter  # noqa: E402
from mcugen.tflite_reader import read_tflite  # noqa: E402
from mcugen.validate import random_inputs, validate_model  # noqa: E402

MAX_DETECTIONS = SSD_MAX_DETECTIONS


@pytest.fixture
def ssd(ssd_models) -> dict[str, Path]:
    """Both NMS modes of the test detector (conftest.ssd_models)."""
    return ssd_models


def _detection_op(graph):
    return next(op for op in graph.operators if op.op == DETECTION_POSTPROCESS)


def test_reader_parses_the_flexbuffer_options(ssd):
    for mode, path in ssd.items():
        options = _detection_op(read_tflite(path)).options
        assert options["use_regular_nms"] is (mode == "regular")
        assert (options["max_detections"], options["num_classes"], options["max_classes_per_detection"]) == (5, 3, 1)
        assert options["detections_per_class"] == 100
        # AsFloat: the float32 of what the exporter wrote
        assert options["nms_score_threshold"] == float(np.float32(SCORE_THRESHOLD))
        assert (options["y_scale"], options["x_scale"], options["h_scale"], options["w_scale"]) == (10, 10, 5, 5)
        with pytest.raises(KeyError):
            options["max_detection"]  # a misspelt option is an error, not a default


def test_broken_options_are_one_line_refusals(ssd, tmp_path):
    raw = ssd["fast"].read_bytes()
    renamed = tmp_path / "renamed_option.tflite"  # the flexbuffer key max_detections misspelt
    renamed.write_bytes(raw.replace(b"max_detections\x00", b"max_detectionz\x00", 1))
    with pytest.raises(ModelError, match="lacks the option 'max_detections'"):
        load_model(renamed)
    zero_iou = tmp_path / "zero_iou.tflite"  # nms_iou_threshold 0.5 -> 0.0, its float32 in the flexbuffer
    assert raw.count(np.float32(0.5).tobytes()) == 1
    zero_iou.write_bytes(raw.replace(np.float32(0.5).tobytes(), np.float32(0.0).tobytes()))
    assert _detection_op(read_tflite(zero_iou)).options["nms_iou_threshold"] == 0.0
    with pytest.raises(ModelError, match=r"nms_iou_threshold = 0.0 is not in \(0, 1\]"):
        load_model(zero_iou)


def test_float_tensors_around_the_op_are_accepted_and_nowhere_else(ssd):
    graph = load_model(ssd["fast"])  # refuses nothing: mid-graph DEQUANTIZE, float anchors, float outputs
    assert classify(graph).kind == "int8"
    # Without the op, the box head's float32 (now a model output) is fine at the edge,
    # but the score head's DEQUANTIZE writes a float32 tensor inside the graph again.
    op = _detection_op(graph)
    graph.operators.remove(op)
    graph.outputs = (op.inputs[0],)
    kind = classify(graph)
    assert kind.kind == "float" and "dequantizes into a float32 tensor inside the graph" in kind.reason


def test_host_bit_exact_in_both_nms_modes(ssd):
    """Every output byte as TFLite Micro's on inputs that give 1..max detections, with ties
    (the scores are 1/256 apart) and boxes that suppress each other."""
    for mode, path in ssd.items():
        graph = load_model(path)
        counts = []
        with TflmInterpreter(path) as reference:
            for one in random_inputs(graph.input_tensors(), 12, seed=0):
                outputs = reference.run(one, len(graph.outputs))
                counts.append(int(outputs[list(graph.outputs).index(_detection_op(graph).outputs[3])][0]))
        assert min(counts) < MAX_DETECTIONS and max(counts) == MAX_DETECTIONS and min(counts) >= 1, counts
        # fast: every intermediate tensor too (TFLite Micro leaves the slots after the
        # detections as the arena held them: the reference zeroes them, as the kernel does)
        report = validate_model(path, n_random=12, seed=0, kernels="portable", per_layer=mode == "fast")
        assert report.verdict == "bit-exact", (mode, report.to_json())
    # The other variant and the other plan run the same kernel from other arena places.
    report = validate_model(ssd["fast"], n_random=6, seed=1, kernels="arm-dsp", memory="small", sanitize=True)
    assert report.verdict == "bit-exact", report.to_json()


def test_working_memory_is_planned_scratch(ssd):
    graph = load_model(ssd["regular"])
    plan = plan_for(graph)
    calls, _ = lower_graph(graph, plan)
    call = next(c for c in calls if c.op == DETECTION_POSTPROCESS)
    entry = next(e for e in plan.program.entries if getattr(e, "position", None) == call.position
                 and getattr(e, "scratch_bytes", 0))
    # decoded boxes alone are 16 B per anchor; everything lies inside the arena
    assert entry.scratch_bytes >= 16 * graph.tensor(_detection_op(graph).inputs[0]).shape[1]
    assert plan.scratch_address(entry) + entry.scratch_bytes <= plan.arena_bytes
    assert call.args[-1].startswith("(uint8_t *)(mcugen_arena + ")


def test_options_tflite_micro_gets_wrong_are_refused(ssd):
    graph = load_model(ssd["fast"])
    _detection_op(graph).options["max_classes_per_detection"] = 2
    with pytest.raises(UnsupportedOpError, match="max_classes_per_detection"):
        lower_graph(graph, plan_for(graph))


def _int8_input_variant(path: Path, out: Path) -> Path:
    """The model with the op reading the int8 heads directly (TF1-era quantized SSD
    exports): its box and score inputs rewritten in place to the DEQUANTIZE ops' inputs."""
    import tflite

    raw = bytearray(path.read_bytes())
    model = tflite.Model.GetRootAsModel(raw, 0)
    sub = model.Subgraphs(0)
    ops = [sub.Operators(i) for i in range(sub.OperatorsLength())]
    producer = {int(op.OutputsAsNumpy()[0]): op for op in ops}
    custom = ops[-1]
    start = custom._tab.Vector(custom._tab.Offset(6))  # Operator.inputs
    for k in range(2):
        src = int(producer[int(custom.InputsAsNumpy()[k])].InputsAsNumpy()[0])
        raw[start + 4 * k: start + 4 * k + 4] = np.int32(src).tobytes()
    out.write_bytes(bytes(raw))
    return out


def test_int8_inputs_are_refused_as_tflite_micro_cannot_run_them(ssd, tmp_path):
    variant = _int8_input_variant(ssd["fast"], tmp_path / "ssd_int8_heads.tflite")
    graph = read_tflite(variant)
    with pytest.raises(UnsupportedModelError, match="int8 box encodings"):
        require_builtin_ops(graph, variant.name)
    assert_clean_refusal(run_cli("generate", variant, "-o", tmp_path / "fw"), "TFLite_Detection_PostProcess",
                         "float32 only")
    assert not (tmp_path / "fw").exists()


@pytest.mark.skipif(shutil.which("qemu-system-arm") is None, reason="qemu-system-arm not installed")
def test_qemu_cm7_bit_exact(ssd, tmp_path):
    """On the emulated Cortex-M7 (double-precision FPU, newlib's exp): regular NMS, the
    mode with the most float arithmetic, against TFLite Micro on the host."""
    model, project = ssd["regular"], tmp_path / "fw"
    proc = run_cli("generate", model, "--board", "qemu-cm7", "-o", project)
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("build", project, "--json")
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("bench", "--model", model, "--emulate", project, "--random", "10", "--json", timeout=600)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert (report["inputs"], report["bit_exact"], report["max_abs_diff"]) == (10, 10, 0), report
