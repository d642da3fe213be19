"""Detection heads compiled with the model: the C's boxes (mcugen_model_boxes) equal the
Python decoder's (mcugen.detection.decode) bit for bit, on the host and on the emulated
Cortex-M7; decode() agrees with hand-worked cases; wrong heads are refused in one line.

Real parts: fomo_face_detection from ../shared, YOLO-style grid, YOLOv5 and YOLOv8 models
TensorFlow makes (tests/yolo_model.py), one-op models tests/tflite_writer.py writes for
the shapes a converter does not readily make, tflite-micro as the reference for the raw
outputs, the host's cc, PlatformIO with arm-none-eabi-gcc and QEMU for the board.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from mcugen.detection import Box, DetectionError, DetectionHead, DetectRequest, decode, detection_head
from mcugen.generate import generate_host_project

from conftest import EXAMPLE_MODEL, assert_clean_refusal, run_cli, shared_model

CC = shutil.which("cc") or shutil.which("gcc")
needs_cc = pytest.mark.skipif(CC is None, reason="no host C compiler")
F32 = np.float32

# Reads inputs from argv[1] (every input tensor's bytes, one set after another), runs each
# set, and writes to argv[2]: every output's bytes, then the box count and the boxes.
_HOST_MAIN = r"""
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include "mcugen_model.h"

static void put_u32(FILE *out, uint32_t v) { fwrite(&v, 4, 1, out); }
static void put_f32(FILE *out, float v) { fwrite(&v, 4, 1, out); }

