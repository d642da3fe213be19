"""The model verifier (issue 10): each crafted defect of a real model is refused in
one line naming it, exit 2, and the defects the issue found by fuzzing stay fixed.

The model is the repository's example (no ../shared needed); each case writes one
value into one field, found through mcugen.tflite_layout's record of where every
field lies, and where tflite-micro refuses the same file the test says so too.
"""

from __future__ import annotations

import math
import re
import struct
import subprocess
import sys

import pytest

from conftest import EXAMPLE_MODEL, REPO, shared_model
from mcugen.errors import ModelError, UnsupportedModelError
from mcugen.loader import load_model
from mcugen.tflite_layout import check_layout
from tflm_oracle import TflmOracle

RAW = EXAMPLE_MODEL.read_bytes()
SITES = check_layout(RAW, "example", record=True).sites
# In the example: tensor 0 is the image input, 13 the first conv's filter, 14 its output
# (read by layer 1), 5 a conv filter, 2 the dense bias; layer 0 is CONV_2D, 9 FULLY_CONNECTED.
SUB = "the model.subgraphs[0]"


def site(path: str, kind: str = "scalar"):
    found = [s for s in SITES if s.path == path and s.kind == kind]
    assert len(found) == 1, (path, kind, [s.path for s in SITES if path in s.path][:5])
    return found[0]


def edit(path: str, value, fmt: str | None = None, element: int = 0, kind: str | None = None,
         raw: bytes = RAW) -> bytes:
    where = site(path, kind or ("vector" if fmt in ("<f", "<q") or element else "scalar"))
    fmt = fmt or {1: "<b", 2: "<h", 4: "<i", 8: "<q"}[where.size]
    out = bytearray(raw)
    struct.pack_into(fmt, out, where.pos + element * where.size, value)
    return bytes(out)


def refused(tmp_path, mutant: bytes, pattern: str, kind: type = ModelError) -> str:
    path = tmp_path / "model.tflite"
    path.write_bytes(mutant)
    with pytest.raises(kind) as caught:
        load_model(path)
    line = caught.value.one_line()
    assert "\n" not in line and re.search(pattern, line), line
    assert caught.value.exit_code == 2
    return line


def test_example_model_passes_the_verifier():
    graph = load_model(EXAMPLE_MODEL)
    assert len(graph.operators) == 11


