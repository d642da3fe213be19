"""A tiny FOMO-style detector trained on synthetic images, and a labelled image folder for it.

../shared has no labelled detection images, so the tests make their own problem: bright
squares and bars on a noisy dark background, each object covering whole cells of the
detector's 8 x 8-pixel output grid. FOMO turns every blob of cells above the threshold
into one box (the blob's bounding rectangle), so a detector that lights exactly the cells
an object covers gives boxes that match the labels at IoU 0.5, and mAP@0.5 measures how
well it learnt.

    build_fomo_model(path)            # 48x48x1 int8 in -> [1,6,6,2] int8 softmax (channel 0 background),
                                      # trained in Keras and quantized with mcugen quantize
    write_image_folder(folder)        # folder/images/*.png, folder/labels/*.txt (YOLO), folder/labels.txt

Everything is seeded: the same call writes the same images; training is made
deterministic (TensorFlow's op determinism, one thread) so the model is the same too.

    python tests/fomo_synthetic.py OUT_DIR   # writes OUT_DIR/fomo.tflite and OUT_DIR/data/
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

SIZE = 48          # input width and height, pixels
CELL = 8           # the output grid's cell (three stride-2 layers)
GRID = SIZE // CELL
CLASS_NAMES = ("square",)
# Object shapes in cells: squares of one and two cells, bars of one by two.
SHAPES = ((1, 1), (2, 2), (1, 2), (2, 1))


def synthetic_image(rng: np.random.Generator, dimmest: int = 170
                    ) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """(48, 48) uint8 and its objects as (cell x, cell y, width in cells, height in cells),
    each object's level drawn from dimmest..255 over a background of 0..89. Objects never
    touch (a free cell all round), so each is its own blob."""
    image = rng.integers(0, 90, size=(SIZE, SIZE)).astype(np.int32)
    occupied = np.zeros((GRID + 2, GRID + 2), dtype=bool)  # padded by one cell: the free ring
    objects = []
    for _ in range(int(rng.integers(0, 4))):
        cw, ch = SHAPES[int(rng.integers(len(SHAPES)))]
        for _attempt in range(10):
            cx, cy = int(rng.integers(0, GRID - cw + 1)), int(rng.integers(0, GRID - ch + 1))
            if not occupied[cy:cy + ch + 2, cx:cx + cw + 2].any():
                break
        else:
            continue
        occupied[cy + 1:cy + ch + 1, cx + 1:cx + cw + 1] = True
        level = int(rng.integers(dimmest, 256))
        texture = rng.integers(0, 30, (ch * CELL, cw * CELL))
        image[cy * CELL:(cy + ch) * CELL, cx * CELL:(cx + cw) * CELL] = level - texture
        objects.append((cx, cy, cw, ch))
    return np.clip(image, 0, 255).astype(np.uint8), objects


def heat_map(objects: list[tuple[int, int, int, int]]) -> np.ndarray:
    """(6, 6, 2) one-hot target: channel 1 on every cell an object covers."""
    target = np.zeros((GRID, GRID, 2), dtype=np.float32)
    target[..., 0] = 1.0
    for cx, cy, cw, ch in objects:
        target[cy:cy + ch, cx:cx + cw] = (0.0, 1.0)
    return target


def build_fomo_model(path: Path, *, seed: int = 0, samples: int = 1500, epochs: int = 6) -> Path:
    """Trains the detector (a few seconds on two cores), saves it as Keras (path.keras) and
    quantizes it with `mcugen quantize` to a full-integer int8 .tflite at path: int8 input
    (pixels 0..1) and int8 output."""
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    rng = np.random.default_rng(seed)
    pairs = [synthetic_image(rng) for _ in range(samples)]
    x = np.stack([p[0] for p in pairs]).astype(np.float32)[..., None] / 255.0
    y = np.stack([heat_map(p[1]) for p in pairs])

    model = tf.keras.Sequential([
        tf.keras.Input((SIZE, SIZE, 1)),
        tf.keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu"),
        tf.keras.layers.Conv2D(16, 3, strides=2, padding="same", activation="relu"),
        tf.keras.layers.Conv2D(16, 3, strides=2, padding="same", activation="relu"),
        tf.keras.layers.Conv2D(16, 1, activation="relu"),
        tf.keras.layers.Conv2D(2, 1, activation="softmax"),
    ])
    # Object cells are a few of 36: weigh them up so the background does not win by default.
    weights = 1.0 + 4.0 * y[..., 1]
    model.compile(optimizer=tf.keras.optimizers.Adam(0.01), loss="categorical_crossentropy")
    model.fit(x, y, sample_weight=weights, epochs=epochs, batch_size=32, verbose=0, shuffle=True)

    # The user's path: the trained Keras model saved, then `mcugen quantize` (full-integer,
    # int8 edges) with the first 200 training images as calibration.
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    keras_file, calibration = path.with_suffix(".keras"), path.with_suffix(".calibration.npy")
    model.save(keras_file)
    np.save(calibration, x[:200])
    from mcugen.quantize import quantize_model

    quantize_model(keras_file, path, calibration)
    return path


def write_image_folder(folder: Path, *, count: int = 16, seed: int = 1, dimmest: int = 100) -> Path:
    """count PNGs in Ultralytics' layout (images/, labels/ with one YOLO line per object:
    class cx cy w h as fractions) and labels.txt naming the class; returns folder. The
    objects go dimmer than any the model was trained on (dimmest 100, not 170), down to
    the noise's level, so it misses some and mAP says something (it is not 1)."""
    from PIL import Image

    folder = Path(folder)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    (folder / "labels").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(count):
        image, objects = synthetic_image(rng, dimmest)
        Image.fromarray(image, mode="L").save(folder / "images" / f"img{i:03d}.png")
        lines = [f"0 {(cx + cw / 2) / GRID:.6f} {(cy + ch / 2) / GRID:.6f} {cw / GRID:.6f} {ch / GRID:.6f}"
                 for cx, cy, cw, ch in objects]
        (folder / "labels" / f"img{i:03d}.txt").write_text("".join(line + "\n" for line in lines))
    (folder / "labels.txt").write_text("\n".join(CLASS_NAMES) + "\n")
    return folder


def session_files(tmp_path_factory) -> tuple[Path, Path]:
    """(model, image folder), made once per test session and shared by the test modules
    that use them (the model takes seconds to train)."""
    import pytest

    pytest.importorskip("tensorflow", reason="TensorFlow is needed to train the synthetic FOMO model")
    base = tmp_path_factory.getbasetemp() / "fomo_synthetic"
    model, data = base / "fomo.tflite", base / "data"
    if not model.is_file():  # written last: its presence means both are whole
        write_image_folder(data)
        build_fomo_model(model)
    return model, data


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "fomo_synthetic")
    print(build_fomo_model(out / "fomo.tflite"), write_image_folder(out / "data"))