int main(int argc, char **argv)
{
    FILE *in, *out;
    mcugen_box_t boxes[MCUGEN_MODEL_MAX_BOXES];
    if (argc != 3 || !(in = fopen(argv[1], "rb")) || !(out = fopen(argv[2], "wb"))) return 2;
    for (;;) {
        int i, n;
        for (i = 0; i < MCUGEN_MODEL_INPUT_COUNT; i++) {
            if (fread(mcugen_model_input(i), 1, mcugen_model_inputs[i].bytes, in) != mcugen_model_inputs[i].bytes) {
                fclose(out);
                return 0;
            }
        }
        mcugen_model_invoke();
        for (i = 0; i < MCUGEN_MODEL_OUTPUT_COUNT; i++) {
            fwrite(mcugen_model_output(i), 1, mcugen_model_outputs[i].bytes, out);
        }
        n = mcugen_model_boxes(boxes, MCUGEN_MODEL_MAX_BOXES);
        put_u32(out, (uint32_t)n);
        for (i = 0; i < n; i++) {
            put_u32(out, boxes[i].class_id);
            put_f32(out, boxes[i].score);
            put_f32(out, boxes[i].x);
            put_f32(out, boxes[i].y);
            put_f32(out, boxes[i].w);
            put_f32(out, boxes[i].h);
        }
    }
}
"""


def _parse_boxes(data: bytes, at: int) -> tuple[list[Box], int]:
    (count,) = struct.unpack_from("<I", data, at)
    at += 4
    boxes = []
    for _ in range(count):
        class_id, *values = struct.unpack_from("<I5f", data, at)
        at += 24
        boxes.append(Box(class_id, *values))
    return boxes, at


class HostBuild:
    """A host project with a detection head, compiled once, run over many inputs."""

    def __init__(self, model: Path, folder: Path, request: DetectRequest):
        self.generated = generate_host_project(model, folder, detect=request)
        self.head = self.generated.detection
        (folder / "main_host.c").write_text(_HOST_MAIN)
        sources = sorted(str(p) for p in folder.glob("*.c"))
        self.exe = folder / "boxes_host"
        subprocess.run([CC, "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-o", str(self.exe), *sources, "-lm"],
                       check=True, capture_output=True, text=True)
        self.outputs = self.generated.graph.output_tensors()

    def run(self, inputs: list[np.ndarray]) -> list[tuple[list[np.ndarray], list[Box]]]:
        folder = self.exe.parent
        (folder / "in.bin").write_bytes(b"".join(np.ascontiguousarray(x).tobytes() for x in inputs))
        subprocess.run([str(self.exe), str(folder / "in.bin"), str(folder / "out.bin")], check=True, timeout=60)
        data = (folder / "out.bin").read_bytes()
        results, at = [], 0
        for _ in inputs:
            raw = []
            for t in self.outputs:
                raw.append(np.frombuffer(data, dtype=t.dtype, count=t.num_elements, offset=at).reshape(t.shape))
                at += t.nbytes
            boxes, at = _parse_boxes(data, at)
            results.append((raw, boxes))
        assert at == len(data)
        return results


def _tflm_outputs(model: Path, inputs: list[np.ndarray], n_outputs: int) -> list[list[np.ndarray]]:
    from mcugen.reference import TflmInterpreter

    with TflmInterpreter(model) as tflm:
        return [tflm.run([x], n_outputs) for x in inputs]


# ---- decode() against hand-worked cases ----

def _fomo_head(**kw) -> DetectionHead:
    values = dict(kind="fomo", num_classes=2, score_threshold=0.5, iou_threshold=0.5, max_boxes=10,
                  output_indices=(0,), grid=(4, 5), scale=1 / 256, zero_point=-128)
    values.update(kw)
    return DetectionHead(**values)


def test_fomo_decode_hand_worked():
    """A 4x5 heat map, scores q/256 + 0.5: class 0 has an L-shaped blob joined diagonally
    and a lone cell; class 1 one cell; below-threshold cells never join a blob."""
    heat = np.full((1, 4, 5, 3), -128, dtype=np.int8)  # background everywhere (score 0)
    # class 0 (channel 1): cells (row 0, col 0), (1, 1) diagonal neighbours: one blob; best 0.75
    heat[0, 0, 0, 1] = 0      # 0.5: reaches the threshold
    heat[0, 1, 1, 1] = 64     # 0.75
    heat[0, 1, 2, 1] = -1     # 0.496: below, so (1, 3) is not joined through it
    heat[0, 1, 3, 1] = 96     # 0.875, a blob of its own
    heat[0, 3, 4, 1] = 32     # 0.625, a blob of its own
    heat[0, 2, 0, 2] = 127    # class 1: 0.99609375
    boxes = decode(_fomo_head(), [heat])
    f = lambda v: float(F32(v))  # noqa: E731  (fractions of the 5 columns are float32 in C)
    assert boxes == [
        Box(1, 127 / 256 + 0.5, 0.0, 0.5, f(1 / 5), 0.25),
        Box(0, 96 / 256 + 0.5, f(3 / 5), 0.25, f(1 / 5), 0.25),
        Box(0, 64 / 256 + 0.5, 0.0, 0.0, f(2 / 5), 0.5),
        Box(0, 32 / 256 + 0.5, f(4 / 5), 0.75, f(1 / 5), 0.25),
    ]
    assert decode(_fomo_head(max_boxes=2), [heat]) == boxes[:2]
    assert decode(_fomo_head(score_threshold=0.999), [heat]) == []
    # Equal scores keep the order they were found in: class, then row-major first cell.
    tie = np.full((1, 4, 5, 3), -128, dtype=np.int8)
    tie[0, 3, 0, 1] = tie[0, 0, 4, 1] = tie[0, 0, 0, 2] = 0
    assert [(b.class_id, b.x, b.y) for b in decode(_fomo_head(), [tie])] == [
        (0, F32(4) / F32(5), 0.0), (0, 0.0, 0.75), (1, 0.0, 0.0)]


def test_yolo_decode_hand_worked():
    """One row of two cells, one anchor of 2x1 cells, two classes; the output's real value is
    q / 16. Cell 0 and cell 1 both centred boxes; their overlap decides NMS."""
    head = DetectionHead("yolo", 2, 0.5, 0.3, 10, (0,), grid=(1, 2), anchors=(2.0, 1.0), scale=1 / 16,
                         zero_point=0, max_candidates=2)
    grid = np.zeros((1, 1, 2, 7), dtype=np.int8)
    # cell 0: tx=ty=0 (centre 0.5 of the cell), tw=th=0 (exp 1: the anchor), objectness 2.0, class 1
    grid[0, 0, 0] = (0, 0, 0, 0, 32, -16, 16)
    # cell 1: same size, objectness 1.0, class 1: centre x = 1.5/2 = 0.75, overlap with cell 0's box
    grid[0, 0, 1] = (0, 0, 0, 0, 16, -16, 16)
    sig2, sig1 = 1 / (1 + np.exp(-2.0)), 1 / (1 + np.exp(-1.0))
    # cell 0's box: centre (0.25, 0.5), 2 cells of 2 wide = the whole width, 1 of 1 high: clamped
    # to x 0..1 (from -0.25..0.75 -> 0..0.75); cell 1's: 0.25..1.25 -> 0.25..1.
    first = Box(1, float(F32(sig2)), 0.0, 0.0, 0.75, 1.0)
    second = Box(1, float(F32(sig1)), 0.25, 0.0, 0.75, 1.0)
    # IoU = 0.5 / 1.0 = 0.5 > 0.3: suppressed; at 0.6 both stay; as different classes both stay.
    assert decode(head, [grid]) == [first]
    loose = DetectionHead(**{**head.__dict__, "iou_threshold": 0.6})
    assert decode(loose, [grid]) == [first, second]
    grid[0, 0, 1, 5:] = (16, -16)
    assert decode(head, [grid]) == [first, Box(0, second.score, 0.25, 0.0, 0.75, 1.0)]
    grid[0, 0, :, 4] = -1  # objectness -1/16: sigmoid < 0.5 everywhere
    assert decode(head, [grid]) == []
    assert DetectionHead.from_json(head.to_json()) == head


def _flat_head(layout: str, **kw) -> DetectionHead:
    """Values q / 64 (0.5 is 32, 0.25 is 16), N=4 candidates, 2 classes, 0.5 and IoU 0.3."""
    values = dict(kind="yolo", num_classes=2, score_threshold=0.5, iou_threshold=0.3, max_boxes=10,
                  output_indices=(0,), scale=1 / 64, zero_point=0, max_candidates=4, layout=layout,
                  num_candidates=4)
    values.update(kw)
    return DetectionHead(**values)


def test_yolov5_flat_decode_hand_worked():
    """[1,N,5+C]: objectness must reach the threshold first, then objectness * best class."""
    out = np.array([[
        (32, 32, 16, 16, 64, 16, 48),  # 1.0 * 0.75, class 1: box 0.375..0.625 square
        (36, 32, 16, 16, 48, 60, 0),   # 0.75 * 0.9375 = 0.703125, class 0: overlaps, another class
        (34, 32, 16, 16, 56, 0, 60),   # 0.875 * 0.9375 = 0.8203125, class 1: suppresses the first
        (4, 4, 16, 16, 30, 127, 127),  # objectness 0.47 < 0.5: out though 0.47 * 1.98 passes
    ]], dtype=np.int8)
    best = Box(1, 0.8203125, 0.40625, 0.375, 0.25, 0.25)
    other = Box(0, 0.703125, 0.4375, 0.375, 0.25, 0.25)
    head = _flat_head("v5")
    assert decode(head, [out]) == [best, other]  # IoU(first, best) = 0.78 > 0.3: the first goes
    assert decode(DetectionHead(**{**head.__dict__, "iou_threshold": 0.8}), [out]) == [
        best, Box(1, 0.75, 0.375, 0.375, 0.25, 0.25), other]
    out[0, 3, 4:] = (40, 40, 40)  # objectness 0.625 passes, 0.625 * 0.625 does not: still out
    assert decode(head, [out]) == [best, other]
    out[0, 3, 4:] = (64, 40, 40)  # 1.0 * 0.625, equal classes: the first; clamped at the corner
    assert decode(head, [out]) == [best, other, Box(0, 0.625, 0.0, 0.0, 0.1875, 0.1875)]
    # Boxes in pixels of a 2x4 image: x, w halved, y, h quartered (after the clamp: 0..1 of it)
    pixels = _flat_head("v5", coordinate_divisors=(2.0, 4.0))
    assert decode(pixels, [out])[:2] == [Box(1, 0.8203125, 0.203125, 0.09375, 0.125, 0.0625),
                                         Box(0, 0.703125, 0.21875, 0.09375, 0.125, 0.0625)]
    assert decode(_flat_head("v5", max_candidates=1), [out]) == [best]  # the NMS buffer's cap
    assert decode(_flat_head("v5", score_threshold=0.9), [out]) == []
    assert DetectionHead.from_json(pixels.to_json()) == pixels


def test_yolov8_flat_decode_hand_worked():
    """[1,4+C,N], transposed: the best class score alone; ties keep the candidates' order."""
    candidates = np.array([
        (32, 32, 16, 16, 40, 40),   # equal classes 0.625: class 0
        (32, 32, -16, 16, 20, 33),  # class 1 at 0.515625; a negative width becomes 0 at x 0.625
        (32, 32, 16, 16, 31, 0),    # best 0.484 < 0.5: out
        (48, 48, 16, 16, 0, 40),    # class 1 at 0.625, equal to the first: after it
    ], dtype=np.int8)
    out = np.ascontiguousarray(candidates.T[np.newaxis])  # [1, 6, 4]
    assert decode(_flat_head("v8"), [out]) == [
        Box(0, 0.625, 0.375, 0.375, 0.25, 0.25), Box(1, 0.625, 0.625, 0.625, 0.25, 0.25),
        Box(1, 0.515625, 0.625, 0.375, 0.0, 0.25)]
    assert decode(_flat_head("v8"), [out], max_boxes=1) == [Box(0, 0.625, 0.375, 0.375, 0.25, 0.25)]
    assert decode(_flat_head("v8", score_threshold=0.6), [out]) == [
        Box(0, 0.625, 0.375, 0.375, 0.25, 0.25), Box(1, 0.625, 0.625, 0.625, 0.25, 0.25)]
    # A head recorded before the flat layouts (no layout in mcugen.json) reads as the grid.
    grid = DetectionHead("yolo", 2, 0.5, 0.3, 10, (0,), grid=(1, 2), anchors=(2.0, 1.0), scale=1 / 16,
                         max_candidates=2)
    old = {k: v for k, v in grid.to_json().items() if k not in ("layout", "num_candidates", "coordinate_divisors")}
    assert DetectionHead.from_json(old) == grid and grid.layout == "grid"


