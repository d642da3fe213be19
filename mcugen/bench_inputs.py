"""Inputs for a benchmark: a labeled image folder, .npy vectors, or random data,
converted to the model's input tensor exactly as it expects them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import McugenError
from .ir import Tensor
from .preprocess import PixelFormat, PreprocessOptions, PreprocessParams, frame_to_tensor, image_to_rgb888
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
    preprocessing: PreprocessParams | None = None  # how images became tensors (--data only)


def class_count(outputs: list[Tensor]) -> int:
    """How many classes the model scores: its one output, a vector once the leading 1s
    are dropped. Anything else (a detector's grid, several outputs) has no top-1 to
    compare with a folder's label."""
    if len(outputs) == 1:
        dims = list(outputs[0].shape)
        while len(dims) > 1 and dims[0] == 1:
            dims.pop(0)
        if len(dims) == 1 and dims[0] >= 2:
            return dims[0]
    shapes = ", ".join(str(list(t.shape)) for t in outputs)
    raise McugenError(f"--data measures top-1 accuracy, but the model's output ({shapes}) is not one vector of "
                      "class scores", "bench it with --vectors FILE.npy or --random N (latency and bit-exactness)")


def _class_names(data_dir: Path, folders: list[str], classes: int) -> list[str]:
    """Output index order: labels.txt in the folder or beside it, else sorted folder names."""
    for candidate in (data_dir / "labels.txt", data_dir.parent / "labels.txt"):
        if candidate.is_file():
            names = [line.strip() for line in candidate.read_text().splitlines() if line.strip()]
            if len(names) != classes:
                raise McugenError(f"{candidate} names {len(names)} classes but the model has {classes} outputs",
                                  f"list the {classes} classes in output index order, one per line")
            missing = sorted(set(folders) - set(names))
            if missing:
                raise McugenError(f"{candidate} does not list the class folder(s) {', '.join(missing)}",
                                  "add them in output index order, one per line")
            return names
    if len(folders) != classes:
        raise McugenError(f"{data_dir} has {len(folders)} class folders but the model has {classes} outputs",
                          "add a labels.txt naming the model's classes in output index order, one per line")
    return sorted(folders)


def quantize_image(path: Path, params: PreprocessParams) -> np.ndarray:
    """The input tensor for one image file, as the device would compute it from an RGB888
    camera frame of the image's own size (channels, resize, LUT: mcugen.preprocess)."""
    data, width, height = image_to_rgb888(path)
    return frame_to_tensor(data, width, height, PixelFormat.RGB888, params)


def image_inputs(data_dir: Path, tensors: list[Tensor], outputs: list[Tensor], pixel_range: str = "auto",
                 options: PreprocessOptions | None = None) -> Inputs:
    """pixel_range: a PIXEL_RANGES name, or "auto" for the range the input's dtype,
    scale and zero point represent (mcugen.preprocess.default_pixel_range); options:
    channel order, grayscale, resize mode, mean and std (default: none of them)."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise McugenError(f"data folder not found: {data_dir}", "give a folder with one subfolder of images per class")
    if len(tensors) != 1:
        raise McugenError(f"--data feeds one image per inference, but the model has {len(tensors)} inputs",
                          "bench it with --vectors (one .npy per input) or --random N")
    classes = class_count(outputs)
    folders = sorted(p.name for p in data_dir.iterdir() if p.is_dir())
    if not folders:
        raise McugenError(f"{data_dir} has no class subfolders", "put each class's images in a subfolder named after it")
    names = _class_names(data_dir, folders, classes)
    # Checked before any image is read: a bad option is refused however many images there are.
    params = PreprocessParams.for_tensor(tensors[0], None if pixel_range == "auto" else pixel_range, options)
    sets = []
    for folder in folders:
        label = names.index(folder)
        for image in sorted((data_dir / folder).iterdir()):
            if image.suffix.lower() in IMAGE_SUFFIXES:
                sets.append(InputSet([quantize_image(image, params)], label, f"{folder}/{image.name}"))
    if not sets:
        raise McugenError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) under {data_dir}")
    how = params.describe() if pixel_range == "auto" else f"{params.describe()} (--pixel-range {pixel_range})"
    return Inputs(sets, names, [f"images {how}"], params)


def vector_inputs(paths: list[Path], tensors: list[Tensor]) -> Inputs:
    sets, notes = load_vectors(paths, tensors)
    return Inputs([InputSet(one, None, "vector") for one in sets], None, notes)


def generated_inputs(count: int, tensors: list[Tensor], seed: int = 0) -> Inputs:
    return Inputs([InputSet(one, None, "random") for one in random_inputs(tensors, count, seed)])
