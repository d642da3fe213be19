"""The device's image pre-processing (templates/apps/common/mcugen_preprocess.c) against its
Python mirror (mcugen/preprocess.py): compiled on the host, fed the same frames, compared byte
for byte, with every option (resize mode, channel order, grayscale, mean and std); plus
hand-computed values, the options' refusals and the bench --data path."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from dataclasses import dataclass

import numpy as np
import pytest

from mcugen.bench_inputs import image_inputs
from mcugen.errors import McugenError
from mcugen.ir import Quantization, Tensor
from mcugen.loader import load_model
from mcugen.preprocess import (
    DEFAULT_MAX_ROW,
    PIXEL_RANGES,
    DTYPE_CODES,
    ORDER_CODES,
    RESIZE_CODES,
    PixelFormat,
    PreprocessOptions,
    PreprocessError,
    PreprocessParams,
    box_resize,
    decode_pixels,
    default_pixel_range,
    frame_from_image,
    frame_to_rgb,
    frame_to_tensor,
    image_to_rgb888,
    pack_frame,
    render_c_params,
)

from conftest import REPO, shared_model

COMMON = REPO / "templates" / "apps" / "common"
BOARD_API = REPO / "mcugen" / "agent"  # mcugen_board.h: the frame struct and MCUGEN_PIXEL_*
STRICT = ["-std=c99", "-pedantic", "-Wall", "-Wextra", "-Wconversion", "-Werror"]
BUILDS = {"plain": ["-O2"], "sanitized": ["-O1", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all"]}

# The test program: reads cases from argv[1], writes each result to argv[2] as
# int32 status, uint32 length, the tensor buffer (pre-filled with SENTINEL, so an
# error that writes anyway shows). A case names a rendered params table entry or
# carries its own params and LUT; the frame sits in a buffer of exactly its bytes,
# so the sanitized build catches any read past it.
HARNESS_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcugen_preprocess.h"

#define INLINE_PARAMS 0xFFu
#define SENTINEL 0xA5u

extern const mcugen_preprocess_params_t *const test_params[];
extern const unsigned test_param_count;

static int read_exact(FILE *f, void *dst, size_t n)
{
    return n == 0u || fread(dst, 1u, n, f) == n;
}

static uint32_t u16(const uint8_t *p) { return (uint32_t)p[0] | ((uint32_t)p[1] << 8); }
static uint32_t u32(const uint8_t *p) { return u16(p) | (u16(p + 2) << 16); }

int main(int argc, char **argv)
{
    FILE *in, *out;
    uint8_t header[26];
    if (argc != 3) return 2;
    in = fopen(argv[1], "rb");
    out = fopen(argv[2], "wb");
    if (in == NULL || out == NULL) return 2;
    while (fread(header, 1u, sizeof header, in) == sizeof header) {
        static uint8_t lut_q[3 * 256];
        static float lut_f[3 * 256];
        mcugen_preprocess_params_t inline_params;
        const mcugen_preprocess_params_t *params = &inline_params;
        mcugen_camera_frame_t frame;
        uint8_t *data, *tensor;
        uint32_t tensor_bytes;
        int32_t status;
        uint8_t lengths[8];

        size_t tables = header[12];
        if (tables < 1u || tables > 3u) return 3;
        inline_params.width = (uint16_t)u16(header + 1);
        inline_params.height = (uint16_t)u16(header + 3);
        inline_params.channels = header[5];
        inline_params.dtype = header[6];
        inline_params.resize = header[7];
        inline_params.channel_order = header[8];
        inline_params.grayscale = header[9];
        inline_params.lut_per_channel = header[10];
        inline_params.lut_q = NULL;
        inline_params.lut_f = NULL;
        if (header[11] == 1u) {
            if (!read_exact(in, lut_q, tables * 256u)) return 3;
            inline_params.lut_q = lut_q;
        } else if (header[11] == 2u) {
            if (!read_exact(in, lut_f, tables * 256u * sizeof(float))) return 3;
            inline_params.lut_f = lut_f;
        }
        if (header[0] != INLINE_PARAMS) {
            if (header[0] >= test_param_count) return 4;
            params = test_params[header[0]];
        }
        frame.width = (uint16_t)u16(header + 13);
        frame.height = (uint16_t)u16(header + 15);
        frame.format = header[17];
        frame.bytes = u32(header + 18);
        tensor_bytes = u32(header + 22);
        data = malloc(frame.bytes ? frame.bytes : 1u);
        tensor = malloc(tensor_bytes ? tensor_bytes : 1u);
        if (data == NULL || tensor == NULL || !read_exact(in, data, frame.bytes)) return 3;
        frame.data = data;
        memset(tensor, SENTINEL, tensor_bytes);
        status = mcugen_preprocess(&frame, params, tensor, tensor_bytes);
        memcpy(lengths, &status, 4u);
        memcpy(lengths + 4, &tensor_bytes, 4u);
        fwrite(lengths, 1u, sizeof lengths, out);
        fwrite(tensor, 1u, tensor_bytes, out);
        free(data);
        free(tensor);
    }
    fclose(in);
    return fclose(out) == 0 ? 0 : 2;
}
"""

INLINE_PARAMS = 0xFF
SENTINEL = 0xA5


def _tensor(shape, dtype, scale=None, zero_point=None, name="input") -> Tensor:
    quant = None if scale is None else Quantization((scale,), (zero_point,))
    return Tensor(0, name, tuple(shape), dtype, quant)


# Inputs as models declare them: (dtype, scale, zero point, pixel range); sizes vary per case.
PERSON_DETECT = ("int8", 0.007843137718737125, -1, (-1.0, 1.0))  # 96x96x1
WV_QUALITY = ("uint8", 1.0, 0, (0.0, 255.0))  # 50x50x3
INPUT_KINDS = [
    PERSON_DETECT,
    WV_QUALITY,
    ("int8", 0.003921568859368563, -128, (0.0, 1.0)),  # fomo_face_detection, the shapes example
    ("int8", 1.0, -128, (0.0, 255.0)),  # pretrainedResnet_quant
    ("uint8", 0.0078125, 128, (-1.0, 1.0)),
    ("int8", 0.02, 3, (0.0, 1.0)),  # a coarse scale that clamps
    ("float32", None, None, (0.0, 1.0)),
    ("float32", None, None, (-1.0, 1.0)),
]