def test_ssd_decode_hand_worked():
    head = DetectionHead("ssd", 3, 0.5, 0.5, 2, (0, 1, 2, 3), max_detections=4)
    rects = np.array([[[0.1, 0.2, 0.5, 0.6], [-0.2, 0.5, 0.4, 1.3], [0, 0, 1, 1], [0.3, 0.3, 0.2, 0.9]]], F32)
    classes = np.array([[2, 0, 1, 1]], F32)
    scores = np.array([[0.6, 0.9, 0.4, 0.7]], F32)
    count = np.array([4], F32)
    boxes = decode(head, [rects, classes, scores, count])
    # best first, at most 2; the third row scores under 0.5; corners clamped to 0..1
    assert boxes == [Box(0, float(F32(0.9)), 0.5, 0.0, 0.5, float(F32(0.4))),
                     Box(1, float(F32(0.7)), float(F32(0.3)), float(F32(0.3)), float(F32(0.9) - F32(0.3)), 0.0)]
    assert decode(head, [rects, classes, scores, np.array([1], F32)]) == [
        Box(2, float(F32(0.6)), float(F32(0.2)), float(F32(0.1)), float(F32(0.6) - F32(0.2)),
            float(F32(0.5) - F32(0.1)))]


# ---- the runtime alone: random tensors through mcugen_detect.c and decode() ----

