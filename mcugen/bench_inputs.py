"""Inputs for a benchmark: a labeled image folder, .npy vectors, or random data,
converted to the model's input tensor exactly as it expects them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .errors import McugenError
from .ir import Tensor
from .preprocess import PixelFormat, PreprocessOptions, PreprocessParams, frame_to_tensor, image_to_rgb888
from .validate import load_vectors, random_inputs

if TYPE_CHECKING:
    from .box_labels import TruthBox
    from .detection import DetectionHead

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".ppm", ".pgm"}


@dataclass
class InputSet:
    arrays: list[np.ndarray]  # one per model input
    label: int | None = None  # class index, for labeled images
    source: str = ""
    path: Path | None = None  # the image file (--data)
    truth: list[TruthBox] | None = None  # a detector's labelled boxes, in the model input's frame


@dataclass
class BoxInputs:
    """What a detector's --data brings beside its tensors."""

    head: DetectionHead
    class_names: list[str]
    labels_source: str | None  # where the ground-truth boxes came from; None: the folder has none


@dataclass
class Inputs:
    sets: list[InputSet]
    class_names: list[str] | None = None
    notes: list[str] | None = None
    preprocessing: PreprocessParams | None = None  # how images became tensors (--data only)
    detection: BoxInputs | None = None  # a detector's images (--data with a detection head)


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
                      "class scores", "for a detector, bench the project generated with --detect KIND (--emulate "
                      "DIR, or --project DIR with --port), else --vectors FILE.npy or --random N")


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
                 options: PreprocessOptions | None = None, head: DetectionHead | None = None,
                 boxes_json: Path | None = None) -> Inputs:
    """pixel_range: a PIXEL_RANGES name, or "auto" for the range the input's dtype,
    scale and zero point represent (mcugen.preprocess.default_pixel_range); options:
    channel order, grayscale, resize mode, mean and std (default: none of them).
    head: the project's detection head, for a detector's folder of images (box_inputs)."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise McugenError(f"data folder not found: {data_dir}",
                          "give a folder with one subfolder of images per class" if head is None
                          else "give a folder of images (with YOLO labels or --boxes F.json)")
    if len(tensors) != 1:
        raise McugenError(f"--data feeds one image per inference, but the model has {len(tensors)} inputs",
                          "bench it with --vectors (one .npy per input) or --random N")
    if head is not None:
        return box_inputs(data_dir, tensors[0], head, pixel_range, options, boxes_json)
    if boxes_json is not None:
        raise McugenError("--boxes gives a detector's ground-truth boxes, but this project has no detection head",
                          "generate the project with --detect KIND, or leave --boxes out")
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


def _box_class_names(data_dir: Path, image_root: Path, head: DetectionHead) -> list[str] | None:
    """The detector's class names from labels.txt (background excluded), when there is one."""
    for candidate in dict.fromkeys((data_dir / "labels.txt", image_root.parent / "labels.txt",
                                    data_dir.parent / "labels.txt")):
        if candidate.is_file():
            names = [line.strip() for line in candidate.read_text().splitlines() if line.strip()]
            if len(names) != head.num_classes:
                raise McugenError(f"{candidate} names {len(names)} classes but the detector has {head.num_classes}",
                                  f"list its {head.num_classes} classes in class index order, one per line "
                                  "(background is not a class)")
            return names
    return None


def box_inputs(data_dir: Path, tensor: Tensor, head: DetectionHead, pixel_range: str = "auto",
               options: PreprocessOptions | None = None, boxes_json: Path | None = None) -> Inputs:
    """A detector's images: every image under data_dir (or its images/ folder), sorted,
    with its ground-truth boxes (mcugen.box_labels: YOLO text files, or the COCO file
    boxes_json) mapped into the model input's frame through the same crop the image
    takes. Without labels the sets have no truth and mAP is not measured."""
    from .box_labels import check_classes, coco_labels, to_input_frame, yolo_labels

    image_root = data_dir / "images" if (data_dir / "images").is_dir() else data_dir
    images = sorted(p for p in image_root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not images:
        raise McugenError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) under {image_root}")
    params = PreprocessParams.for_tensor(tensor, None if pixel_range == "auto" else pixel_range, options)
    names = _box_class_names(data_dir, image_root, head)
    if boxes_json is not None:
        labels, coco_names = coco_labels(Path(boxes_json), images, image_root, names)
        source: str | None = f"COCO file {boxes_json}"
        names = names or coco_names
        if len(names) > head.num_classes:
            raise McugenError(f"{boxes_json} has {len(names)} categories but the detector has {head.num_classes} "
                              "classes", "give a labels.txt naming the detector's classes in index order, so the "
                                     "categories map by name")
    else:
        found = yolo_labels(images)
        labels, source = (found, "YOLO text files") if found is not None else ({}, None)
    if source is not None:
        check_classes(labels, head.num_classes, source)
    names = names or [f"class {i}" for i in range(head.num_classes)]
    sets = []
    for image in images:
        truth = None
        if source is not None:
            entry = labels[image]
            truth = to_input_frame(entry.boxes, entry.width, entry.height, params.width, params.height,
                                   params.resize)
        sets.append(InputSet([quantize_image(image, params)], None, image.relative_to(image_root).as_posix(),
                             image, truth))
    how = params.describe() if pixel_range == "auto" else f"{params.describe()} (--pixel-range {pixel_range})"
    notes = [f"images {how}"]
    if source is None:
        notes.append(f"no box labels under {data_dir} (YOLO IMAGE.txt beside each image or under labels/, or "
                     "--boxes F.json): the boxes are reported, mAP is not")
    return Inputs(sets, None, notes, params, BoxInputs(head, names, source))


def vector_inputs(paths: list[Path], tensors: list[Tensor]) -> Inputs:
    sets, notes = load_vectors(paths, tensors)
    return Inputs([InputSet(one, None, "vector") for one in sets], None, notes)


def generated_inputs(count: int, tensors: list[Tensor], seed: int = 0) -> Inputs:
    return Inputs([InputSet(one, None, "random") for one in random_inputs(tensors, count, seed)])
