"""Inputs for a benchmark: a labeled image folder, .npy vectors, or random data,
converted to the model's input tensor exactly as it expects them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import McugenError
from .ir import Tensor
from .preprocess import PIXEL_RANGES, PixelFormat, PreprocessParams, frame_to_tensor, image_to_rgb888
from .validate import load_vectors, random_inputs

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".ppm", ".pgm"}


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
    """The input tensor for one image file, as the device would compute it from an RGB888
    camera frame of the image's own size (centre crop, box resize, LUT: mcugen.preprocess)."""
    params = PreprocessParams.for_tensor(tensor, PIXEL_RANGES[pixel_range])
    data, width, height = image_to_rgb888(path)
    return frame_to_tensor(data, width, height, PixelFormat.RGB888, params)


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
    lo, hi = PIXEL_RANGES[pixel_range]
    return Inputs(sets, names, [f"images centre-cropped to the input's aspect ratio, box-resized, scaled to "
                                f"[{lo:g}, {hi:g}] then quantized to the input"])


def vector_inputs(paths: list[Path], tensors: list[Tensor]) -> Inputs:
    sets, notes = load_vectors(paths, tensors)
    return Inputs([InputSet(one, None, "vector") for one in sets], None, notes)


def generated_inputs(count: int, tensors: list[Tensor], seed: int = 0) -> Inputs:
    return Inputs([InputSet(one, None, "random") for one in random_inputs(tensors, count, seed)])
