"""The generated C against TFLite Micro: every shared model bit for bit, deterministic output,
clean refusals before anything is written."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mcugen.generate import compile_model
from mcugen.ir import Graph, Operator, Quantization, Tensor
from mcugen.codegen.lowering import UnsupportedOpError, lower_graph
from mcugen.plan import plan_graph
from mcugen.reference import TflmInterpreter
from mcugen.validate import validate_model

from conftest import EXAMPLE_MODEL, SHARED_VECTORS, VALID_MODELS, assert_clean_refusal, model_params, run_cli, \
    shared_model

# Real inputs that belong to each shared model.
VECTORS = {
    "person_detect": ["person_96x96_i8.npy", "no_person_96x96_i8.npy"],
    "kws_ref_model": ["kws01_sample_i8.npy"],
    "pretrainedResnet_quant": ["ic01_sample_u8.npy"],
}


@pytest.mark.parametrize("path", model_params(VALID_MODELS))
def test_shared_model_bit_exact(path):
    vectors = [SHARED_VECTORS / v for v in VECTORS.get(path.stem, [])]
    report = validate_model(path, n_random=50, vectors=vectors, seed=1)
    print(json.dumps(report.to_json()))
    assert report.inputs == 50 + len(vectors)
    assert report.bit_exact == report.inputs, report.to_json()
    assert report.max_abs_diff == 0


def test_example_model_bit_exact_with_sanitizers():
    report = validate_model(EXAMPLE_MODEL, n_random=20, sanitize=True)
    assert report.bit_exact == report.inputs == 20


def test_person_detect_classifies_like_tflite_micro(tmp_path):
    path = shared_model("person_detect.tflite")
    reference = TflmInterpreter(path)
    for name, expected_class in (("person_96x96_i8.npy", 1), ("no_person_96x96_i8.npy", 0)):
        x = np.load(SHARED_VECTORS / name).reshape(1, 96, 96, 1)
        want = reference.run([x], 1)[0]
        assert int(np.argmax(want)) == expected_class, (name, want)
    proc = run_cli("validate", path, "--inputs", "0", "--vectors", SHARED_VECTORS / "person_96x96_i8.npy",
                   "--vectors", SHARED_VECTORS / "no_person_96x96_i8.npy", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["inputs"] == 2 and report["bit_exact"] == 2


def test_generation_is_deterministic():
    a = compile_model(EXAMPLE_MODEL).files
    b = compile_model(EXAMPLE_MODEL).files
    assert a == b
    assert "mcugen_model.c" in a and "mcugen_model.h" in a


@pytest.mark.parametrize("memory", ["fast", "small"])
def test_generation_is_deterministic_across_processes(tmp_path, memory):
    """Separate processes with different hash seeds (set and dict orders, the planner's
    searches) write byte-identical projects."""
    import os
    import subprocess
    import sys

    model = next((p for p in VALID_MODELS if p.stem == "pretrainedResnet_quant"), EXAMPLE_MODEL)
    outs = []
    for seed in ("1", "2"):
        out = tmp_path / f"seed{seed}"
        env = dict(os.environ, PYTHONHASHSEED=seed)
        proc = subprocess.run([sys.executable, "-m", "mcugen", "generate", str(model), "--board", "qemu-cm7",
                               "--memory", memory, "-o", str(out)], capture_output=True, text=True, env=env)
        assert proc.returncode == 0, proc.stderr
        outs.append(out)
    names = sorted(p.relative_to(outs[0]) for p in outs[0].rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(outs[1]) for p in outs[1].rglob("*") if p.is_file())
    for name in names:
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name


def test_generated_code_is_readable_and_aligned(tmp_path):
    proc = run_cli("generate", EXAMPLE_MODEL, "--board", "host", "-o", tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    source = (tmp_path / "out" / "mcugen_model.c").read_text()
    header = (tmp_path / "out" / "mcugen_model.h").read_text()
    assert "malloc" not in source
    assert "MCUGEN_ALIGNED(16)" in source and "static const int8_t" in source
    assert "/* layer 0: " in source
    assert "#define MCUGEN_MODEL_ARENA_BYTES" in header and "mcugen_model_invoke" in header


def test_validate_json_fields():
    proc = run_cli("validate", EXAMPLE_MODEL, "--inputs", "5", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    for key in ("inputs", "bit_exact", "max_abs_diff", "arena_bytes", "weights_bytes"):
        assert key in report
    assert report["inputs"] == report["bit_exact"] == 5


def _graph_with(op_name: str, options: dict) -> Graph:
    q = Quantization((0.1,), (0,))
    t = [Tensor(0, "x", (1, 8), "int8", q), Tensor(1, "y", (1, 8), "int8", q)]
    return Graph(t, [Operator(7, op_name, (0,), (1,), options)], (0,), (1,))


def test_unknown_op_refused_naming_layer():
    graph = _graph_with("CUMSUM", {})
    with pytest.raises(UnsupportedOpError, match=r"layer 7 \(CUMSUM\)"):
        lower_graph(graph, plan_graph(graph))


def test_refused_model_writes_nothing(tmp_path):
    out = tmp_path / "fw"
    proc = run_cli("generate", shared_model("invalid/float32_vww_96.tflite"), "--board", "host", "-o", out)
    assert_clean_refusal(proc, "float32 model")
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_generate_refuses_foreign_folder(tmp_path):
    (tmp_path / "mine.txt").write_text("keep me")
    proc = run_cli("generate", EXAMPLE_MODEL, "--board", "host", "-o", tmp_path)
    assert_clean_refusal(proc, "not made by mcugen")
    assert (tmp_path / "mine.txt").read_text() == "keep me"


def test_validate_bad_vector_file(tmp_path):
    bad = tmp_path / "v.npy"
    bad.write_text("nope")
    proc = run_cli("validate", EXAMPLE_MODEL, "--vectors", bad)
    assert_clean_refusal(proc, "not a NumPy .npy file", "numpy.save")
    assert "pickled" not in proc.stderr  # a text file is not "pickled data"


def test_validate_refuses_a_vector_file_with_no_rows(tmp_path):
    """Zero inputs would pass as "0/0 bit-exact"."""
    empty = tmp_path / "empty.npy"
    shape = compile_model(EXAMPLE_MODEL).graph.input_tensors()[0].shape
    np.save(empty, np.zeros((0,) + tuple(shape[1:]), np.int8))
    assert_clean_refusal(run_cli("validate", EXAMPLE_MODEL, "--inputs", "0", "--vectors", empty), "holds no inputs",
                         "at least one input")


def test_validate_says_how_to_quantize_float_vectors(tmp_path):
    floats = tmp_path / "f.npy"
    shape = compile_model(EXAMPLE_MODEL).graph.input_tensors()[0].shape
    np.save(floats, np.zeros(shape, np.float32))
    assert_clean_refusal(run_cli("validate", EXAMPLE_MODEL, "--vectors", floats), "holds float32", "quantize them")


def test_output_below_a_file_is_refused_in_one_line(tmp_path):
    (tmp_path / "file").write_text("x")
    proc = run_cli("generate", EXAMPLE_MODEL, "--board", "host", "-o", tmp_path / "file" / "out")
    assert_clean_refusal(proc, "is a file, not a folder", "another -o")


def test_project_folders_follow_the_umask(tmp_path):
    import os
    import stat

    from mcugen.project import write_project

    old = os.umask(0o022)
    try:
        out = write_project(tmp_path / "p", {"a.txt": "x"}, "test")
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o755