def params_for(kind, width, height, channels, options: PreprocessOptions | None = None) -> PreprocessParams:
    dtype, scale, zp, pixel_range = kind
    return PreprocessParams.for_tensor(_tensor((1, height, width, channels), dtype, scale, zp), pixel_range,
                                       options)


def _random_options(rng, channels: int) -> PreprocessOptions:
    """Any valid choice of the options, the defaults among them, for this channel count."""
    colour = channels == 3
    grayscale = colour and rng.random() < 0.25
    order = "bgr" if colour and not grayscale and rng.random() < 0.5 else "rgb"
    mean = std = None
    if rng.random() < 0.5:  # one value, or (colour) one per channel, in the pixel range's units
        count = 3 if colour and rng.random() < 0.7 else 1
        mean = tuple(float(v) for v in rng.uniform(-0.5, 0.8, count))
        std = tuple(float(v) for v in rng.uniform(0.1, 2.0, count))
    return PreprocessOptions(mean, std, order, grayscale, "stretch" if rng.random() < 0.5 else "crop")


@dataclass
class Case:
    data: bytes
    width: int
    height: int
    fmt: int
    params: PreprocessParams | int  # inline params, or an index into the compiled-in table
    tensor_bytes: int | None = None  # None: the input's own size
    table: PreprocessParams | None = None  # what a table index stands for, for the Python side


def _encode(case: Case) -> bytes:
    p = case.table if isinstance(case.params, int) else case.params
    tensor_bytes = p.tensor_bytes if case.tensor_bytes is None else case.tensor_bytes
    lut = b""
    lut_kind = 0
    tables = np.asarray(p.lut).reshape(-1, 256).shape[0]
    if not isinstance(case.params, int):
        lut = np.asarray(p.lut).tobytes()
        lut_kind = 2 if p.dtype == "float32" else 1
    index = case.params if isinstance(case.params, int) else INLINE_PARAMS
    # An unknown choice is sent as a code the C module must refuse.
    header = struct.pack("<BHHBBBBBBBBHHBII", index, p.width, p.height, p.channels, DTYPE_CODES.get(p.dtype, 0x7F),
                         RESIZE_CODES.get(p.resize, 0x7F), ORDER_CODES.get(p.channel_order, 0x7F), int(p.grayscale),
                         int(p.lut_per_channel), lut_kind, tables, case.width, case.height, case.fmt, len(case.data),
                         tensor_bytes)
    return header + lut + case.data


