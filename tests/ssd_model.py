"""A tiny SSD-style detector ending in TFLite's custom op TFLite_Detection_PostProcess.

The TF Object Detection API exports SSD models this way: a tf.function annotated with
experimental_implements names the op and its attributes, and the TFLite converter puts
the custom op in its place (the function's own body is a dummy that only gives the
outputs their static shapes, which TFLite Micro requires). The converter needs the
legacy Keras, so the model is built in a child process with TF_USE_LEGACY_KERAS=1 set
before TensorFlow is imported:

    build_ssd_model(path, use_regular_nms=True)              # from Python
    python tests/ssd_model.py OUT.tflite [--regular] ...     # what it runs

The model: a 16x16x3 int8 image -> conv -> a box head and a class head over 192 anchors
(8x8 cells x 3), the class head through a sigmoid, both dequantized to float32 for the
op (the converter's own DEQUANTIZE ops), anchors a float32 constant.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

IMAGE = (16, 16, 3)
ANCHORS_PER_CELL = 3
NUM_ANCHORS = 8 * 8 * ANCHORS_PER_CELL
# Low enough that some anchors pass and some do not on random images; the IoU threshold
# lets overlapping boxes (anchors of up to 0.9 x 0.9 in a unit image) suppress each other.
SCORE_THRESHOLD = 0.76
IOU_THRESHOLD = 0.5


def build_ssd_model(path: str | Path, *, use_regular_nms: bool = False, max_detections: int = 5,
                    num_classes: int = 3, seed: int = 0, max_classes_per_detection: int = 1) -> Path:
    """Write the .tflite to `path` (TensorFlow is imported only in the child process)."""
    spec = dict(use_regular_nms=use_regular_nms, max_detections=max_detections, num_classes=num_classes,
                seed=seed, max_classes_per_detection=max_classes_per_detection)
    return build_ssd_models({Path(path): spec})[0]


def build_ssd_models(specs: dict[Path, dict]) -> list[Path]:
    """Several models in one child process (TensorFlow's import is most of the time):
    path -> build_ssd_model's keyword arguments."""
    args = [sys.executable, str(Path(__file__).resolve()), "--json", json.dumps({str(p): s for p, s in specs.items()})]
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=600)
    paths = [Path(p) for p in specs]
    if proc.returncode != 0 or not all(p.exists() for p in paths):
        raise RuntimeError(f"building the SSD test model failed:\n{proc.stderr[-3000:]}")
    return paths


def _implements(attrs: dict) -> str:
    """The experimental_implements text (a NameAttrList in text format) naming the op."""
    parts = ['name: "TFLite_Detection_PostProcess"']
    for key, value in attrs.items():
        if isinstance(value, bool):
            parts.append(f'attr {{ key: "{key}" value {{ b: {str(value).lower()} }} }}')
        elif isinstance(value, int):
            parts.append(f'attr {{ key: "{key}" value {{ i: {value} }} }}')
        else:
            parts.append(f'attr {{ key: "{key}" value {{ f: {value} }} }}')
    return " ".join(parts)


def _build(out: Path, use_regular_nms: bool, max_detections: int, num_classes: int, seed: int,
           max_classes_per_detection: int) -> None:
    import numpy as np
    import tensorflow as tf

    rng = np.random.RandomState(seed)
    # Anchors (ycenter, xcenter, h, w) in a unit image: big and dense enough to overlap.
    centers = rng.uniform(0.1, 0.9, (NUM_ANCHORS, 2))
    sizes = rng.uniform(0.15, 0.6, (NUM_ANCHORS, 2))
    anchors = np.concatenate([centers, sizes], axis=1).astype(np.float32)
    attrs = {
        "max_detections": max_detections, "max_classes_per_detection": max_classes_per_detection,
        "detections_per_class": 100, "num_classes": num_classes,
        "nms_score_threshold": SCORE_THRESHOLD, "nms_iou_threshold": IOU_THRESHOLD,
        "y_scale": 10.0, "x_scale": 10.0, "h_scale": 5.0, "w_scale": 5.0, "use_regular_nms": use_regular_nms,
    }
    out_boxes = max_detections * (1 if use_regular_nms else max_classes_per_detection)

    @tf.function(experimental_implements=_implements(attrs))
    def postprocess(boxes, scores, anchor_boxes):
        # Only the shapes matter: the converter replaces this body by the custom op.
        return (tf.zeros([1, out_boxes, 4], name="detection_boxes"), tf.zeros([1, out_boxes], name="classes"),
                tf.zeros([1, out_boxes], name="scores"), tf.zeros([1], name="num_detections"))

    keras = tf.keras
    image = keras.Input(IMAGE, batch_size=1)
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(image)
    boxes = keras.layers.Reshape((NUM_ANCHORS, 4))(keras.layers.Conv2D(4 * ANCHORS_PER_CELL, 1)(x))
    logits = keras.layers.Conv2D((num_classes + 1) * ANCHORS_PER_CELL, 1)(x)
    scores = keras.layers.Activation("sigmoid")(keras.layers.Reshape((NUM_ANCHORS, num_classes + 1))(logits))
    heads = keras.Model(image, [boxes, scores])
    # Weights from the seed alone (Keras' own initializers are not reproducible across
    # processes): He-scaled kernels, zero biases.
    for weight in heads.weights:
        shape = tuple(weight.shape)
        fan_in = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
        values = rng.normal(0.0, np.sqrt(2.0 / fan_in), shape) if len(shape) > 1 else np.zeros(shape)
        weight.assign(values.astype(np.float32))

    class Detector(tf.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        @tf.function(input_signature=[tf.TensorSpec((1,) + IMAGE, tf.float32)])
        def f(self, x):  # the converter needs the argument named `self`
            b, s = self.model(x)
            return postprocess(b, s, tf.constant(anchors))

    import tempfile

    with tempfile.TemporaryDirectory() as saved:
        module = Detector(heads)
        tf.saved_model.save(module, saved, signatures=module.f.get_concrete_function())
        converter = tf.lite.TFLiteConverter.from_saved_model(saved)
        converter.optimizations = [tf.lite.Optimize.DEFAULT]

        def representative():
            calib = np.random.RandomState(seed + 1)
            for _ in range(20):
                yield [calib.uniform(0, 1, (1,) + IMAGE).astype(np.float32)]

        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.allow_custom_ops = True
        out.write_bytes(converter.convert())


def main() -> None:
    if sys.argv[1:2] == ["--json"]:
        for out, spec in json.loads(sys.argv[2]).items():
            _build(Path(out), spec.get("use_regular_nms", False), spec.get("max_detections", 5),
                   spec.get("num_classes", 3), spec.get("seed", 0), spec.get("max_classes_per_detection", 1))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--regular", action="store_true", help="use_regular_nms=true")
    parser.add_argument("--max-detections", type=int, default=5)
    parser.add_argument("--num-classes", type=int, default=3)
    parser.add_argument("--max-classes-per-detection", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    a = parser.parse_args()
    _build(a.out, a.regular, a.max_detections, a.num_classes, a.seed, a.max_classes_per_detection)


if __name__ == "__main__":
    main()
