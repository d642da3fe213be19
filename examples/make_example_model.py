"""Build mcugen's own example model: a tiny int8 shape classifier.

What it makes (everything under examples/shapes/):

  shapes_int8.tflite    a fully int8-quantized CNN (32x32 RGB in, 4 classes out)
  labels.txt            class names in output-index order, one per line
  images/<class>/NNN.png  8 held-out labelled 32x32 RGB images per class, the
                        layout `mcugen bench --data DIR` reads

The training data is drawn procedurally with numpy from fixed seeds: a circle,
square, triangle or a patch of stripes of random size, position, rotation and
colour on a random background with a brightness gradient and Gaussian noise.
Nothing is downloaded, so the model and the images belong to this project.

Preprocessing the model expects: RGB pixels 0..255 divided by 255, so its
real-valued input range is exactly [0, 1]. The input tensor is int8 with
scale 1/255 and zero point -128, so q = round(pixel / 255 / scale) + zero_point
is simply pixel - 128. The script checks this after conversion.

How to run (from the repository root):

    pip install -e .[tensorflow]
    python examples/make_example_model.py

It trains for a few seconds to a minute on a laptop CPU, then prints the float
test accuracy, the int8 accuracy measured with the TensorFlow Lite Micro
reference interpreter (pip package `tflite-micro`) and the input quantization.

Its output is committed to the repository, so users of mcugen need neither
TensorFlow nor this script; rerun it only to change the example.
"""

from __future__ import annotations

import os

# Must be set before TensorFlow is imported.
os.environ.setdefault("TF_DETERMINISTIC_OPS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

SIZE = 32
CLASSES = ("circle", "square", "triangle", "stripes")

SEED = 1234
TRAIN_PER_CLASS = 2000
TEST_PER_CLASS = 250
HELDOUT_PER_CLASS = 8
EPOCHS = 12
BATCH = 64
CALIBRATION_SAMPLES = 300

OUT_DIR = Path(__file__).resolve().parent / "shapes"

# Pixel-centre coordinates shared by every drawing function.
_YY, _XX = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32) + 0.5


# --------------------------------------------------------------------------
# Procedural dataset
# --------------------------------------------------------------------------

def _rotated(cx: float, cy: float, angle: float) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates in a frame centred on (cx, cy) and turned by angle."""
    dx, dy = _XX - cx, _YY - cy
    c, s = math.cos(angle), math.sin(angle)
    return dx * c + dy * s, -dx * s + dy * c


def _circle_mask(rng: np.random.Generator, cx: float, cy: float, extent: float) -> np.ndarray:
    r = extent * rng.uniform(0.7, 1.0)
    return (_XX - cx) ** 2 + (_YY - cy) ** 2 <= r * r


def _square_mask(rng: np.random.Generator, cx: float, cy: float, extent: float) -> np.ndarray:
    half = extent / math.sqrt(2.0) * rng.uniform(0.8, 1.0)
    u, v = _rotated(cx, cy, rng.uniform(0.0, math.pi / 2))
    return (np.abs(u) <= half) & (np.abs(v) <= half)


def _triangle_mask(rng: np.random.Generator, cx: float, cy: float, extent: float) -> np.ndarray:
    start = rng.uniform(0.0, 2 * math.pi)
    angles = start + np.array([0.0, 2.0, 4.0]) * math.pi / 3 + rng.uniform(-0.25, 0.25, 3)
    vx = cx + extent * np.cos(angles)
    vy = cy + extent * np.sin(angles)
    signs = []
    for i in range(3):
        j = (i + 1) % 3
        # Which side of edge i->j each pixel lies on.
        signs.append((vx[j] - vx[i]) * (_YY - vy[i]) - (vy[j] - vy[i]) * (_XX - vx[i]))
    a, b, c = signs
    return ((a >= 0) & (b >= 0) & (c >= 0)) | ((a <= 0) & (b <= 0) & (c <= 0))


def _stripes_mask(rng: np.random.Generator, cx: float, cy: float, extent: float) -> np.ndarray:
    half = extent / math.sqrt(2.0) * rng.uniform(0.85, 1.0)
    u, v = _rotated(cx, cy, rng.uniform(0.0, math.pi))
    period = rng.uniform(3.5, 6.0)
    phase = rng.uniform(0.0, period)
    on = np.mod(u + phase, period) < period / 2
    return on & (np.abs(u) <= half) & (np.abs(v) <= half)


_MASKS = (_circle_mask, _square_mask, _triangle_mask, _stripes_mask)


def _colours(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A foreground and background colour that differ visibly."""
    while True:
        bg = rng.uniform(0.0, 1.0, 3)
        fg = rng.uniform(0.0, 1.0, 3)
        if np.linalg.norm(fg - bg) >= 0.45:
            return fg, bg


