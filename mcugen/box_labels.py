"""Ground-truth boxes for a folder of images, for `bench --data` on a detector.

Two layouts are read:

- YOLO text files (Ultralytics' layout): one `class cx cy w h` line per box, all four
  numbers fractions (0..1) of the image, the centre then the size; the file is
  `IMAGE.txt` beside the image, or the same relative path under a `labels/` folder
  beside an `images/` folder (`DIR/images/a/b.png` -> `DIR/labels/a/b.txt`). An empty
  file is an image with no objects.
- A COCO JSON file (`bench --boxes F.json`): `images` matched to the folder's files by
  `file_name` (the path relative to the image folder, or the bare name), `annotations`
  with `bbox` [x, y, w, h] in pixels, and `categories` mapped to class indices in sorted
  id order, or by name through a label list (labels.txt) when one is given.

Every box comes out as a TruthBox in the same frame as detection.Box: top-left corner
and size, fractions of the image. `to_input_frame` then maps them into the model
input's frame, through the same centre crop (or stretch) the images go through.

Nothing is guessed: a malformed line or field is one error naming the file and the line
(or the annotation), so the fix is obvious.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import McugenError


class BoxLabelError(McugenError):
    """Box labels that cannot be read or do not fit the images or the model."""


@dataclass(frozen=True)
class TruthBox:
    """One labelled object: top-left corner and size, fractions (0..1) of the image."""

    class_id: int
    x: float
    y: float
    w: float
    h: float

    def to_json(self) -> dict[str, Any]:
        return {"class_id": self.class_id, "x": round(self.x, 6), "y": round(self.y, 6),
                "w": round(self.w, 6), "h": round(self.h, 6)}


@dataclass(frozen=True)
class ImageBoxes:
    """One image's boxes, with the image's size in pixels (needed to follow the crop)."""

    boxes: tuple[TruthBox, ...]
    width: int
    height: int


YOLO_HINT = "each line is 'class cx cy w h': an integer class index, then the box centre and size as fractions 0..1"


def _parse_float(text: str, what: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise BoxLabelError(f"{where}: {what} '{text}' is not a number", YOLO_HINT) from None
    if not math.isfinite(value):
        raise BoxLabelError(f"{where}: {what} is {text}", YOLO_HINT)
    return value


def parse_yolo_text(text: str, path: Path) -> list[TruthBox]:
    """The boxes of one YOLO label file (its text), each line checked."""
    boxes = []
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue  # blank lines carry no box
        where = f"{path} line {number}"
        if len(fields) != 5:
            extra = " (a polygon: segmentation labels are not boxes)" if len(fields) > 5 and len(fields) % 2 == 1 \
                else ""
            raise BoxLabelError(f"{where}: {len(fields)} fields, not 5{extra}", YOLO_HINT)
        try:
            class_id = int(fields[0])
        except ValueError:
            raise BoxLabelError(f"{where}: class '{fields[0]}' is not an integer class index", YOLO_HINT) from None
        if class_id < 0:
            raise BoxLabelError(f"{where}: class {class_id} is negative", YOLO_HINT)
        cx, cy, w, h = (_parse_float(v, name, where) for v, name in zip(fields[1:], ("cx", "cy", "w", "h")))
        for value, name in ((cx, "cx"), (cy, "cy"), (w, "w"), (h, "h")):
            if not 0.0 <= value <= 1.0:
                raise BoxLabelError(f"{where}: {name} {value:g} is outside 0..1",
                                    "YOLO labels are fractions of the image's width and height, not pixels")
        if w <= 0.0 or h <= 0.0:
            raise BoxLabelError(f"{where}: the box has no area (w {w:g}, h {h:g})", YOLO_HINT)
        # A box may poke out by rounding; clip it to the image rather than refuse it.
        x0, y0 = max(0.0, cx - w / 2), max(0.0, cy - h / 2)
        x1, y1 = min(1.0, cx + w / 2), min(1.0, cy + h / 2)
        boxes.append(TruthBox(class_id, x0, y0, x1 - x0, y1 - y0))
    return boxes


def yolo_label_path(image: Path) -> Path:
    """Where Ultralytics keeps an image's labels: the same path under `labels/` in place of
    the last `images/` folder of its path, else IMAGE.txt beside the image."""
    beside = image.with_suffix(".txt")
    folders = list(image.parts[:-1])
    if "images" in folders:
        i = len(folders) - 1 - folders[::-1].index("images")
        labelled = Path(*image.parts[:i], "labels", *image.parts[i + 1:]).with_suffix(".txt")
        if labelled.is_file() or not beside.is_file():
            return labelled
    return beside


def image_size(path: Path) -> tuple[int, int]:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            return img.width, img.height
    except (UnidentifiedImageError, OSError) as exc:
        raise McugenError(f"cannot read image {path}: {exc}") from None


def yolo_labels(images: list[Path]) -> dict[Path, ImageBoxes] | None:
    """Each image's boxes from its YOLO text file; None when no image has one (the folder
    has no box labels). Some images labelled and others not is refused: an image with no
    objects needs an empty file, so a forgotten file is not read as 'nothing there'."""
    paths = {image: yolo_label_path(image) for image in images}
    found = [image for image, label in paths.items() if label.is_file()]
    if not found:
        return None
    missing = [image for image in images if not paths[image].is_file()]
    if missing:
        first = missing[0]
        raise BoxLabelError(f"{len(missing)} of {len(images)} images have no YOLO label file; the first is "
                            f"{first} (looked for {paths[first]})",
                            "add one per image (an empty file for an image with no objects), or remove the image")
    out = {}
    for image in images:
        try:
            text = paths[image].read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise BoxLabelError(f"cannot read label file {paths[image]}: {exc}") from None
        width, height = image_size(image)
        out[image] = ImageBoxes(tuple(parse_yolo_text(text, paths[image])), width, height)
    return out


def coco_labels(json_path: Path, images: list[Path], image_root: Path,
                class_names: list[str] | None = None) -> tuple[dict[Path, ImageBoxes], list[str]]:
    """Each image's boxes from a COCO JSON file, and the class names in class-index order.
    Categories become class indices in sorted id order, or by name through class_names."""
    json_path = Path(json_path)
    try:
        data = json.loads(json_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BoxLabelError(f"box label file not found: {json_path}", "give --boxes a COCO JSON file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BoxLabelError(f"{json_path} is not JSON: {exc}", "give --boxes a COCO JSON file") from None
    hint = "a COCO file has 'images' (id, file_name, width, height), 'annotations' (image_id, category_id, bbox) " \
           "and 'categories' (id, name)"
    if not isinstance(data, dict) or not all(isinstance(data.get(k), list) for k in ("images", "annotations",
                                                                                      "categories")):
        raise BoxLabelError(f"{json_path} is not a COCO detection file: it needs lists 'images', 'annotations' "
                            "and 'categories'", hint)

    def field(record: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
        value = record.get(key) if isinstance(record, dict) else None
        if not isinstance(value, kind) or isinstance(value, bool):
            raise BoxLabelError(f"{json_path}: {where} has no valid '{key}'", hint)
        return value

    categories: dict[int, str] = {}
    for i, cat in enumerate(data["categories"]):
        categories[field(cat, "id", int, f"categories[{i}]")] = str(cat.get("name", field(cat, "id", int, "")))
    if class_names is not None:
        unknown = sorted(name for name in categories.values() if name not in class_names)
        if unknown:
            raise BoxLabelError(f"{json_path}: categor{'y' if len(unknown) == 1 else 'ies'} {', '.join(unknown)} "
                                "not in the label list", "list every class in labels.txt in output index order")
        class_of = {cid: class_names.index(name) for cid, name in categories.items()}
        names = list(class_names)
    else:
        class_of = {cid: i for i, cid in enumerate(sorted(categories))}
        names = [categories[cid] for cid in sorted(categories)]

    records: dict[str, Any] = {}
    by_id: dict[int, Any] = {}
    for i, record in enumerate(data["images"]):
        where = f"images[{i}]"
        name = field(record, "file_name", str, where)
        image_id = field(record, "id", int, where)
        field(record, "width", int, where)
        field(record, "height", int, where)
        records[name] = record
        by_id[image_id] = record
    boxes_of: dict[int, list[TruthBox]] = {image_id: [] for image_id in by_id}
    for i, ann in enumerate(data["annotations"]):
        where = f"annotations[{i}]"
        image_id = field(ann, "image_id", int, where)
        if image_id not in by_id:
            raise BoxLabelError(f"{json_path}: {where} names image_id {image_id}, which 'images' does not list", hint)
        category = field(ann, "category_id", int, where)
        if category not in class_of:
            raise BoxLabelError(f"{json_path}: {where} names category_id {category}, which 'categories' does not "
                                "list", hint)
        bbox = field(ann, "bbox", list, where)
        if len(bbox) != 4 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                                     for v in bbox):
            raise BoxLabelError(f"{json_path}: {where} bbox {bbox} is not four numbers [x, y, w, h]", hint)
        if ann.get("iscrowd"):
            continue  # a crowd region is not one object to find (COCO's evaluation ignores them too)
        record = by_id[image_id]
        width, height = record["width"], record["height"]
        x, y, w, h = (float(v) for v in bbox)
        if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > width + 0.5 or y + h > height + 0.5:
            raise BoxLabelError(f"{json_path}: {where} bbox {bbox} does not lie inside its image "
                                f"({width} x {height} pixels)", "COCO boxes are [x, y, w, h] in pixels")
        x1, y1 = min(float(width), x + w), min(float(height), y + h)
        boxes_of[image_id].append(TruthBox(class_of[category], x / width, y / height, (x1 - x) / width,
                                           (y1 - y) / height))

    out = {}
    for image in images:
        relative = image.relative_to(image_root).as_posix()
        record = records.get(relative) or records.get(image.name)
        if record is None:
            raise BoxLabelError(f"{json_path} has no entry for image {relative}",
                                "add it to 'images' (with no annotations if it has no objects), or remove the image")
        width, height = image_size(image)
        if (width, height) != (record["width"], record["height"]):
            raise BoxLabelError(f"{json_path} says {relative} is {record['width']} x {record['height']} pixels, "
                                f"but it is {width} x {height}", "the labels are for another copy of the image")
        out[image] = ImageBoxes(tuple(boxes_of[record["id"]]), width, height)
    return out, names


def check_classes(labels: dict[Path, ImageBoxes], num_classes: int, source: str) -> None:
    """Every class index must be one of the detector's classes."""
    for image, entry in labels.items():
        for box in entry.boxes:
            if box.class_id >= num_classes:
                raise BoxLabelError(f"{source}: {image.name} has a box of class {box.class_id}, but the detector has "
                                    f"{num_classes} class{'es' if num_classes != 1 else ''} (0..{num_classes - 1})",
                                    "fix the labels' class indices (background is not a class)")


def to_input_frame(boxes: tuple[TruthBox, ...] | list[TruthBox], width: int, height: int, input_width: int,
                   input_height: int, resize: str) -> list[TruthBox]:
    """Boxes in an image's frame -> the model input's frame, through the window the
    pre-processing keeps (mcugen.preprocess.resize_window: centre crop or whole image).
    Parts outside the crop are cut; a box left with no area is dropped (the model
    cannot see it)."""
    from .preprocess import resize_window

    x0, y0, crop_w, crop_h = resize_window(width, height, input_width, input_height, resize)
    out = []
    for box in boxes:
        left = (box.x * width - x0) / crop_w
        top = (box.y * height - y0) / crop_h
        right = ((box.x + box.w) * width - x0) / crop_w
        bottom = ((box.y + box.h) * height - y0) / crop_h
        left, top, right, bottom = max(0.0, left), max(0.0, top), min(1.0, right), min(1.0, bottom)
        if right > left and bottom > top:
            out.append(TruthBox(box.class_id, left, top, right - left, bottom - top))
    return out
