"""Tiny YOLO-style detectors for the tests: the grid output OpenMV's yolo_lc_192 has, and
the flat outputs Ultralytics' YOLOv5 and YOLOv8 exports have.

    build_yolo_model(path)             # 16x16x3 int8 image -> [1,4,4,A*(5+C)] int8 grid (A=2 anchors, C=2)
    build_yolo_flat_model(path, "v5")  # -> [1,N,5+C] int8 (N=32 candidates, C=2 classes)
    build_yolo_flat_model(path, "v8")  # -> [1,4+C,N] int8 (N=32 candidates, C=3 classes)
    red_image(level, rng)              # an int8 input whose red channel steers the scores

The models are not trained: their last 1x1 convolution is set by hand so a test can steer
them. Each 4x4-pixel cell is average-pooled, then per anchor (grid) or candidate (flat,
two per cell): the score rises with the cell's red level (dark red: no candidate; bright
red: every cell a candidate), the rest follows the green and blue levels with fixed
seeded weights. Grid: objectness rises with red; the anchors (ANCHORS, in grid cells) are
wider than a cell, so neighbouring cells' boxes overlap and NMS has work to do. Flat: the
values are sigmoids, as an export's decoded boxes and scores are (xywh in fractions of
the image); v5's objectness and v8's class scores rise with red; boxes are a fifth to a
third of the image wide at seeded centres, so some overlap.

    python tests/yolo_model.py OUT.tflite [grid|v5|v8]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

IMAGE = (16, 16, 3)
GRID = 4
NUM_ANCHORS = 2
NUM_CLASSES = 2
FIELDS = 5 + NUM_CLASSES
ANCHORS = (1.5, 2.0, 2.5, 1.5)  # w,h per anchor, grid cells: pass as --anchors 1.5,2,2.5,1.5
ANCHORS_TEXT = ",".join(f"{a:g}" for a in ANCHORS)

# The flat models: two candidates per cell; (values before the classes, classes) per layout.
FLAT_PER_CELL = 2
FLAT_CANDIDATES = GRID * GRID * FLAT_PER_CELL
FLAT_CLASSES = {"v5": 2, "v8": 3}
_FLAT_BOX_VALUES = {"v5": 5, "v8": 4}


def _head_weights(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The 1x1 convolution [1,1,3,A*FIELDS] and its bias: objectness = 6 * red - 1.5 per
    anchor (input pixels -1..1), the rest small seeded mixes of green and blue."""
    rng = np.random.default_rng(seed)
    kernel = np.zeros((1, 1, 3, NUM_ANCHORS * FIELDS), dtype=np.float32)
    bias = np.zeros(NUM_ANCHORS * FIELDS, dtype=np.float32)
    for a in range(NUM_ANCHORS):
        base = a * FIELDS
        for f in range(FIELDS):
            kernel[0, 0, 1:, base + f] = rng.uniform(-1.5, 1.5, size=2)
            bias[base + f] = rng.uniform(-0.3, 0.3)
        kernel[0, 0, :, base + 4] = (6.0, 0.0, 0.0)
        bias[base + 4] = -1.5 + 0.4 * a
    return kernel, bias