def draw(rng: np.random.Generator, label: int) -> np.ndarray:
    """One SIZE x SIZE x 3 uint8 image of class ``label``."""
    extent = rng.uniform(6.0, 13.0)
    cx = rng.uniform(extent, SIZE - extent)
    cy = rng.uniform(extent, SIZE - extent)
    mask = _MASKS[label](rng, cx, cy, extent)
    fg, bg = _colours(rng)

    # Background with a gentle linear brightness gradient.
    gx, gy = rng.uniform(-0.2, 0.2, 2)
    ramp = (gx * (_XX - SIZE / 2) + gy * (_YY - SIZE / 2)) / SIZE
    img = bg[None, None, :] + ramp[:, :, None]
    img = np.where(mask[:, :, None], fg[None, None, :], img)
    img = img + rng.normal(0.0, rng.uniform(0.01, 0.05), img.shape)
    return np.clip(np.round(img * 255.0), 0, 255).astype(np.uint8)


def make_split(seed: int, per_class: int) -> tuple[np.ndarray, np.ndarray]:
    """Balanced, shuffled images (uint8, NHWC) and labels from one seed."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(len(CLASSES)), per_class)
    rng.shuffle(labels)
    images = np.stack([draw(rng, int(y)) for y in labels])
    return images, labels.astype(np.int64)


def to_float(images: np.ndarray) -> np.ndarray:
    """The model's preprocessing: uint8 pixels -> float32 in [0, 1]."""
    return images.astype(np.float32) / 255.0


# --------------------------------------------------------------------------
# Model, training, conversion
# --------------------------------------------------------------------------

def build_model(keras):
    """Conv/depthwise layers each followed by batch norm and ReLU.

    Batch norm makes this tiny net train reliably in a few epochs; the TFLite
    converter folds it into the preceding convolution's weights and bias and
    fuses the ReLU, so the int8 model has only conv, pool, mean, FC, softmax.
    """
    layers = keras.layers

    def conv(x, filters, kernel):
        x = layers.Conv2D(filters, kernel, padding="same", use_bias=False)(x)
        return layers.ReLU()(layers.BatchNormalization()(x))

    def depthwise(x):
        x = layers.DepthwiseConv2D(3, padding="same", use_bias=False)(x)
        return layers.ReLU()(layers.BatchNormalization()(x))

    inputs = keras.Input(shape=(SIZE, SIZE, 3), name="image")
    x = conv(inputs, 16, 3)                          # 32x32x16
    x = layers.MaxPooling2D(2)(x)                    # 16x16x16
    x = depthwise(x)                                 # 16x16x16
    x = conv(x, 32, 1)                               # 16x16x32
    x = layers.MaxPooling2D(2)(x)                    # 8x8x32
    x = conv(x, 32, 3)                               # 8x8x32
    x = layers.AveragePooling2D(2)(x)                # 4x4x32
    x = conv(x, 48, 3)                               # 4x4x48
    x = layers.GlobalAveragePooling2D()(x)           # 48
    outputs = layers.Dense(len(CLASSES), activation="softmax")(x)
    return keras.Model(inputs, outputs, name="shapes")


def convert(tf, model, calibration: np.ndarray) -> bytes:
    """Full-integer post-training quantization with int8 input and output."""

    # Pin the calibrated input range to exactly [0, 1]: one calibration
    # sample gets a black and a white pixel (a negligible change), so the
    # input quantization is scale 1/255, zero point -128 whatever the data.
    first = calibration[0].copy()
    first[0, 0, :] = 0.0
    first[0, 1, :] = 1.0

    def representative():
        yield [first[None]]
        for img in calibration[1:]:
            yield [img[None]]

    # from_keras_model, not a hand-written tf.function: with Keras 3 the latter
    # leaves READ_VARIABLE ops that the calibrator cannot run.
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    return converter.convert()


# --------------------------------------------------------------------------
# Int8 evaluation with the TFLite Micro reference interpreter
# --------------------------------------------------------------------------

def input_quantization(tflite_bytes: bytes) -> tuple[float, int, float, int]:
    """(input scale, input zero point, output scale, output zero point)."""
    import tflite  # the flatbuffer schema package that mcugen itself uses

    model = tflite.Model.GetRootAs(tflite_bytes, 0)
    graph = model.Subgraphs(0)

    def quant(index: int) -> tuple[float, int]:
        q = graph.Tensors(index).Quantization()
        return float(q.Scale(0)), int(q.ZeroPoint(0))

    return (*quant(graph.Inputs(0)), *quant(graph.Outputs(0)))