@pytest.mark.parametrize("cut", [1, 2, 7, 64, len(RAW) // 2])
def test_truncated_file(tmp_path, cut):
    refused(tmp_path, RAW[:-cut], r"truncated or corrupt: .* runs past the end|claims .* elements")


def test_trailing_bytes(tmp_path):
    refused(tmp_path, RAW + b"\x01" * 40, r"40 bytes after the end of the model that are neither padding")


def test_padding_and_associated_files_after_the_model_are_fine(tmp_path):
    import io
    import zipfile

    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("labels.txt", "circle\nsquare\n")
    for tail in (b"\0" * 40, archive.getvalue()):
        path = tmp_path / "model.tflite"
        path.write_bytes(RAW + tail)
        assert len(load_model(path).operators) == 11


@pytest.mark.parametrize("value", [0.0, -0.5, math.nan, math.inf, -math.inf, 1e-40])
def test_bad_scales(tmp_path, value):
    mutant = edit(f"{SUB}.tensors[14].quantization.scale", value, "<f")
    refused(tmp_path, mutant, r"tensor .* has quantization scale .*finite and positive")


@pytest.mark.parametrize("value", [1000, -129, 128])
def test_int8_zero_point_outside_int8(tmp_path, value):
    mutant = edit(f"{SUB}.tensors[14].quantization.zero_point", value, "<q")
    refused(tmp_path, mutant, rf"zero point {value}, outside the int8 range -128..127")


def test_scales_without_zero_points(tmp_path):
    mutant = edit(f"{SUB}.tensors[14].quantization.zero_point", 0, "<I", kind="length")
    refused(tmp_path, mutant, r"1 scales but 0 zero points")


def test_per_channel_scale_count_must_match_the_axis(tmp_path):
    # tensor 11, the depthwise filter [1, 3, 3, 16], is quantized along axis 3
    mutant = edit(f"{SUB}.tensors[11].quantization.quantized_dimension", 1)
    refused(tmp_path, mutant, r"16 per-channel scales but dimension 1 is 3")


def test_per_channel_axis_past_the_rank(tmp_path):
    mutant = edit(f"{SUB}.tensors[11].quantization.quantized_dimension", 7)
    refused(tmp_path, mutant, r"quantized per channel along axis 7 but has rank 4")


def test_operator_reads_its_own_output(tmp_path):
    mutant = edit(f"{SUB}.operators[1].inputs", 15, "<i", kind="vector")
    refused(tmp_path, mutant, r"layer 1 \(MAX_POOL_2D\) reads its own output, tensor 15")


def test_operator_reads_a_tensor_written_later(tmp_path):
    mutant = edit(f"{SUB}.operators[1].inputs", 16, "<i", kind="vector")
    refused(tmp_path, mutant, r"layer 1 \(MAX_POOL_2D\) reads tensor 16 .*written only by a later layer")


def test_two_layers_write_one_tensor(tmp_path):
    mutant = edit(f"{SUB}.operators[1].outputs", 14, "<i", kind="vector")
    refused(tmp_path, mutant, r"reads its own output|writes tensor 14 .*which layer 0 writes too")


@pytest.mark.parametrize("value,pattern", [(-2, r"refers to tensor -2"), (25, r"refers to tensor 25 but the model "
                                                                              r"has 25 tensors")])
def test_operator_input_index_out_of_range(tmp_path, value, pattern):
    refused(tmp_path, edit(f"{SUB}.operators[0].inputs", value, "<i", kind="vector"), pattern)


def test_negative_output_index(tmp_path):
    refused(tmp_path, edit(f"{SUB}.operators[0].outputs", -1, "<i", kind="vector"), r"refers to tensor -1")


def test_subgraph_count_of_two_to_the_thirty(tmp_path):
    mutant = edit("the model.subgraphs", 1 << 30, "<I", kind="length")
    refused(tmp_path, mutant, r"subgraphs claims 1,073,741,824 elements, more than the file holds")


def test_unknown_tensor_type_code(tmp_path):
    refused(tmp_path, edit(f"{SUB}.tensors[14].type", 99), r"tensor 14 .*type code 99, which TensorFlow Lite "
                                                           r"does not define")


def test_tensor_type_mcugen_does_not_compile(tmp_path):
    refused(tmp_path, edit(f"{SUB}.tensors[14].type", 9 + 8), r"type INT4, which mcugen does not compile",
            UnsupportedModelError)


def test_zero_dimension(tmp_path):
    refused(tmp_path, edit(f"{SUB}.tensors[14].shape", 0, "<i", element=1, kind="vector"),
            r"tensor 14 .* has a zero dimension: \[1, 0, 32, 16\]")


def test_huge_input_dimension_is_a_shape_mismatch(tmp_path):
    # The case: generated C that ran off its buffers. The shapes no longer agree.
    mutant = edit(f"{SUB}.tensors[0].shape", 96000, "<i", element=2, kind="vector")
    refused(tmp_path, mutant, r"layer 0 \(CONV_2D\) has output shape \[1, 32, 32, 16\], but its inputs "
                              r"\[1, 32, 96000, 3\].* give \[1, 32, 96000, 16\]")


def test_tensor_over_two_gib(tmp_path):
    mutant = edit(f"{SUB}.tensors[0].shape", 1 << 30, "<i", element=1, kind="vector")
    refused(tmp_path, mutant, r"tensor 0 .*over 2 GiB")


def test_missing_weight_buffer_is_a_malformed_model(tmp_path):
    # Was: "filter is not constant" (exit 1). A filter nobody writes is a broken file.
    mutant = edit(f"{SUB}.tensors[13].buffer", 0)
    refused(tmp_path, mutant, r"layer 0 \(CONV_2D\) reads tensor 13 .*never written")


def test_buffer_index_past_the_buffers(tmp_path):
    refused(tmp_path, edit(f"{SUB}.tensors[13].buffer", 5000), r"tensor 13 .*names buffer 5000 but the model has")


def test_options_of_another_op(tmp_path):
    # builtin_options_type of the first conv set to Pool2DOptions (5)
    mutant = edit(f"{SUB}.operators[0].builtin_options_type", 5)
    refused(tmp_path, mutant, r"layer 0 \(CONV_2D\) carries Pool2DOptions, but its options are Conv2DOptions")


def test_stride_zero(tmp_path):
    # Conv2DOptions: padding (slot 0), stride_w (slot 1), stride_h (slot 2)
    path = f"{SUB}.operators[0].builtin_options.field 1"
    refused(tmp_path, edit(path, 0), r"layer 0 \(CONV_2D\) has stride_w = 0")


def test_schema_version(tmp_path):
    refused(tmp_path, edit("the model.version", 2), r"schema version 2; TensorFlow Lite models have version 3")


def _hello_world_bias_scale() -> bytes:
    """hello_world's last FULLY_CONNECTED is quantized per tensor, where TFLite Micro
    checks the bias scale (the example's is per channel, where it does not)."""
    raw = shared_model("hello_world_int8.tflite").read_bytes()
    sites = check_layout(raw, "hello_world", record=True).sites
    where = next(s for s in sites if s.path == f"{SUB}.tensors[1].quantization.scale" and s.kind == "vector")
    out = bytearray(raw)
    struct.pack_into("<f", out, where.pos, 0.5)
    return bytes(out)


def test_fully_connected_bias_scale_far_from_input_times_weights(tmp_path):
    refused(tmp_path, _hello_world_bias_scale(), r"\(FULLY_CONNECTED\): bias scale 0.5 is too far from input "
                                                 r"scale x weight scale")


def test_missing_required_input(tmp_path):
    refused(tmp_path, edit(f"{SUB}.operators[0].inputs", -1, "<i", element=1, kind="vector"),
            r"layer 0 \(CONV_2D\) omits its input 1")


def test_vtable_pointing_outside_the_file(tmp_path):
    mutant = edit(f"{SUB}.tensors[3] (its vtable offset)", -(1 << 24), "<i", kind="offset")
    refused(tmp_path, mutant, r"corrupt: the vtable of .*tensors\[3\]")


def test_cli_refusal_is_one_line_exit_2_and_writes_nothing(tmp_path):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(edit(f"{SUB}.tensors[14].quantization.scale", math.nan, "<f"))
    out = tmp_path / "project"
    proc = subprocess.run([sys.executable, "-m", "mcugen", "generate", str(bad), "-o", str(out)],
                          capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mcugen: error:") and "scale nan" in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr and not out.exists()


def test_builtin_code_disagreeing_with_its_deprecated_twin(tmp_path):
    # Found by the fuzzer: TFLite takes the larger code (here MUL), the tflite package's
    # accessor the byte-sized one (CONV_2D): the two would have run different ops.
    mutant = edit("the model.operator_codes[0].builtin_code", 18)
    refused(tmp_path, mutant, r"operator code 0 says both MUL and CONV_2D")


def test_model_without_outputs(tmp_path):
    # Found by the fuzzer: tflite-micro crashes on it (vtable slot 2 is SubGraph.outputs).
    mutant = edit(f"{SUB} (vtable slot 2)", 0, "<H", kind="vtable")
    refused(tmp_path, mutant, r"has no model outputs")


def test_filters_that_do_not_split_into_the_groups(tmp_path):
    # Found by the fuzzer (it hung): 96 input channels over 3-channel filters make 32 groups of 16 filters.
    mutant = edit(f"{SUB}.tensors[0].shape", 96, "<i", element=3, kind="vector")
    refused(tmp_path, mutant, r"layer 0 \(CONV_2D\): its 16 filters do not split into 32 groups")


def _shared_edit(model: str, path: str, value, fmt: str, kind: str = "vector") -> bytes:
    raw = shared_model(model).read_bytes()
    where = next(s for s in check_layout(raw, model, record=True).sites if s.path == path and s.kind == kind)
    out = bytearray(raw)
    struct.pack_into(fmt, out, where.pos, value)
    return bytes(out)


def test_fused_activation_bound_outside_int32(tmp_path):
    # Found by the fuzzer: fomo's layer 15 has a fused RELU6; 6 / 1e-30 does not fit int32.
    mutant = _shared_edit("fomo_face_detection.tflite", f"{SUB}.tensors[59].quantization.scale", 1e-30, "<f")
    refused(tmp_path, mutant, r"layer 15 \(CONV_2D\): its output scale 1e-30 puts the fused RELU6 bound 6.0 "
                              r"outside int32")


def test_fully_connected_bias_without_quantization(tmp_path):
    # Found by the fuzzer: TFLite Micro reads the missing bias scale as 0, and refuses.
    mutant = _shared_edit("hello_world_int8.tflite", f"{SUB}.tensors[1].quantization.scale", 0, "<I", "length")
    refused(tmp_path, mutant, r"layer 2 \(FULLY_CONNECTED\): bias scale 0 is too far")


# Crafted defects that TensorFlow Lite Micro refuses too: mcugen must never be the
# laxer of the two (the fuzzer checks the same over random mutants).
_TFLM_REFUSES = {
    "scale without zero points": lambda: edit(f"{SUB}.tensors[14].quantization.zero_point", 0, "<I",
                                              kind="length"),
    "bias scale": _hello_world_bias_scale,
    "truncated": lambda: RAW[:-1],
    "builtin code twins disagree": lambda: edit("the model.operator_codes[0].builtin_code", 18),
    "no outputs (tflite-micro crashes)": lambda: edit(f"{SUB} (vtable slot 2)", 0, "<H", kind="vtable"),
    "fused bound outside int32": lambda: _shared_edit("fomo_face_detection.tflite",
                                                      f"{SUB}.tensors[59].quantization.scale", 1e-30, "<f"),
}


@pytest.fixture(scope="module")
def oracle():
    pytest.importorskip("tflite_micro")
    judge = TflmOracle()
    yield judge
    judge.close()


@pytest.mark.parametrize("case", sorted(_TFLM_REFUSES))
def test_what_tflite_micro_refuses_mcugen_refuses(tmp_path, oracle, case):
    mutant = _TFLM_REFUSES[case]()
    assert oracle.judge(RAW).accepted, "the oracle must accept the unmodified model"
    assert not oracle.judge(mutant).accepted
    path = tmp_path / "model.tflite"
    path.write_bytes(mutant)
    with pytest.raises(ModelError):
        load_model(path)


def test_reshape_option_with_more_than_eight_dimensions(tmp_path):
    # Found by the fuzzer: a flipped length of RESHAPE's new_shape, which TFLite Micro's parser refuses.
    raw = shared_model("micro_speech_quantized.tflite").read_bytes()
    sites = check_layout(raw, "micro_speech", record=True).sites
    where = next(s for s in sites if s.path == f"{SUB}.operators[0].builtin_options.new_shape" and s.kind == "length")
    out = bytearray(raw)
    struct.pack_into("<I", out, where.pos, struct.unpack_from("<I", raw, where.pos)[0] | 16)
    refused(tmp_path, bytes(out), r"layer 0 \(RESHAPE\) has \d+ entries in new_shape; TensorFlow Lite takes at most 8")


def test_depthwise_without_bias_is_refused_like_tflite_micro(tmp_path, oracle):
    # Found by the fuzzer: tflite-micro segfaults on a DEPTHWISE_CONV_2D whose third input is
    # omitted (-1); two inputs are fine (tests/test_kernels_conv.py runs those).
    from mcugen.codegen.lowering import UnsupportedOpError
    from mcugen.generate import compile_model

    mutant = edit(f"{SUB}.operators[2].inputs", -1, "<i", element=2, kind="vector")
    assert not oracle.judge(mutant).accepted
    path = tmp_path / "model.tflite"
    path.write_bytes(mutant)
    with pytest.raises(UnsupportedOpError, match=r"layer 2 \(DEPTHWISE_CONV_2D\): its bias is an omitted input "
                                                 r"\(-1\), which TensorFlow Lite Micro crashes on"):
        compile_model(path)