# Reads cases from argv[1]; each: the head kind (0 fomo, 1 yolo grid, 2 ssd, 3 yolo v5/v8), its parameters and
# tensor, then the caller's max_boxes. Writes each case's boxes to argv[2].
_RUNTIME_MAIN = r"""
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>

#include "mcugen_detect.h"

static FILE *in;
static int32_t get_i32(void) { int32_t v = 0; if (fread(&v, 4, 1, in) != 1) exit(0); return v; }
static float *get_f32s(size_t n) { float *p = malloc(4 * n + 4); if (fread(p, 4, n, in) != n) exit(3); return p; }
static int8_t *get_i8s(size_t n) { int8_t *p = malloc(n + 1); if (fread(p, 1, n, in) != n) exit(3); return p; }

int main(int argc, char **argv)
{
    FILE *out;
    if (argc != 3 || !(in = fopen(argv[1], "rb")) || !(out = fopen(argv[2], "wb"))) return 2;
    for (;;) {
        int32_t kind = get_i32();
        mcugen_box_t boxes[64];
        int n = 0, i;
        if (kind == 0) {
            mcugen_fomo_params_t p;
            mcugen_fomo_work_t work;
            size_t cells;
            p.grid_height = (uint16_t)get_i32(); p.grid_width = (uint16_t)get_i32();
            p.num_classes = (uint16_t)get_i32(); p.threshold_q = (int16_t)get_i32();
            p.score_of_q = get_f32s(256);
            cells = (size_t)p.grid_height * p.grid_width;
            work.visited = malloc(cells); work.stack = malloc(2 * cells);
            {
                int8_t *heat = get_i8s(cells * (p.num_classes + 1u));
                n = mcugen_detect_fomo(&p, heat, &work, boxes, (size_t)get_i32());
            }
        } else if (kind == 1) {
            mcugen_yolo_params_t p;
            p.grid_height = (uint16_t)get_i32(); p.grid_width = (uint16_t)get_i32();
            p.num_anchors = (uint16_t)get_i32(); p.num_classes = (uint16_t)get_i32();
            p.threshold_q = (int16_t)get_i32();
            p.sigmoid_of_q = get_f32s(256); p.exp_of_q = get_f32s(256);
            p.anchor_half_sizes = get_f32s(2u * p.num_anchors);
            p.iou_threshold = *get_f32s(1); p.max_candidates = (uint16_t)get_i32();
            {
                mcugen_detect_candidate_t *cands = malloc(sizeof *cands * (p.max_candidates + 1u));
                int8_t *grid = get_i8s((size_t)p.grid_height * p.grid_width * p.num_anchors * (5u + p.num_classes));
                n = mcugen_detect_yolo(&p, grid, cands, boxes, (size_t)get_i32());
            }
        } else if (kind == 3) {
            mcugen_yolo_flat_params_t p;
            p.layout = get_i32() == 5 ? MCUGEN_YOLO_LAYOUT_V5 : MCUGEN_YOLO_LAYOUT_V8;
            p.num_candidates = (uint32_t)get_i32(); p.num_classes = (uint16_t)get_i32();
            p.threshold_q = (int16_t)get_i32(); p.score_threshold = *get_f32s(1);
            p.value_of_q = get_f32s(256);
            p.x_divisor = *get_f32s(1); p.y_divisor = *get_f32s(1);
            p.iou_threshold = *get_f32s(1); p.max_candidates = (uint16_t)get_i32();
            {
                size_t fields = (p.layout == MCUGEN_YOLO_LAYOUT_V5 ? 5u : 4u) + p.num_classes;
                mcugen_detect_candidate_t *cands = malloc(sizeof *cands * (p.max_candidates + 1u));
                int8_t *output = get_i8s(p.num_candidates * fields);
                n = mcugen_detect_yolo_flat(&p, output, cands, boxes, (size_t)get_i32());
            }
        } else {
            mcugen_ssd_params_t p;
            float *rects, *classes, *scores, *count;
            p.max_detections = (uint16_t)get_i32(); p.score_threshold = *get_f32s(1);
            rects = get_f32s(4u * p.max_detections); classes = get_f32s(p.max_detections);
            scores = get_f32s(p.max_detections); count = get_f32s(1);
            n = mcugen_detect_ssd(&p, rects, classes, scores, count, boxes, (size_t)get_i32());
        }
        fwrite(&n, 4, 1, out);
        for (i = 0; i < n; i++) {
            uint32_t class_id = boxes[i].class_id;
            fwrite(&class_id, 4, 1, out);
            fwrite(&boxes[i].score, 4, 5, out); /* score, x, y, w, h: consecutive floats */
        }
    }
}
"""