def _flat_head_weights(layout: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The 1x1 convolution before the sigmoid, per candidate of a cell: cx, cy spread by
    large green/blue mixes; w, h logits about -1.2 (a fifth to a third of the image);
    v5: objectness 6 * red - 1.5 and class logits green/blue mixes about +1; v8: each
    class logit 6 * red - 2 plus a small green/blue mix, so classes compete."""
    rng = np.random.default_rng(seed)
    first_class = _FLAT_BOX_VALUES[layout]
    fields = first_class + FLAT_CLASSES[layout]
    kernel = np.zeros((1, 1, 3, FLAT_PER_CELL * fields), dtype=np.float32)
    bias = np.zeros(FLAT_PER_CELL * fields, dtype=np.float32)
    for k in range(FLAT_PER_CELL):
        base = k * fields
        # cx, cy: a cell's pooled green and blue are near 0 (averages of 16 random pixels), so
        # large weights spread the centres over the image
        kernel[0, 0, 1:, base] = rng.uniform(-15.0, 15.0, size=2)
        kernel[0, 0, 1:, base + 1] = rng.uniform(-15.0, 15.0, size=2)
        for f in (2, 3):  # w, h
            kernel[0, 0, 1:, base + f] = rng.uniform(-0.5, 0.5, size=2)
            bias[base + f] = -1.2 + rng.uniform(-0.3, 0.3)
        if layout == "v5":
            kernel[0, 0, 0, base + 4] = 6.0
            bias[base + 4] = -1.5 + 0.4 * k
        for c in range(FLAT_CLASSES[layout]):
            f = base + first_class + c
            kernel[0, 0, 1:, f] = rng.uniform(-8.0, 8.0, size=2)
            if layout == "v5":
                bias[f] = 1.0 + rng.uniform(-0.5, 0.5)
            else:
                kernel[0, 0, 0, f] = 6.0
                bias[f] = -2.0 + 0.3 * c
    return kernel, bias


def _convert(model, path: str | Path, seed: int) -> Path:
    """Full-integer int8 conversion (int8 input, pixels -1..1; int8 output) to path."""
    import tensorflow as tf

    rng = np.random.default_rng(seed + 1)

    def representative():
        for _ in range(64):
            yield [rng.uniform(-1.0, 1.0, size=(1, *IMAGE)).astype(np.float32)]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(converter.convert())
    return path


def _import_tensorflow(seed: int):
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)
    return tf


def build_yolo_model(path: str | Path, *, seed: int = 0) -> Path:
    """Writes the grid model's int8 .tflite and returns its path."""
    tf = _import_tensorflow(seed)
    inputs = tf.keras.Input(IMAGE)
    pooled = tf.keras.layers.AveragePooling2D(IMAGE[0] // GRID)(inputs)
    head = tf.keras.layers.Conv2D(NUM_ANCHORS * FIELDS, 1)
    outputs = head(pooled)
    model = tf.keras.Model(inputs, outputs)
    head.set_weights(list(_head_weights(seed)))
    return _convert(model, path, seed)


def build_yolo_flat_model(path: str | Path, layout: str, *, seed: int = 0) -> Path:
    """Writes a flat model's int8 .tflite (layout "v5": [1,N,5+C]; "v8": [1,4+C,N]) and
    returns its path. Candidate n is cell n // 2 (row-major), its candidate n % 2."""
    tf = _import_tensorflow(seed)
    fields = _FLAT_BOX_VALUES[layout] + FLAT_CLASSES[layout]
    inputs = tf.keras.Input(IMAGE)
    pooled = tf.keras.layers.AveragePooling2D(IMAGE[0] // GRID)(inputs)
    head = tf.keras.layers.Conv2D(FLAT_PER_CELL * fields, 1, activation="sigmoid")
    decoded = tf.keras.layers.Reshape((FLAT_CANDIDATES, fields))(head(pooled))
    outputs = decoded if layout == "v5" else tf.keras.layers.Permute((2, 1))(decoded)
    model = tf.keras.Model(inputs, outputs)
    head.set_weights(list(_flat_head_weights(layout, seed)))
    return _convert(model, path, seed)


def red_image(level: float, rng: np.random.Generator, spread: float = 0.3) -> np.ndarray:
    """An int8 input (scale 1/127.5 about -1..1 as the converter quantizes it, roughly)
    whose red channel is about `level` (-1..1) per pixel and green/blue random."""
    image = rng.uniform(-1.0, 1.0, size=IMAGE)
    image[..., 0] = np.clip(level + rng.uniform(-spread, spread, size=IMAGE[:2]), -1.0, 1.0)
    return np.clip(np.round(image * 127.5 - 0.5), -128, 127).astype(np.int8)


if __name__ == "__main__":
    layout = sys.argv[2] if len(sys.argv) > 2 else "grid"
    if layout == "grid":
        build_yolo_model(sys.argv[1])
    else:
        build_yolo_flat_model(sys.argv[1], layout)
