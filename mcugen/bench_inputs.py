"""Inputs for a benchmark: a labeled image folder, .npy vectors, or random data,
converted to the model's input tensor exactly as it expects them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import McugenError
from .ir import NUMPY_DTYPES, Tensor
from .validate import load_vectors, random_inputs

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".ppm", ".pgm"}
# Real-valued range a pixel 0..255 maps to before quantization, by name.
PIXEL_RANGES = {"0-1": (0.0, 1.0), "0-255": (0.0, 255.0), "-1-1": (-1.0, 1.0)}


@dataclass
class InputSet:
    arrays: list[np.ndarray]  # one per model input
    label: int | None = None  # class index, for labeled images
    source: str = ""


@dataclass
class Inputs:
    sets: list[InputSet]
    class_names: list[str] | None = None
    notes: list[str] | None = None


def _class_names(data_dir: Path, folders: list[str]) -> list[str]:
    """Output index order: labels.txt in the folder or beside it, else sorted folder names."""
    for candidate in (data_dir / "labels.txt", data_dir.parent / "labels.txt"):
        if candidate.is_file():
            names = [line.strip() for line in candidate.read_text().splitlines() if line.strip()]
            missing = sorted(set(folders) - set(names))
            if missing:
                raise McugenError(f"{candidate} does not list the class folder(s) {', '.join(missing)}",
                                  "add them in output index order, one per line")
            return names
    return sorted(folders)


def quantize_image(path: Path, tensor: Tensor, pixel_range: str) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    shape = tensor.shape
    if len(shape) != 4:
        raise McugenError(f"image input needs an NHWC input tensor; {tensor.label()} has shape {list(shape)}")
    _, height, width, channels = shape
    if channels not in (1, 3):
        raise McugenError(f"image input needs 1 or 3 channels; {tensor.label()} has {channels}")
    try:
        with Image.open(path) as img:
            img = img.convert("L" if channels == 1 else "RGB").resize((width, height), Image.BILINEAR)
            pixels = np.asarray(img, dtype=np.float32).reshape(shape)
    except (UnidentifiedImageError, OSError) as exc:
        raise McugenError(f"cannot read image {path}: {exc}") from None
    lo, hi = PIXEL_RANGES[pixel_range]
    real = lo + pixels / np.float32(255.0) * np.float32(hi - lo)
    if tensor.dtype == "float32":
        return real.astype(np.float32)
    if tensor.quant is None:
        raise McugenError(f"input {tensor.label()} is {tensor.dtype} without quantization parameters")
    info = np.iinfo(NUMPY_DTYPES[tensor.dtype])
    scale, zp = tensor.quant.scale[0], tensor.quant.zero_point[0]
    q = np.round(real / np.float32(scale)) + zp
    return np.clip(q, info.min, info.max).astype(NUMPY_DTYPES[tensor.dtype])


def image_inputs(data_dir: Path, tensors: list[Tensor], pixel_range: str = "0-1") -> Inputs:
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise McugenError(f"data folder not found: {data_dir}", "give a folder with one subfolder of images per class")
    if len(tensors) != 1:
        raise McugenError("--data works with single-input models only")
    folders = sorted(p.name for p in data_dir.iterdir() if p.is_dir())
    if not folders:
        raise McugenError(f"{data_dir} has no class subfolders", "put each class's images in a subfolder named after it")
    names = _class_names(data_dir, folders)
    sets = []
    for folder in folders:
        label = names.index(folder)
        for image in sorted((data_dir / folder).iterdir()):
            if image.suffix.lower() in IMAGE_SUFFIXES:
                sets.append(InputSet([quantize_image(image, tensors[0], pixel_range)], label,
                                     f"{folder}/{image.name}"))
    if not sets:
        raise McugenError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) under {data_dir}")
    return Inputs(sets, names, [f"images scaled to [{PIXEL_RANGES[pixel_range][0]:g}, "
                                f"{PIXEL_RANGES[pixel_range][1]:g}] then quantized to the input"])


def vector_inputs(paths: list[Path], tensors: list[Tensor]) -> Inputs:
    sets, notes = load_vectors(paths, tensors)
    return Inputs([InputSet(one, None, "vector") for one in sets], None, notes)


def generated_inputs(count: int, tensors: list[Tensor], seed: int = 0) -> Inputs:
    return Inputs([InputSet(one, None, "random") for one in random_inputs(tensors, count, seed)])