def run_harness(binary, cases: list[Case], tmp_path) -> list[tuple[int, bytes]]:
    cases_file, results_file = tmp_path / "cases.bin", tmp_path / "results.bin"
    cases_file.write_bytes(b"".join(_encode(c) for c in cases))
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0:abort_on_error=0", UBSAN_OPTIONS="print_stacktrace=1")
    proc = subprocess.run([str(binary), str(cases_file), str(results_file)], capture_output=True, text=True,
                          env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    raw, results, at = results_file.read_bytes(), [], 0
    while at < len(raw):
        status, length = struct.unpack_from("<iI", raw, at)
        results.append((status, raw[at + 8:at + 8 + length]))
        at += 8 + length
    assert len(results) == len(cases)
    return results


# Compiled into the program through render_c_params: the generator's real output.
IMAGENET = PreprocessOptions((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
RENDERED = {
    "person_detect_input": lambda: params_for(PERSON_DETECT, 96, 96, 1),
    "wv_quality_input": lambda: params_for(WV_QUALITY, 50, 50, 3),
    "float_input": lambda: params_for(INPUT_KINDS[-1], 17, 9, 3),
    # Each option through the generator's C text: per-channel tables, order, stretch, grayscale.
    "bgr_imagenet_input": lambda: params_for(INPUT_KINDS[2], 24, 16, 3,
                                             PreprocessOptions(IMAGENET.mean, IMAGENET.std, "bgr", resize="stretch")),
    "float_imagenet_input": lambda: params_for(("float32", None, None, (0.0, 1.0)), 12, 12, 3, IMAGENET),
    "gray_rgb_input": lambda: params_for(WV_QUALITY, 20, 10, 3, PreprocessOptions(grayscale=True)),
    "gray_normalised_input": lambda: params_for(PERSON_DETECT, 16, 16, 1,
                                                PreprocessOptions((0.1,), (0.5,), resize="stretch")),
}


def _build(out_dir, flavor: str):
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "mcugen_board_config.h").write_text("/* host test: no board facts needed */\n")
    (out_dir / "harness.c").write_text(HARNESS_C)
    rendered = ['#include "mcugen_preprocess.h"', ""]
    rendered += [render_c_params(make(), name) for name, make in RENDERED.items()]
    rendered += ["const mcugen_preprocess_params_t *const test_params[] = {",
                 *(f"    &{name}," for name in RENDERED), "};",
                 f"const unsigned test_param_count = {len(RENDERED)}u;", ""]
    (out_dir / "params.c").write_text("\n".join(rendered))
    binary = out_dir / "harness"
    cmd = ["gcc", *STRICT, *BUILDS[flavor], f"-I{out_dir}", f"-I{COMMON}", f"-I{BOARD_API}",
           str(COMMON / "mcugen_preprocess.c"), str(out_dir / "harness.c"), str(out_dir / "params.c"), "-o",
           str(binary)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return binary


@pytest.fixture(scope="module", params=list(BUILDS))
def harness(request, tmp_path_factory):
    if shutil.which("gcc") is None:
        pytest.skip("host gcc not found")
    return _build(tmp_path_factory.mktemp(f"preprocess_{request.param}"), request.param)


def _python_result(case: Case) -> tuple[int, bytes]:
    p = case.table if isinstance(case.params, int) else case.params
    if case.tensor_bytes is not None and case.tensor_bytes != p.tensor_bytes:
        return PreprocessError.TENSOR_BYTES, bytes([SENTINEL]) * case.tensor_bytes
    try:
        return 0, frame_to_tensor(case.data, case.width, case.height, case.fmt, p).tobytes()
    except PreprocessError as exc:
        return exc.code, bytes([SENTINEL]) * p.tensor_bytes


def assert_same(cases: list[Case], results) -> None:
    for i, (case, (status, tensor)) in enumerate(zip(cases, results)):
        expected_status, expected = _python_result(case)
        p = case.table if isinstance(case.params, int) else case.params
        what = (f"case {i}: {PixelFormat(case.fmt).name if case.fmt in iter(PixelFormat) else case.fmt} "
                f"{case.width}x{case.height} -> {p.width}x{p.height}x{p.channels} {p.dtype}")
        assert status == expected_status, what
        if tensor != expected:
            got = np.frombuffer(tensor, np.uint8)
            want = np.frombuffer(expected, np.uint8)
            first = int(np.flatnonzero(got != want)[0])
            pytest.fail(f"{what}: first differing byte {first}: C {got[first]}, Python {want[first]}")


# ---- C against Python ----------------------------------------------------------------------


def _random_frame(rng, fmt: PixelFormat, width: int, height: int) -> bytes:
    from mcugen.preprocess import BYTES_PER_PIXEL

    return rng.integers(0, 256, width * height * BYTES_PER_PIXEL[fmt], dtype=np.uint8).tobytes()


def _random_cases(seed: int, count: int) -> list[Case]:
    rng = np.random.default_rng(seed)
    cases = []
    formats = [PixelFormat.GRAY8, PixelFormat.RGB565, PixelFormat.RGB888, PixelFormat.YUV422]
    for _ in range(count):
        kind = INPUT_KINDS[rng.integers(len(INPUT_KINDS))]
        channels = int(rng.choice([1, 3]))
        out_w, out_h = (int(v) for v in rng.integers(1, 49, 2))
        fmt = formats[rng.integers(len(formats))]
        relation = rng.integers(3)  # smaller, equal or larger than the input, odd and even sizes
        if relation == 0:
            width, height = int(rng.integers(1, out_w + 1)), int(rng.integers(1, out_h + 1))
        elif relation == 1:
            width, height = out_w, out_h
        else:
            width, height = int(rng.integers(out_w, 4 * out_w + 9)), int(rng.integers(out_h, 4 * out_h + 9))
        if fmt == PixelFormat.YUV422 and width % 2:
            width += 1
        cases.append(Case(_random_frame(rng, fmt, width, height), width, height, int(fmt),
                          params_for(kind, out_w, out_h, channels, _random_options(rng, channels))))
    return cases


def test_random_frames_match_python(harness, tmp_path):
    cases = _random_cases(seed=1, count=600)
    # Every option is drawn often enough that a mismatch in any of them shows.
    params = [c.params for c in cases]
    assert sum(p.resize == "stretch" for p in params) > 200 and sum(p.channel_order == "bgr" for p in params) > 50
    assert sum(p.grayscale for p in params) > 30 and sum(p.lut_per_channel for p in params) > 50
    assert sum(p.resize == "crop" and p.channel_order == "rgb" and p.mean == (0.0,) * p.channels and
               p.std == (1.0,) * p.channels for p in params) > 40
    assert_same(cases, run_harness(harness, cases, tmp_path))


def test_model_inputs_from_camera_sizes_match_python(harness, tmp_path):
    # The real inputs from typical sensor sizes, frames from a smooth image (as a camera sees).
    rng = np.random.default_rng(2)
    yy, xx = np.mgrid[0:480, 0:640]
    scene = np.stack([xx * 255 // 639, yy * 255 // 479, (xx + yy) % 256], axis=-1).astype(np.uint8)
    scene = np.clip(scene.astype(np.int32) + rng.integers(-20, 21, scene.shape), 0, 255).astype(np.uint8)
    inputs = [params_for(PERSON_DETECT, 96, 96, 1), params_for(WV_QUALITY, 50, 50, 3),
              params_for(INPUT_KINDS[2], 96, 96, 3), params_for(INPUT_KINDS[-1], 32, 32, 3)]
    cameras = [(96, 96), (160, 120), (320, 240), (640, 480), (240, 320), (50, 50), (30, 20)]
    cases = []
    for params in inputs:
        for width, height in cameras:
            for fmt in (PixelFormat.GRAY8, PixelFormat.RGB565, PixelFormat.RGB888, PixelFormat.YUV422):
                cases.append(Case(frame_from_image(scene, fmt, width, height), width, height, int(fmt), params))
    assert_same(cases, run_harness(harness, cases, tmp_path))


def test_extreme_frames_match_python(harness, tmp_path):
    # All-dark and all-bright frames reach the LUT's ends and the YUV clamps.
    cases = []
    for kind in INPUT_KINDS:
        for channels in (1, 3):
            params = params_for(kind, 7, 5, channels)
            for fmt in (PixelFormat.GRAY8, PixelFormat.RGB565, PixelFormat.RGB888, PixelFormat.YUV422):
                for fill in (0x00, 0xFF, 0x80):
                    width, height = 14, 9
                    data = bytes([fill]) * (width * height * {1: 1, 2: 2, 3: 3, 4: 2}[fmt])
                    cases.append(Case(data, width, height, int(fmt), params))
    # YUV with chroma at both extremes: the RGB clamps on every channel.
    for u, v in ((0, 0), (0, 255), (255, 0), (255, 255)):
        data = bytes([200, u, 30, v]) * 8
        cases.append(Case(data, 4, 4, int(PixelFormat.YUV422), params_for(WV_QUALITY, 4, 4, 3)))
    assert_same(cases, run_harness(harness, cases, tmp_path))


def test_tensor_frames_are_copied(harness, tmp_path):
    rng = np.random.default_rng(3)
    cases = []
    for kind in (PERSON_DETECT, WV_QUALITY, INPUT_KINDS[-1]):
        params = params_for(kind, 6, 5, 3)
        data = rng.integers(0, 256, params.tensor_bytes, dtype=np.uint8).tobytes()
        cases.append(Case(data, 0, 0, int(PixelFormat.TENSOR), params))
        cases.append(Case(data[:-1], 0, 0, int(PixelFormat.TENSOR), params))  # one byte short: refused
    results = run_harness(harness, cases, tmp_path)
    assert_same(cases, results)
    assert results[0] == (0, cases[0].data)


def test_rendered_params_match_python(harness, tmp_path):
    # The same frames through render_c_params' C text and through the Python params.
    rng = np.random.default_rng(4)
    cases = []
    for index, make in enumerate(RENDERED.values()):
        params = make()
        for fmt in (PixelFormat.GRAY8, PixelFormat.RGB565, PixelFormat.RGB888, PixelFormat.YUV422):
            for width, height in ((160, 120), (params.width, params.height), (12, 30)):
                cases.append(Case(_random_frame(rng, fmt, width, height), width, height, int(fmt), index,
                                  table=params))
    assert_same(cases, run_harness(harness, cases, tmp_path))


def test_refusals_match_python(harness, tmp_path):
    params = params_for(PERSON_DETECT, 8, 8, 1)
    gray = bytes(range(64))
    wide = params_for(WV_QUALITY, DEFAULT_MAX_ROW // 3 + 1, 2, 3)  # one column past the row buffer
    bad_channels = PreprocessParams(8, 8, 2, "int8", params.lut)
    cases = [
        Case(gray, 8, 8, 0x05, params),  # no such format
        Case(bytes(12), 3, 2, int(PixelFormat.YUV422), params),  # odd YUV width
        Case(b"", 0, 8, int(PixelFormat.GRAY8), params),  # no pixels
        Case(b"", 8, 0, int(PixelFormat.GRAY8), params),
        Case(gray[:63], 8, 8, int(PixelFormat.GRAY8), params),  # one byte short
        Case(bytes(8 * 8 * 3 - 1), 8, 8, int(PixelFormat.RGB888), params),
        Case(gray, 8, 8, int(PixelFormat.GRAY8), params, tensor_bytes=63),  # tensor the wrong size
        Case(gray, 8, 8, int(PixelFormat.GRAY8), params, tensor_bytes=65),
        Case(bytes(4 * 2 * 3), 4, 2, int(PixelFormat.RGB888), wide, tensor_bytes=wide.tensor_bytes),
    ]
    results = run_harness(harness, cases + [Case(gray, 8, 8, int(PixelFormat.GRAY8), bad_channels)], tmp_path)
    assert [status for status, _ in results] == [
        PreprocessError.FORMAT, PreprocessError.ODD_WIDTH, PreprocessError.EMPTY_FRAME, PreprocessError.EMPTY_FRAME,
        PreprocessError.FRAME_BYTES, PreprocessError.FRAME_BYTES, PreprocessError.TENSOR_BYTES,
        PreprocessError.TENSOR_BYTES, PreprocessError.ROW_TOO_WIDE, PreprocessError.PARAMS]
    # The tensor is untouched on every refusal.
    for (status, tensor) in results:
        assert tensor == bytes([SENTINEL]) * len(tensor)
    # Python refuses the same frames with the same codes (the row limit is the device's alone).
    assert_same(cases[:-1], results[:-2])
    with pytest.raises(PreprocessError) as refused:
        frame_to_tensor(gray, 8, 8, PixelFormat.GRAY8, bad_channels)
    assert refused.value.code == PreprocessError.PARAMS


def test_option_refusals_of_the_c_module_match_python(harness, tmp_path):
    """Choices the device cannot honour are refused (MCUGEN_PREPROCESS_ERR_PARAMS), by both."""
    gray = params_for(PERSON_DETECT, 4, 4, 1)
    colour = params_for(WV_QUALITY, 4, 4, 3)
    bad = [
        PreprocessParams(4, 4, 3, "uint8", colour.lut, resize="diagonal"),
        PreprocessParams(4, 4, 3, "uint8", colour.lut, channel_order="gbr"),
        PreprocessParams(4, 4, 1, "int8", gray.lut, channel_order="bgr"),  # no colours to order
        PreprocessParams(4, 4, 3, "uint8", colour.lut, grayscale=2),
        PreprocessParams(4, 4, 1, "int8", np.stack([gray.lut] * 3)),  # three tables for one channel
    ]
    rgb = bytes(range(48))
    cases = [Case(rgb, 4, 4, int(PixelFormat.RGB888), p) for p in bad]
    results = run_harness(harness, cases, tmp_path)
    assert [status for status, _ in results][:4] == [PreprocessError.PARAMS] * 4
    assert all(tensor == bytes([SENTINEL]) * len(tensor) for _, tensor in results[:4])
    for p in bad:
        with pytest.raises(PreprocessError) as refused:
            frame_to_tensor(rgb, 4, 4, PixelFormat.RGB888, p)
        assert refused.value.code == PreprocessError.PARAMS
    # The C reads one table per channel only as many as there are channels: the fifth is
    # Python's refusal alone (its extra tables would be ignored, not read past).
    assert_same(cases[:4], results[:4])


def test_bgr_is_the_rgb_tensor_with_its_channels_swapped(harness, tmp_path):
    """On the device and in Python, for every frame format: bgr = rgb[..., ::-1], with the
    per-colour mean and std moving with their colour."""
    rng = np.random.default_rng(11)
    cases = []
    for fmt in (PixelFormat.RGB888, PixelFormat.RGB565, PixelFormat.YUV422, PixelFormat.GRAY8):
        frame = _random_frame(rng, fmt, 30, 18)
        for order in ("rgb", "bgr"):
            options = PreprocessOptions(IMAGENET.mean, IMAGENET.std, order)
            cases.append(Case(frame, 30, 18, int(fmt), params_for(INPUT_KINDS[-1], 10, 6, 3, options)))
    results = run_harness(harness, cases, tmp_path)
    assert_same(cases, results)
    for rgb, bgr in zip(results[0::2], results[1::2]):
        assert rgb[0] == bgr[0] == 0
        as_rgb = np.frombuffer(rgb[1], np.float32).reshape(6, 10, 3)
        assert np.array_equal(np.frombuffer(bgr[1], np.float32).reshape(6, 10, 3), as_rgb[..., ::-1])
    # The values: pixels to [-1, 1], then red's mean and std in channel 2, blue's in channel 0.
    red = frame_to_tensor(bytes([200, 0, 0]), 1, 1, PixelFormat.RGB888, cases[1].params).ravel()
    assert red[2] == np.float32((-1 + 2 * 200 / 255 - 0.485) / 0.229) and red[0] == np.float32((-1 - 0.406) / 0.225)


def test_crop_and_stretch_of_a_non_square_frame(harness, tmp_path):
    """A 6x2 frame to 2x2: crop keeps the middle 2x2, stretch averages the whole width, three
    columns per output pixel."""
    frame = bytes([10, 20, 30, 40, 50, 60,
                   70, 80, 90, 100, 110, 120])
    crop = params_for(WV_QUALITY, 2, 2, 1)
    stretch = params_for(WV_QUALITY, 2, 2, 1, PreprocessOptions(resize="stretch"))
    assert frame_to_tensor(frame, 6, 2, PixelFormat.GRAY8, crop).ravel().tolist() == [30, 40, 90, 100]
    # (10 + 20 + 30 + 1) // 3 = 20, (40 + 50 + 60 + 1) // 3 = 50, ...
    assert frame_to_tensor(frame, 6, 2, PixelFormat.GRAY8, stretch).ravel().tolist() == [20, 50, 80, 110]
    cases = [Case(frame, 6, 2, int(PixelFormat.GRAY8), p) for p in (crop, stretch)]
    results = run_harness(harness, cases, tmp_path)
    assert_same(cases, results)
    assert [list(t) for _, t in results] == [[30, 40, 90, 100], [20, 50, 80, 110]]
    # A tall frame: crop takes the middle rows, stretch every row.
    tall = bytes([0, 0, 8, 8, 100, 100, 8, 8])  # 2 x 4 to 2 x 1
    assert frame_to_tensor(tall, 2, 4, PixelFormat.GRAY8, params_for(WV_QUALITY, 2, 2, 1)).ravel().tolist() == [
        8, 8, 100, 100]
    stretched = params_for(WV_QUALITY, 2, 2, 1, PreprocessOptions(resize="stretch"))
    assert frame_to_tensor(tall, 2, 4, PixelFormat.GRAY8, stretched).ravel().tolist() == [4, 4, 54, 54]


def test_mean_and_std_give_the_expected_quantized_values():
    """int8 at scale 1/64 (reals -2..1.98), pixels 0..255, mean R,G,B = 100, 120, 140 and
    std 50, 60, 70: x = (p - mean) / std, q = round(x * 64), clamped."""
    tensor = _tensor((1, 1, 1, 3), "int8", 1 / 64, 0)
    options = PreprocessOptions((100.0, 120.0, 140.0), (50.0, 60.0, 70.0))
    params = PreprocessParams.for_tensor(tensor, "0-255", options)
    assert params.lut.shape == (3, 256) and params.lut_per_channel
    got = lambda r, g, b: frame_to_tensor(bytes([r, g, b]), 1, 1, PixelFormat.RGB888, params).ravel().tolist()
    assert got(150, 150, 140) == [64, 32, 0]  # x = 1, 0.5, 0
    assert got(100, 90, 105) == [0, -32, -32]  # 0, -0.5, -0.5
    assert got(200, 0, 0) == [127, -128, -128]  # 2 -> 128 clamps; -2 and -2 exactly
    assert got(125, 135, 175) == [32, 16, 32]  # 0.5, 0.25, 0.5
    # bgr: channel 0 is blue, normalised with blue's mean and std.
    bgr = PreprocessParams.for_tensor(tensor, "0-255", PreprocessOptions(options.mean, options.std, "bgr"))
    assert frame_to_tensor(bytes([150, 150, 140]), 1, 1, PixelFormat.RGB888, bgr).ravel().tolist() == [0, 32, 64]
    # One value for all channels is one shared table; the defaults are the tables of before.
    shared = PreprocessParams.for_tensor(tensor, "0-255", PreprocessOptions((128.0,), (64.0,)))
    assert shared.lut.shape == (256,) and shared.lut[192] == 64 and shared.lut[0] == -128
    plain = PreprocessParams.for_tensor(tensor, "0-255")
    assert np.array_equal(PreprocessParams.for_tensor(tensor, "0-255", PreprocessOptions((0.0,), (1.0,))).lut,
                          plain.lut)
    assert "mean 100,120,140 and std 50,60,70 (R, G, B)" in params.note
    assert "the values span" in params.note  # 2 and -2 do not all fit the input: it says they clamp
    record = bgr.to_json()
    assert record["channels"] == ["B", "G", "R"] and record["mean"] == [140.0, 120.0, 100.0]


def test_grayscale_puts_the_luma_in_every_channel():
    rng = np.random.default_rng(12)
    frame = rng.integers(0, 256, 9 * 7 * 3, dtype=np.uint8).tobytes()
    gray3 = params_for(WV_QUALITY, 5, 4, 3, PreprocessOptions(grayscale=True))
    gray1 = params_for(WV_QUALITY, 5, 4, 1)
    three = frame_to_tensor(frame, 9, 7, PixelFormat.RGB888, gray3)
    one = frame_to_tensor(frame, 9, 7, PixelFormat.RGB888, gray1)
    assert np.array_equal(three, np.repeat(one, 3, axis=3))
    assert not np.array_equal(three, frame_to_tensor(frame, 9, 7, PixelFormat.RGB888, _identity_params(5, 4, 3)))
    # The standard luma weights, 77/150/29 of 256 (BT.601's 0.299, 0.587, 0.114).
    assert frame_to_tensor(bytes([200, 100, 50]), 1, 1, PixelFormat.RGB888, params_for(WV_QUALITY, 1, 1, 3,
                           PreprocessOptions(grayscale=True))).ravel().tolist() == [
        (77 * 200 + 150 * 100 + 29 * 50 + 128) >> 8] * 3
    assert gray3.to_json()["luma_weights"] == [77 / 256, 150 / 256, 29 / 256]
    # Asked of a 1-channel input it is what happens anyway: accepted, the same tensor.
    forced = params_for(WV_QUALITY, 5, 4, 1, PreprocessOptions(grayscale=True))
    assert frame_to_tensor(frame, 9, 7, PixelFormat.RGB888, forced).tobytes() == one.tobytes()


@pytest.mark.parametrize("channels, options, pattern", [
    (1, PreprocessOptions(mean=(0.1, 0.2, 0.3)), r"--mean gives 3 values \(0.1,0.2,0.3\) but input 'input' has 1 "
     r"channel \(give one value, e.g. --mean 0.1\)"),
    (3, PreprocessOptions(std=(0.5, 0.5)), r"--std gives 2 values .* has 3 channels \(give one value for all "
     r"channels or three \(R,G,B\), e.g. --std 0.229,0.224,0.225\)"),
    (3, PreprocessOptions(std=(0.5, 0.0, 0.5)), r"--std is 0 for G: x = \(pixel - mean\) / std needs a standard "
     r"deviation above 0 \(give positive values"),
    (1, PreprocessOptions(std=(-1.0,)), r"--std is -1: .* e.g. --std 0.25\)"),
    (1, PreprocessOptions(channel_order="bgr"), r"--channels bgr orders colour channels, but input 'input' has 1 "
     r"channel .*\(leave out --channels\)"),
    (3, PreprocessOptions(channel_order="bgr", grayscale=True), r"--channels bgr and --grayscale contradict.*"
     r"\(leave out --channels bgr or --grayscale\)"),
    (3, PreprocessOptions(mean=(1.0, 2.0), style="app"), r"option mean gives 2 values .*e.g. --set mean="),
    (1, PreprocessOptions(channel_order="bgr", style="app"), r"--set channels=bgr orders .*\(leave out --set "
     r"channels\)"),
])
def test_option_refusals_name_the_problem_and_the_fix(channels, options, pattern):
    import re

    with pytest.raises(McugenError) as refused:
        PreprocessParams.for_tensor(_tensor((1, 8, 8, channels), "int8", 1 / 128, 0), None, options)
    assert not isinstance(refused.value, PreprocessError)  # the user's mistake, not a frame's
    assert re.search(pattern, refused.value.one_line()), refused.value.one_line()


@pytest.mark.parametrize("text, message", [("a,b,c", "takes numbers separated by commas"),
                                           ("0.5,,0.5", "takes numbers"), ("nan", "must be finite"),
                                           ("1,inf,1", "must be finite")])
def test_mean_and_std_text_is_parsed_or_refused(text, message):
    with pytest.raises(McugenError, match=message):
        PreprocessOptions.parse(mean=text)
    parsed = PreprocessOptions.parse(mean="0.485, 0.456,0.406", std="2", channel_order="bgr", resize="stretch")
    assert parsed == PreprocessOptions((0.485, 0.456, 0.406), (2.0,), "bgr", False, "stretch")
    assert PreprocessOptions.parse().is_default and not parsed.is_default


# ---- known values --------------------------------------------------------------------------


def _identity_params(width, height, channels) -> PreprocessParams:
    """uint8, scale 1, zero point 0, pixels 0..255: the tensor is the resized pixels themselves."""
    return params_for(WV_QUALITY, width, height, channels)


def test_box_average_4x4_to_2x2_by_hand():
    frame = bytes([0, 2, 4, 6,
                   8, 10, 12, 14,
                   1, 3, 5, 8,
                   9, 11, 13, 16])
    got = frame_to_tensor(frame, 4, 4, PixelFormat.GRAY8, _identity_params(2, 2, 1))
    # (0+2+8+10+2)//4 = 5, (4+6+12+14+2)//4 = 9, (1+3+9+11+2)//4 = 6, (5+8+13+16+2)//4 = 11 (10.5 rounds up)
    assert got.reshape(2, 2).tolist() == [[5, 9], [6, 11]]


def test_rgb565_expands_by_bit_replication():
    frame = bytes([0xF8, 0x00, 0x07, 0xE0, 0x00, 0x1F, 0xFF, 0xFF, 0x00, 0x00, 0x84, 0x10])
    rgb = frame_to_rgb(frame, 6, 1, PixelFormat.RGB565)
    # 0x8410: r5 = 16, g6 = 32, b5 = 16 -> (16 << 3) | (16 >> 2) = 132, (32 << 2) | (32 >> 4) = 130
    assert rgb.reshape(6, 3).tolist() == [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255], [0, 0, 0],
                                          [132, 130, 132]]


def test_gray_from_rgb_and_yuv():
    rgb = bytes([255, 0, 0, 0, 255, 0, 0, 0, 255, 200, 100, 50])
    gray = decode_pixels(rgb, 4, 1, PixelFormat.RGB888, 1).ravel().tolist()
    assert gray == [(77 * 255 + 128) >> 8, (150 * 255 + 128) >> 8, (29 * 255 + 128) >> 8,
                    (77 * 200 + 150 * 100 + 29 * 50 + 128) >> 8]
    yuyv = bytes([10, 0, 250, 255])
    assert decode_pixels(yuyv, 2, 1, PixelFormat.YUV422, 1).ravel().tolist() == [10, 250]
    # Neutral chroma: R = G = B = Y.
    assert decode_pixels(bytes([77, 128, 200, 128]), 2, 1, PixelFormat.YUV422, 3).tolist() == [
        [[77, 77, 77], [200, 200, 200]]]


def test_equal_size_is_the_identity():
    rng = np.random.default_rng(5)
    frame = rng.integers(0, 256, 13 * 7 * 3, dtype=np.uint8).tobytes()
    got = frame_to_tensor(frame, 13, 7, PixelFormat.RGB888, _identity_params(13, 7, 3))
    assert got.tobytes() == frame


def test_upscaling_repeats_pixels():
    got = frame_to_tensor(bytes([1, 2, 3, 4]), 2, 2, PixelFormat.GRAY8, _identity_params(4, 4, 1))
    assert got.reshape(4, 4).tolist() == [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]]


def test_centre_crop_keeps_the_middle():
    # 6x2 to 2x2: crop width 2 from x0 = 2. 3x5 to 3x1: the full width, one row from y0 = 2.
    wide = bytes([0, 0, 7, 9, 0, 0,
                  0, 0, 8, 6, 0, 0])
    assert frame_to_tensor(wide, 6, 2, PixelFormat.GRAY8, _identity_params(2, 2, 1)).ravel().tolist() == [7, 9, 8, 6]
    tall = bytes([99] * 6 + [1, 2, 3] + [99] * 6)
    assert frame_to_tensor(tall, 3, 5, PixelFormat.GRAY8, _identity_params(3, 1, 1)).ravel().tolist() == [1, 2, 3]


def test_box_resize_matches_a_plain_loop():
    # The vectorised summed-area table against the definition, written out.
    rng = np.random.default_rng(6)
    pixels = rng.integers(0, 256, (11, 17, 3), dtype=np.uint8)
    for out_w, out_h in ((5, 3), (17, 11), (30, 20), (1, 1), (4, 9)):
        got = box_resize(pixels, out_w, out_h)
        h, w = pixels.shape[:2]
        if w * out_h > out_w * h:
            cw, ch = max(1, h * out_w // out_h), h
        else:
            cw, ch = w, max(1, w * out_h // out_w)
        x0, y0 = (w - cw) // 2, (h - ch) // 2
        for oy in range(out_h):
            r0 = oy * ch // out_h
            r1 = max((oy + 1) * ch // out_h, r0 + 1)
            for ox in range(out_w):
                c0 = ox * cw // out_w
                c1 = max((ox + 1) * cw // out_w, c0 + 1)
                box = pixels[y0 + r0:y0 + r1, x0 + c0:x0 + c1].reshape(-1, 3).astype(int)
                n = len(box)
                assert got[oy, ox].tolist() == [(s + n // 2) // n for s in box.sum(axis=0)]


# ---- the lookup table ----------------------------------------------------------------------


def test_person_detect_lut():
    lut = params_for(PERSON_DETECT, 96, 96, 1).lut
    assert lut.dtype == np.int8
    # real = -1 + 2p/255, q = round(real / 0.00784314) - 1: 0 -> -128, 255 -> 126 (the input's zero point is -1)
    assert (lut[0], lut[127], lut[128], lut[255]) == (-128, -1, -1, 126)
    assert np.all(np.diff(lut.astype(int)) >= 0)


def test_wv_quality_lut_is_the_identity():
    assert params_for(WV_QUALITY, 50, 50, 3).lut.tolist() == list(range(256))


def test_float_lut_and_rounding_half_away_from_zero():
    lut = params_for(("float32", None, None, (-1.0, 1.0)), 4, 4, 3).lut
    assert lut.dtype == np.float32 and lut[0] == -1.0 and lut[255] == 1.0
    # scale 2: real p/255*255 = p, p/2 rounds half away from zero: 1 -> 1, 3 -> 2, 5 -> 3
    lut = params_for(("uint8", 2.0, 0, (0.0, 255.0)), 4, 4, 1).lut
    assert lut[1] == 1 and lut[3] == 2 and lut[5] == 3
    lut = params_for(("int8", 2.0, 0, (-255.0, 0.0)), 4, 4, 1).lut  # real -255 + p
    assert lut[254] == -1 and lut[252] == -2  # -0.5 -> -1, -1.5 -> -2


def test_default_pixel_ranges():
    def range_of(kind):
        dtype, scale, zp, _ = kind
        return default_pixel_range(_tensor((1, 8, 8, 3), dtype, scale, zp))[0]

    # Within a step of [-1, 1]: the input's own range, so that pixel p is code p - 128.
    lo, hi = range_of(PERSON_DETECT)
    assert lo == pytest.approx(-127 * PERSON_DETECT[1]) and hi == pytest.approx(128 * PERSON_DETECT[1])
    assert range_of(WV_QUALITY) == (0.0, 255.0)
    assert range_of(INPUT_KINDS[2]) == pytest.approx((0.0, 1.0))
    assert range_of(INPUT_KINDS[3]) == (0.0, 255.0)
    assert range_of(("float32", None, None, None)) == (0.0, 1.0)
    assert "[-1, 1]" in default_pixel_range(_tensor((1, 8, 8, 1), *PERSON_DETECT[:3]))[1]
    lut = PreprocessParams.for_tensor(_tensor((1, 8, 8, 1), *PERSON_DETECT[:3])).lut
    assert np.array_equal(lut.astype(int), np.arange(256) - 128)  # TFLite Micro's person example: p ^ 0x80


@pytest.mark.shared
@pytest.mark.parametrize("name, shape, pixel_range", [
    ("person_detect.tflite", (1, 96, 96, 1), None),
    ("wv_quality_k_8_c_5.tflite", (1, 50, 50, 3), (0.0, 255.0)),
])
def test_shared_model_inputs(name, shape, pixel_range):
    tensor = load_model(shared_model(name)).input_tensors()[0]
    assert tuple(tensor.shape) == shape
    if pixel_range is not None:
        assert default_pixel_range(tensor)[0] == pixel_range
    if name.startswith("person"):  # its own range: pixel p is code p - 128
        assert np.array_equal(PreprocessParams.for_tensor(tensor).lut.astype(int), np.arange(256) - 128)
    else:
        assert np.array_equal(PreprocessParams.for_tensor(tensor).lut,
                              params_for(WV_QUALITY, shape[2], shape[1], shape[3]).lut)


# ---- host-side frames ----------------------------------------------------------------------


@pytest.mark.parametrize("shape, kind", [((1, 12, 20, 3), INPUT_KINDS[2]), ((1, 9, 9, 1), PERSON_DETECT),
                                         ((1, 40, 30, 3), ("float32", None, None, None))])
def test_bench_data_pipeline_is_frame_to_tensor(tmp_path, shape, kind):
    """`bench --data` gives each image to the model exactly as the device's pre-processing
    would turn the image's RGB888 frame into the input, for every pixel range and auto and
    the other options, and records and prints what it did."""
    from PIL import Image

    rng = np.random.default_rng(7)
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
    path = tmp_path / "a" / "image.png"
    Image.fromarray(rng.integers(0, 256, (23, 37, 3), dtype=np.uint8)).save(path)
    dtype, scale, zp, _ = kind
    tensor = _tensor(shape, dtype, scale, zp)
    scores = _tensor((1, 2), "int8", 1 / 256, -128, name="scores")
    data, width, height = image_to_rgb888(path)
    assert (width, height) == (37, 23)
    colour = shape[3] == 3
    choices = [PreprocessOptions(), PreprocessOptions(resize="stretch"), PreprocessOptions((0.25,), (0.5,))]
    if colour:
        choices += [PreprocessOptions(IMAGENET.mean, IMAGENET.std, "bgr"), PreprocessOptions(grayscale=True)]
    for range_name, pixel_range in [("auto", None), *PIXEL_RANGES.items()]:
        for options in choices:
            params = PreprocessParams.for_tensor(tensor, pixel_range, options)
            expected = frame_to_tensor(data, width, height, PixelFormat.RGB888, params)
            inputs = image_inputs(tmp_path, [tensor], [scores], range_name, options)
            got = inputs.sets[0].arrays[0]
            assert got.shape == shape and got.dtype == expected.dtype
            assert got.tobytes() == expected.tobytes()
            assert inputs.sets[0].label == 0 and inputs.class_names == ["a", "b"]
            assert inputs.preprocessing.to_json() == params.to_json()
            assert params.describe() in inputs.notes[0]  # what is printed is what was done


def test_frame_from_image_packs_what_frame_to_rgb_reads():
    rng = np.random.default_rng(8)
    image = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    resized = box_resize(image, 20, 16).astype(int)  # what a 20x16 camera sees: the centre, averaged
    rgb888 = frame_from_image(image, PixelFormat.RGB888, 20, 16)
    assert np.array_equal(frame_to_rgb(rgb888, 20, 16, PixelFormat.RGB888), resized)
    assert frame_from_image(image, "rgb888", 40, 30) == image.tobytes()  # same size: as is
    rgb565 = frame_to_rgb(frame_from_image(image, PixelFormat.RGB565, 20, 16), 20, 16, PixelFormat.RGB565)
    assert np.abs(rgb565 - resized).max() <= 7  # 5 and 6 bits, replicated back
    gray = frame_to_rgb(frame_from_image(image, PixelFormat.GRAY8, 20, 16), 20, 16, PixelFormat.GRAY8)
    assert np.array_equal(gray[..., 0], gray[..., 2])
    # YUV422 shares chroma per pixel pair: close on a smooth image, exact on gray.
    smooth = np.repeat(np.linspace(0, 255, 40, dtype=np.uint8)[None, :, None], 30, axis=0).repeat(3, axis=2)
    yuv = frame_to_rgb(frame_from_image(smooth, PixelFormat.YUV422, 40, 30), 40, 30, PixelFormat.YUV422)
    assert np.abs(yuv.astype(int) - smooth).max() <= 2
    with pytest.raises(PreprocessError):
        frame_from_image(image, PixelFormat.YUV422, 21, 16)


def test_pack_frame_rgb565_is_big_endian():
    red = np.array([[[255, 0, 0], [0, 255, 0]]], dtype=np.uint8)
    assert pack_frame(red, PixelFormat.RGB565) == bytes([0xF8, 0x00, 0x07, 0xE0])


def test_render_c_params_text():
    text = render_c_params(params_for(PERSON_DETECT, 96, 96, 1), "person_input")
    assert "static const int8_t person_input_lut[256] MCUGEN_PREPROCESS_ALIGNED = {" in text
    assert ".lut_q = (const uint8_t *)person_input_lut," in text and ".lut_f = NULL," in text
    assert ".dtype = MCUGEN_PREPROCESS_DTYPE_INT8," in text
    text = render_c_params(params_for(INPUT_KINDS[-1], 4, 4, 3), "f")
    assert "static const float f_lut[256]" in text and ".lut_f = f_lut," in text
    assert "-1.0f" in text and "1.0f" in text


@pytest.mark.parametrize("options", [
    PreprocessOptions(),
    PreprocessOptions((100.0, 110.0, 120.0), (50.0, 60.0, 70.0), "bgr", resize="stretch"),
    PreprocessOptions(channel_order="bgr"),
    PreprocessOptions(grayscale=True),
], ids=["default", "bgr-per-channel", "bgr", "grayscale"])
def test_feed_vectors_become_frames_that_preprocess_back_to_them(options):
    """feed --vectors sends each vector as the pixels the app's own tables turn into it (per
    channel, in bgr order too); where no pixels can (a grayscale colour input), as the
    tensor itself. Either way the frame pre-processes to the vector exactly."""
    from mcugen.feed import vector_items

    params = params_for(WV_QUALITY, 8, 6, 3, options)
    rng = np.random.default_rng(5)
    image = rng.integers(0, 256, size=(6, 8, 3), dtype=np.uint8)
    vector = frame_to_tensor(image.tobytes(), 8, 6, PixelFormat.RGB888, params).reshape(6, 8, 3)
    items, notes = vector_items([("v", vector)], params)
    assert np.array_equal(items[0].expected_input.reshape(vector.shape), vector)
    if options.grayscale:
        assert items[0].format == PixelFormat.TENSOR and notes
    else:
        assert items[0].format == PixelFormat.RGB888 and not notes