def quantize_input(images: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """What `mcugen bench` does to an image: pixel/255 onto int8."""
    q = np.round(images.astype(np.float64) / 255.0 / scale) + zero_point
    return np.clip(q, -128, 127).astype(np.int8)


def int8_predictions(model_path: Path, images: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    from tflite_micro import runtime

    interpreter = runtime.Interpreter.from_file(str(model_path), arena_size=1 << 20)
    preds = []
    for q in quantize_input(images, scale, zero_point):
        interpreter.set_input(q[None], 0)
        interpreter.invoke()
        preds.append(int(np.argmax(interpreter.get_output(0))))
    return np.array(preds)


def read_heldout(directory: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read images/<class>/*.png back, exactly as a user's data folder."""
    from PIL import Image

    images, labels = [], []
    for label, name in enumerate(CLASSES):
        for png in sorted((directory / name).glob("*.png")):
            with Image.open(png) as im:
                images.append(np.asarray(im.convert("RGB")))
            labels.append(label)
    return np.stack(images), np.array(labels)


# --------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="output folder (default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    args = parser.parse_args(argv)
    started = time.monotonic()

    import tensorflow as tf
    import keras
    from PIL import Image

    keras.utils.set_random_seed(SEED)
    tf.config.experimental.enable_op_determinism()

    # Disjoint seeds for the three splits.
    x_train, y_train = make_split(SEED + 1, TRAIN_PER_CLASS)
    x_test, y_test = make_split(SEED + 2, TEST_PER_CLASS)
    x_held, y_held = make_split(SEED + 3, HELDOUT_PER_CLASS)
    print(f"dataset: {len(x_train)} train, {len(x_test)} test, {len(x_held)} held-out images "
          f"({', '.join(CLASSES)})")

    model = build_model(keras)
    steps = args.epochs * math.ceil(len(x_train) / BATCH)
    model.compile(
        optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(3e-3, steps)),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(
        to_float(x_train), y_train,
        epochs=args.epochs, batch_size=BATCH, shuffle=True, verbose=2,
        validation_data=(to_float(x_test), y_test),
    )
    float_acc = float(np.mean(np.argmax(model.predict(to_float(x_test), verbose=0), axis=1) == y_test))

    tflite_bytes = convert(tf, model, to_float(x_train[:CALIBRATION_SAMPLES]))
    in_scale, in_zp, out_scale, out_zp = input_quantization(tflite_bytes)
    if not (abs(in_scale - 1.0 / 255.0) < 1e-9 and in_zp == -128):
        raise SystemExit(f"unexpected input quantization: scale {in_scale}, zero point {in_zp}; "
                         "expected 1/255 and -128 for inputs in [0, 1]")

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    model_path = out / "shapes_int8.tflite"
    model_path.write_bytes(tflite_bytes)
    (out / "labels.txt").write_text("".join(name + "\n" for name in CLASSES))

    image_dir = out / "images"
    counters = dict.fromkeys(CLASSES, 0)
    for img, label in zip(x_held, y_held):
        name = CLASSES[int(label)]
        target = image_dir / name / f"{counters[name]:03d}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img, mode="RGB").save(target, optimize=True)
        counters[name] += 1

    held_images, held_labels = read_heldout(image_dir)
    try:
        test_int8 = int8_predictions(model_path, x_test, in_scale, in_zp)
        held_int8 = int8_predictions(model_path, held_images, in_scale, in_zp)
    except ImportError:
        test_int8 = held_int8 = None
    held_float = np.argmax(model.predict(to_float(held_images), verbose=0), axis=1)

    print()
    print(f"wrote {model_path} ({len(tflite_bytes)} bytes)")
    print(f"wrote {out / 'labels.txt'}")
    print(f"wrote {len(held_images)} images under {image_dir}")
    print(f"input quantization:  scale {in_scale:.9f} (1/255), zero point {in_zp}")
    print(f"output quantization: scale {out_scale:.9f}, zero point {out_zp}")
    print(f"float accuracy: {float_acc:.4f} on {len(y_test)} test images, "
          f"{np.mean(held_float == held_labels):.4f} on {len(held_labels)} held-out PNGs")
    if test_int8 is None:
        print("int8 accuracy: skipped (pip install tflite-micro to measure it)")
    else:
        print(f"int8 accuracy (tflite-micro): {np.mean(test_int8 == y_test):.4f} on {len(y_test)} test images, "
              f"{np.mean(held_int8 == held_labels):.4f} on {len(held_labels)} held-out PNGs")
    print(f"done in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