def _random_case(rng: np.random.Generator) -> tuple[DetectionHead, list[np.ndarray], int, bytes]:
    """A random head and raw outputs for it, the caller's max_boxes, and the harness's bytes."""
    kind = ("fomo", "yolo", "ssd")[int(rng.integers(3))]
    i32 = lambda *v: struct.pack(f"<{len(v)}i", *v)  # noqa: E731
    f32 = lambda a: np.asarray(a, F32).tobytes()  # noqa: E731
    score = float(rng.choice([0.0, 0.3, 0.5, 0.77, 1.0]))
    max_boxes = int(rng.integers(1, 40))
    asked = int(rng.integers(0, 64))
    if kind == "ssd":
        n = int(rng.integers(1, 12))
        head = DetectionHead("ssd", 4, score, 0.5, max_boxes, (0, 1, 2, 3), max_detections=n)
        rects = rng.uniform(-0.3, 1.3, (1, n, 4)).astype(F32)
        classes = rng.integers(0, 4, (1, n)).astype(F32)
        scores = rng.choice([0.3, 0.5, 0.9, 1.0], (1, n)).astype(F32)  # with ties
        count = np.array([rng.choice([0, n // 2, n, n + 3, 1e30])], F32)
        outputs = [rects, classes, scores, count]
        data = i32(2, n) + f32([score]) + b"".join(o.tobytes() for o in outputs)
    else:
        height, width = int(rng.integers(1, 9)), int(rng.integers(1, 9))
        classes = int(rng.integers(1, 4))
        scale, zp = float(rng.choice([1 / 256, 0.05, 0.2])), int(rng.integers(-128, 50))
        if kind == "fomo":
            head = DetectionHead("fomo", classes, score, 0.5, max_boxes, (0,), (height, width), scale=scale,
                                 zero_point=zp)
            shape = (1, height, width, classes + 1)
            data = i32(0, height, width, classes, head.threshold_q()) + f32(head.score_table())
        else:
            anchors = tuple(float(v) for v in rng.uniform(0.3, 4.0, 2 * int(rng.integers(1, 4))))
            head = DetectionHead("yolo", classes, score, float(rng.choice([0.0, 0.3, 0.6, 1.0])), max_boxes, (0,),
                                 (height, width), anchors, scale, zp, max_candidates=int(rng.integers(1, 50)))
            shape = (1, height, width, head.num_anchors * (5 + classes))
            data = (i32(1, height, width, head.num_anchors, classes, head.threshold_q()) + f32(head.sigmoid_table())
                    + f32(head.exp_table()) + f32(head.anchor_half_sizes()) + f32([head.iou_threshold])
                    + i32(head.max_candidates))
        # Few distinct values, so equal scores and touching blobs are common.
        values = rng.choice(np.array([-128, -60, -1, 0, 1, 40, 90, 127]), size=shape).astype(np.int8)
        outputs = [values]
        data += values.tobytes()
    # mcugen_model_boxes() caps the caller's count at the head's max_boxes before the runtime runs
    return head, outputs, asked, data + i32(min(asked, max_boxes))


def _random_flat_case(rng: np.random.Generator) -> tuple[DetectionHead, list[np.ndarray], int, bytes]:
    """A random YOLOv5 or v8 head and output, as _random_case makes the others."""
    i32 = lambda *v: struct.pack(f"<{len(v)}i", *v)  # noqa: E731
    f32 = lambda a: np.asarray(a, F32).tobytes()  # noqa: E731
    layout = ("v5", "v8")[int(rng.integers(2))]
    n, classes = int(rng.integers(1, 40)), int(rng.integers(1, 4))
    max_boxes, asked = int(rng.integers(1, 40)), int(rng.integers(0, 64))
    divisors = [(1.0, 1.0), (96.0, 64.0), (3.0, 7.0)][int(rng.integers(3))]
    head = DetectionHead("yolo", classes, float(rng.choice([0.0, 0.3, 0.5, 0.77, 1.0])),
                         float(rng.choice([0.0, 0.3, 0.6, 1.0])), max_boxes, (0,),
                         scale=float(rng.choice([1 / 256, 0.05, 0.2, 0.9])), zero_point=int(rng.integers(-128, 50)),
                         max_candidates=int(rng.integers(1, 50)), layout=layout, num_candidates=n,
                         coordinate_divisors=divisors)
    fields = (5 if layout == "v5" else 4) + classes
    shape = (1, n, fields) if layout == "v5" else (1, fields, n)
    # Few distinct values, so equal scores and equal classes are common.
    values = rng.choice(np.array([-128, -60, -1, 0, 1, 40, 90, 127]), size=shape).astype(np.int8)
    data = (i32(3, 5 if layout == "v5" else 8, n, classes, head.threshold_q()) + f32([head.score_threshold])
            + f32(head.score_table()) + f32(divisors) + f32([head.iou_threshold]) + i32(head.max_candidates)
            + values.tobytes() + i32(min(asked, max_boxes)))
    return head, [values], asked, data


@needs_cc
def test_runtime_equals_decode_on_random_tensors(tmp_path):
    """mcugen_detect.c alone, compiled as the projects compile it, over random heads and
    tensors made for ties and edge cases: every box equal, field for field, to decode()'s."""
    from mcugen.codegen.emit import runtime_dir

    for name in ("mcugen_detect.h", "mcugen_detect.c"):
        shutil.copy(runtime_dir() / name, tmp_path / name)
    (tmp_path / "main.c").write_text(_RUNTIME_MAIN)
    exe = tmp_path / "detect_host"
    subprocess.run([CC, "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-o", str(exe), str(tmp_path / "main.c"),
                    str(tmp_path / "mcugen_detect.c")], check=True, capture_output=True, text=True)
    rng = np.random.default_rng(11)
    cases = [_random_case(rng) for _ in range(300)]
    flat_rng = np.random.default_rng(12)
    cases += [_random_flat_case(flat_rng) for _ in range(200)]
    (tmp_path / "in.bin").write_bytes(b"".join(c[3] for c in cases))
    subprocess.run([str(exe), str(tmp_path / "in.bin"), str(tmp_path / "out.bin")], check=True, timeout=60)
    data, at = (tmp_path / "out.bin").read_bytes(), 0
    counts: dict[str, list[int]] = {"fomo": [], "yolo grid": [], "yolo v5": [], "yolo v8": [], "ssd": []}
    for head, outputs, asked, _ in cases:
        boxes, at = _parse_boxes(data, at)
        assert boxes == decode(head, outputs, max_boxes=asked), head
        counts[f"yolo {head.layout}" if head.kind == "yolo" else head.kind].append(len(boxes))
    assert at == len(data)
    for kind, found in counts.items():  # every head met empty results and full ones
        assert 0 in found and max(found) >= 5, (kind, found)


# ---- refusals ----

def test_a_head_the_model_does_not_have_is_refused_in_one_line(tmp_path):
    out = tmp_path / "fw"
    proc = run_cli("generate", EXAMPLE_MODEL, "--board", "host", "--detect", "fomo", "-o", out)
    assert_clean_refusal(proc, "--detect fomo", "outputs")
    assert not out.exists()
    for args, words in ((["--detect", "ssd"], ("TFLite_Detection_PostProcess",)),
                        (["--detect", "yolo"], ("int8 output",)),
                        (["--detect", "fomo", "--score-threshold", "1.5"], ("score-threshold",)),
                        (["--anchors", "1,2"], ("--anchors is for --detect yolo",))):
        proc = run_cli("generate", EXAMPLE_MODEL, "--board", "host", *args, "-o", out)
        assert_clean_refusal(proc, *words)
        assert not out.exists()


# ---- the C against decode(), on the host ----

@pytest.fixture(scope="session")
def yolo_model(tmp_path_factory) -> Path:
    pytest.importorskip("tensorflow")
    from yolo_model import build_yolo_model

    return build_yolo_model(tmp_path_factory.mktemp("yolo") / "yolo_grid.tflite")


def _yolo_inputs() -> list[np.ndarray]:
    from yolo_model import IMAGE, red_image

    rng = np.random.default_rng(7)
    # dark red: no candidates; bright: every cell, more boxes than max_boxes; between: some
    levels = (-0.9, 0.95, 0.3, 0.35, 0.4, 0.1)
    return [red_image(level, rng).reshape(1, *IMAGE) for level in levels]


@needs_cc
def test_yolo_boxes_in_c_equal_python_decode(yolo_model, tmp_path):
    from yolo_model import ANCHORS

    with pytest.raises(DetectionError, match="needs the anchors"):
        from mcugen.loader import load_model
        detection_head(load_model(yolo_model), DetectRequest("yolo"))
    build = HostBuild(yolo_model, tmp_path / "host", DetectRequest("yolo", anchors=ANCHORS, max_boxes=6,
                                                                   iou_threshold=0.3))
    head = build.head
    assert (head.kind, head.grid, head.num_anchors, head.num_classes) == ("yolo", (4, 4), 2, 2)
    inputs = _yolo_inputs()
    results = build.run(inputs)
    reference = _tflm_outputs(yolo_model, inputs, 1)
    counts = []
    for (raw, c_boxes), ref in zip(results, reference):
        assert np.array_equal(raw[0], ref[0])  # the C's raw grid is TFLM's
        assert c_boxes == decode(head, ref)  # exact float32 equality, field by field
        counts.append(len(c_boxes))
        full = decode(head, ref, max_boxes=head.max_boxes)
        assert all(a.score >= b.score for a, b in zip(full, full[1:]))
    # zero boxes, the cap reached (more candidates survive NMS than max_boxes), and between
    assert counts[0] == 0 and counts[1] == head.max_boxes and any(0 < n < head.max_boxes for n in counts)
    unlimited = DetectionHead(**{**head.__dict__, "max_boxes": 100})
    assert len(decode(unlimited, reference[1])) > head.max_boxes
    # NMS really suppressed boxes on the bright input: fewer kept than candidates
    loose = DetectionHead(**{**unlimited.__dict__, "iou_threshold": 1.0})
    assert len(decode(loose, reference[1])) > len(decode(unlimited, reference[1]))


@pytest.fixture(scope="session")
def flat_yolo_models(tmp_path_factory) -> dict[str, Path]:
    pytest.importorskip("tensorflow")
    from yolo_model import build_yolo_flat_model

    folder = tmp_path_factory.mktemp("yolo_flat")
    return {layout: build_yolo_flat_model(folder / f"yolo_{layout}.tflite", layout) for layout in ("v5", "v8")}


@needs_cc
@pytest.mark.parametrize("layout", ["v5", "v8"])
def test_flat_yolo_boxes_in_c_equal_python_decode(flat_yolo_models, layout, tmp_path):
    """Ultralytics-style flat outputs, the layout read from the shape: the C's boxes are
    decode()'s on tflite-micro's outputs, with none, a few, and more than max_boxes."""
    from yolo_model import FLAT_CANDIDATES, FLAT_CLASSES, IMAGE, red_image

    model = flat_yolo_models[layout]
    build = HostBuild(model, tmp_path / "host", DetectRequest("yolo", max_boxes=6, iou_threshold=0.3))
    head = build.head
    fields = (5 if layout == "v5" else 4) + FLAT_CLASSES[layout]
    assert build.outputs[0].shape == ((1, FLAT_CANDIDATES, fields) if layout == "v5" else (1, fields, FLAT_CANDIDATES))
    assert (head.layout, head.num_candidates, head.num_classes, head.coordinate_divisors) == (
        layout, FLAT_CANDIDATES, FLAT_CLASSES[layout], (1.0, 1.0))
    assert "mcugen_detect_yolo_flat(" in build.generated.files["mcugen_model.c"]
    rng = np.random.default_rng(7)
    # dark red: no candidates; bright: every candidate, more boxes than max_boxes; between: some
    levels = (-0.9, 0.95, 0.0, 0.15, 0.2, 0.3)
    inputs = [red_image(level, rng).reshape(1, *IMAGE) for level in levels]
    results = build.run(inputs)
    reference = _tflm_outputs(model, inputs, 1)
    counts = []
    for (raw, c_boxes), ref in zip(results, reference):
        assert np.array_equal(raw[0], ref[0])  # the C's raw output is TFLM's
        assert c_boxes == decode(head, ref)  # exact float32 equality, field by field
        counts.append(len(c_boxes))
    assert counts[0] == 0 and counts[1] == head.max_boxes and any(0 < n < head.max_boxes for n in counts), counts
    unlimited = DetectionHead(**{**head.__dict__, "max_boxes": 100})
    loose = DetectionHead(**{**unlimited.__dict__, "iou_threshold": 1.0})
    # more boxes survive NMS than max_boxes, and NMS really suppressed some
    assert head.max_boxes < len(decode(unlimited, reference[1])) < len(decode(loose, reference[1]))


@needs_cc
@pytest.mark.parametrize("mode", ["fast", "regular"])
def test_ssd_boxes_in_c_equal_python_decode(ssd_models, mode, tmp_path):
    """A model ending in TFLite_Detection_PostProcess: auto picks the ssd head, the op's four
    outputs are TFLM's (tests/test_detection_postprocess.py checks them in depth) and the C's
    boxes are decode()'s on TFLM's outputs, over inputs with none, some and the most boxes."""
    from mcugen.validate import random_inputs

    model = ssd_models[mode]
    build = HostBuild(model, tmp_path / "host", DetectRequest("auto", score_threshold=0.8, max_boxes=3))
    head = build.head
    assert head is not None and head.kind == "ssd" and len(head.output_indices) == 4
    inputs = [sets[0] for sets in random_inputs(build.generated.graph.input_tensors(), 24, seed=3)]
    results = build.run(inputs)
    reference = _tflm_outputs(model, inputs, 4)
    counts = []
    for (raw, c_boxes), ref in zip(results, reference):
        assert all(np.array_equal(a, b) for a, b in zip(raw, ref))
        assert c_boxes == decode(head, ref)  # exact float32 equality, field by field
        assert all(b.score >= head.score_threshold for b in c_boxes)
        counts.append(len(c_boxes))
    # the threshold above the op's own drops some detections; the cap holds others back
    assert 0 in counts and head.max_boxes in counts, counts


def _reshape_model(path: Path, in_shape: tuple[int, ...], out_shape: tuple[int, ...], scale: float) -> Path:
    """A one-op int8 model (RESHAPE) whose output has a shape the tests choose."""
    from tflite_writer import Tensor, write_op_model

    return write_op_model(path, "RESHAPE", [Tensor(in_shape, "int8", scale, -128),
                                            Tensor((len(out_shape),), "int32", data=np.array(out_shape, np.int32))],
                          [Tensor(out_shape, "int8", scale, -128)], {"new_shape": list(out_shape)})


def test_yolo_layout_from_the_shape_and_its_refusals(tmp_path):
    """[1,A,B] is v5 when A > B, v8 when B > A; a square one is refused naming --yolo-layout,
    which then decides; boxes in pixels are divided by the input image's size."""
    from mcugen.loader import load_model

    square = _reshape_model(tmp_path / "square.tflite", (1, 8, 8, 1), (1, 8, 8), 1 / 256)
    out = tmp_path / "fw"
    proc = run_cli("generate", square, "--board", "host", "--detect", "yolo", "-o", out)
    assert_clean_refusal(proc, "[1,8,8]", "square", "--yolo-layout v5 or --yolo-layout v8")
    assert not out.exists()
    graph = load_model(square)
    for layout, classes in (("v5", 3), ("v8", 4)):
        head = detection_head(graph, DetectRequest("yolo", yolo_layout=layout))
        assert (head.layout, head.num_candidates, head.num_classes) == (layout, 8, classes)
    for request, words in ((DetectRequest("yolo", yolo_layout="grid", anchors=(1.0, 1.0)), "int8 output laid out"),
                           (DetectRequest("yolo", yolo_layout="v5", anchors=(1.0, 1.0)), "--anchors is for"),
                           (DetectRequest("fomo", yolo_layout="v5"), "--yolo-layout is for --detect yolo")):
        with pytest.raises(DetectionError, match=words):
            detection_head(graph, request)
    # v5 in pixels: the output's range (up to 127.5) is no fraction of the 8x6 input image
    pixels = load_model(_reshape_model(tmp_path / "pixels.tflite", (1, 8, 6, 4), (1, 24, 8), 0.5))
    head = detection_head(pixels, DetectRequest("yolo"))
    assert (head.layout, head.num_candidates, head.num_classes, head.coordinate_divisors) == ("v5", 24, 3, (6.0, 8.0))
    tall = load_model(_reshape_model(tmp_path / "tall.tflite", (1, 24, 4, 1), (1, 24, 4), 1 / 256))
    with pytest.raises(DetectionError, match="fewer than the 6"):
        detection_head(tall, DetectRequest("yolo"))
    # export takes the option too: the library's params say v8
    lib = tmp_path / "lib"
    proc = run_cli("export", square, "--format", "plain", "-o", lib, "--name", "sq", "--detect", "yolo",
                   "--yolo-layout", "v8")
    assert proc.returncode == 0, proc.stderr
    model_c = next(lib.rglob("sq_model.c")).read_text()
    assert ".layout = SQ_YOLO_LAYOUT_V8," in model_c and "sq_detect_yolo_flat(" in model_c


@needs_cc
@pytest.mark.shared
def test_fomo_face_boxes_in_c_equal_python_decode(tmp_path):
    model = shared_model("fomo_face_detection.tflite")
    # Its face scores stay low on the images ../shared has (people, not faces close up), so
    # a low threshold: a few blobs per image, more than max_boxes on one.
    build = HostBuild(model, tmp_path / "host", DetectRequest("fomo", score_threshold=0.01, max_boxes=3))
    head = build.head
    assert (head.kind, head.grid, head.num_classes, head.threshold_q()) == ("fomo", (12, 12), 1, -125)
    from conftest import SHARED_VECTORS

    inputs = [np.full((1, 96, 96, 3), -128, np.int8),
              np.random.default_rng(3).integers(-128, 128, size=(1, 96, 96, 3), dtype=np.int8)]
    for name in ("person_96x96_i8.npy", "no_person_96x96_i8.npy"):
        gray = np.load(SHARED_VECTORS / name).reshape(96, 96, 1).astype(np.int8)
        for image in (gray, gray[::-1], np.tile(gray[::2, ::2], (2, 2, 1))):  # as is, upside down, tiled
            inputs.append(np.repeat(image, 3, axis=2).reshape(1, 96, 96, 3))
    results = build.run(inputs)
    counts = []
    for raw, c_boxes in results:
        assert c_boxes == decode(head, raw)
        counts.append(len(c_boxes))
        assert all(0 <= b.x and b.x + b.w <= 1 and 0 <= b.y and b.y + b.h <= 1 for b in c_boxes)
    unlimited = DetectionHead(**{**head.__dict__, "max_boxes": 1000})
    blobs = [len(decode(unlimited, raw)) for raw, _ in results]
    assert 0 in blobs and max(blobs) > head.max_boxes, blobs


@needs_cc
def test_an_exported_library_keeps_the_boxes_api_under_its_own_name(yolo_model, tmp_path):
    from yolo_model import ANCHORS

    from mcugen.export import export_library

    lib = export_library(yolo_model, "plain", tmp_path / "lib", "grid_det",
                         detect=DetectRequest("yolo", anchors=ANCHORS))
    header = (tmp_path / "lib" / lib.public_header).read_text()
    assert "int grid_det_model_boxes(grid_det_box_t *boxes, size_t max_boxes);" in header
    assert "#define GRID_DET_MODEL_HAS_BOXES 1" in header
    objects = []
    for source in lib.sources:
        obj = tmp_path / (Path(source).stem + ".o")
        subprocess.run([CC, "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-c", str(tmp_path / "lib" / source),
                        "-o", str(obj)], check=True, capture_output=True, text=True)
        objects.append(str(obj))
    nm = subprocess.run(["nm", "-g", "--defined-only", *objects], capture_output=True, text=True, check=True).stdout
    symbols = [line.split()[-1] for line in nm.splitlines() if len(line.split()) == 3]
    assert "grid_det_detect_yolo" in symbols and all(sym.startswith("grid_det_") for sym in symbols), symbols


# ---- once on the emulated board ----

_BOARD_APP = r"""
#include <stdint.h>
#include <string.h>

#include "mcugen_app.h"
#include "mcugen_board.h"
#include "mcugen_model.h"
#include "boxes_inputs.h"

static void put_text(const char *text) { mcugen_board_write((const uint8_t *)text, strlen(text)); }

static void put_hex(uint32_t v)
{
    char digits[9];
    int i;
    for (i = 7; i >= 0; i--) {
        digits[i] = "0123456789abcdef"[v & 15u];
        v >>= 4;
    }
    digits[8] = ' ';
    mcugen_board_write((const uint8_t *)digits, 9);
}

static void put_float(float f)
{
    uint32_t bits;
    memcpy(&bits, &f, 4);
    put_hex(bits);
}

void mcugen_app_run(void)
{
    static mcugen_box_t boxes[MCUGEN_MODEL_MAX_BOXES];
    int k, i, n;
    mcugen_board_init();
    for (k = 0; k < BOXES_INPUT_COUNT; k++) {
        memcpy(mcugen_model_input(0), boxes_inputs[k], sizeof boxes_inputs[k]);
        mcugen_model_invoke();
        n = mcugen_model_boxes(boxes, MCUGEN_MODEL_MAX_BOXES);
        put_text("BOXES ");
        put_hex((uint32_t)n);
        for (i = 0; i < n; i++) {
            put_hex(boxes[i].class_id);
            put_float(boxes[i].score);
            put_float(boxes[i].x);
            put_float(boxes[i].y);
            put_float(boxes[i].w);
            put_float(boxes[i].h);
        }
        put_text("\n");
    }
    put_text("DONE\n");
    for (;;) {
    }
}
"""


def _board_inputs_header(inputs: list[np.ndarray]) -> str:
    n = inputs[0].size
    rows = ",\n".join("    {" + ", ".join(str(int(v)) for v in x.reshape(-1)) + "}" for x in inputs)
    return (f"#define BOXES_INPUT_COUNT {len(inputs)}\n"
            f"static const int8_t boxes_inputs[{len(inputs)}][{n}] = {{\n{rows}\n}};\n")


def _parse_board_line(line: str) -> list[Box]:
    words = line.split()
    assert words[0] == "BOXES"
    count = int(words[1], 16)
    values = words[2:]
    assert len(values) == 6 * count
    as_float = lambda w: float(np.frombuffer(int(w, 16).to_bytes(4, "little"), dtype=F32)[0])  # noqa: E731
    return [Box(int(values[6 * i], 16), *(as_float(w) for w in values[6 * i + 1:6 * i + 6])) for i in range(count)]


@pytest.mark.skipif(shutil.which("qemu-system-arm") is None, reason="qemu-system-arm not installed")
def test_yolo_boxes_come_back_from_the_emulated_board(yolo_model, tmp_path):
    import json

    from yolo_model import ANCHORS

    from mcugen.boards import get_board
    from mcugen.build import build_project
    from mcugen.emulator import Emulator
    from mcugen.firmware import generate_firmware_project, read_metadata

    project = tmp_path / "fw"
    fw = generate_firmware_project(yolo_model, "qemu-cm7", project,
                                   detect=DetectRequest("yolo", anchors=ANCHORS, max_boxes=6, iou_threshold=0.3))
    # mcugen.json records the head, so bench and feed decode as the board does
    head = DetectionHead.from_json(json.loads(json.dumps(read_metadata(project)["detection"])))
    assert head == fw.model.detection and head.kind == "yolo"
    detect_c = (project / "lib/mcugen_model/src/mcugen_detect.c").read_text()
    assert "fp-contract=off" in detect_c
    # Replace the bench app with one that prints each input's boxes as float bits (the link
    # agent stays: it holds the profile hooks the model's layers call).
    (project / "src" / "mcugen_app_bench.c").unlink()
    inputs = _yolo_inputs()
    (project / "src" / "boxes_app.c").write_text(_BOARD_APP)
    (project / "src" / "boxes_inputs.h").write_text(_board_inputs_header(inputs))
    build_project(project)
    # No fused multiply-add in the detection code the board runs (the M7 has VFMA): each
    # float32 step rounds on its own, as numpy's do.
    objdump = shutil.which("arm-none-eabi-objdump")
    if objdump:
        function, fused, seen = "", [], set()
        for line in subprocess.run([objdump, "-d", str(fw.elf_path)], capture_output=True, text=True,
                                   check=True).stdout.splitlines():
            if line.endswith(">:"):
                function = line.split("<", 1)[1][:-2]
                seen.add(function)
            elif function.startswith("mcugen_detect") and re.search(r"\bvfn?m[as]\b|\bvfn?m[as]\.", line):
                fused.append(line)
        assert "mcugen_detect_yolo" in seen and not fused, fused
    board = get_board("qemu-cm7")
    lines: list[str] = []
    with Emulator(board, fw.elf_path) as emu:
        link = emu.open_serial(timeout=1.0)
        deadline = time.monotonic() + 30
        buffer = b""
        while b"DONE" not in buffer and time.monotonic() < deadline:
            buffer += link.read(4096)
        link.close()
    lines = [line for line in buffer.decode(errors="replace").splitlines() if line.startswith("BOXES")]
    assert len(lines) == len(inputs), buffer[-500:]
    reference = _tflm_outputs(yolo_model, inputs, 1)
    board_boxes = [_parse_board_line(line) for line in lines]
    for boxes, ref in zip(board_boxes, reference):
        assert boxes == decode(head, ref)
    assert [len(b) for b in board_boxes][:2] == [0, head.max_boxes]  # none, and the cap reached
