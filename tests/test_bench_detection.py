"""`bench --data` on a detector: ground-truth boxes (mcugen.box_labels: YOLO text files,
COCO JSON), the refusals, and one real run: the synthetic FOMO model (tests/fomo_synthetic.py)
generated with --detect fomo for qemu-cm7, built, benched in QEMU on its labelled folder; its
mAP@0.5 equals the one tflite-micro's outputs give on the host."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from conftest import assert_clean_refusal, run_cli
from mcugen.box_labels import (BoxLabelError, TruthBox, check_classes, coco_labels, parse_yolo_text, to_input_frame,
                               yolo_label_path, yolo_labels)

import fomo_synthetic


def _png(path: Path, width: int, height: int) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (width, height), (40, 40, 40)).save(path)
    return path


# ---- box labels ------------------------------------------------------------------------------

def test_yolo_lines_become_top_left_boxes_and_every_bad_line_names_its_file_and_line(tmp_path):
    f = tmp_path / "a.txt"
    boxes = parse_yolo_text("0 0.5 0.5 0.2 0.4\n\n2 0.1 0.1 0.4 0.4\n", f)
    assert boxes[0] == TruthBox(0, pytest.approx(0.4), pytest.approx(0.3), pytest.approx(0.2), pytest.approx(0.4))
    assert boxes[1] == TruthBox(2, 0.0, 0.0, pytest.approx(0.3), pytest.approx(0.3))  # clipped to the image
    for text, words in (("0 0.5 0.5 0.2\n", "line 1: 4 fields, not 5"),
                        ("0 0.5 0.5 0.2 0.2\nx 0.5 0.5 0.2 0.2\n", "line 2: class 'x' is not an integer"),
                        ("0 0.5 0.5 12 0.2\n", "w 12 is outside 0..1"),
                        ("0 0.5 0.5 0.2 zz\n", "h 'zz' is not a number"),
                        ("0 0.5 0.5 0 0.2\n", "no area"),
                        ("-1 0.5 0.5 0.2 0.2\n", "negative"),
                        ("0 0.1 0.1 0.2 0.1 0.2 0.2\n", "polygon")):
        with pytest.raises(BoxLabelError, match=re.escape(words)) as err:
            parse_yolo_text(text, f)
        assert str(f) in err.value.one_line() and "\n" not in err.value.one_line()


def test_ultralytics_layout_and_labels_beside_the_images(tmp_path):
    image = _png(tmp_path / "set" / "images" / "val" / "a.png", 8, 8)
    assert yolo_label_path(image) == tmp_path / "set" / "labels" / "val" / "a.txt"
    beside = _png(tmp_path / "flat" / "b.png", 8, 8)
    assert yolo_label_path(beside) == tmp_path / "flat" / "b.txt"
    assert yolo_labels([beside]) is None  # no label file at all: the folder has no labels
    (tmp_path / "set" / "labels" / "val").mkdir(parents=True)
    (tmp_path / "set" / "labels" / "val" / "a.txt").write_text("0 0.5 0.5 0.5 0.5\n")
    other = _png(tmp_path / "set" / "images" / "val" / "c.png", 8, 8)
    with pytest.raises(BoxLabelError, match="1 of 2 images have no YOLO label file; the first is .*c.png") as err:
        yolo_labels([image, other])
    assert "empty file" in err.value.one_line()
    (tmp_path / "set" / "labels" / "val" / "c.txt").write_text("")  # an image with no objects
    labels = yolo_labels([image, other])
    assert len(labels[image].boxes) == 1 and labels[other].boxes == () and labels[image].width == 8
    with pytest.raises(BoxLabelError, match=r"a.png has a box of class 0, but the detector has 0 classes"):
        check_classes(labels, 0, "YOLO")


def test_coco_boxes_in_pixels_and_categories_in_id_order_or_by_name(tmp_path):
    root = tmp_path / "imgs"
    a, b = _png(root / "a.png", 100, 50), _png(root / "sub" / "b.png", 40, 40)
    coco = {"images": [{"id": 7, "file_name": "a.png", "width": 100, "height": 50},
                       {"id": 9, "file_name": "sub/b.png", "width": 40, "height": 40}],
            "categories": [{"id": 3, "name": "cat"}, {"id": 1, "name": "dog"}],
            "annotations": [{"image_id": 7, "category_id": 3, "bbox": [10, 5, 20, 10]},
                            {"image_id": 9, "category_id": 1, "bbox": [0, 0, 40, 40]},
                            {"image_id": 9, "category_id": 1, "bbox": [0, 0, 4, 4], "iscrowd": 1}]}
    path = tmp_path / "boxes.json"
    path.write_text(json.dumps(coco))
    labels, names = coco_labels(path, [a, b], root)
    assert names == ["dog", "cat"]  # sorted ids 1, 3 -> classes 0, 1
    assert labels[a].boxes == (TruthBox(1, 0.1, 0.1, 0.2, 0.2),)
    assert labels[b].boxes == (TruthBox(0, 0.0, 0.0, 1.0, 1.0),)  # the crowd region is no object
    labels, names = coco_labels(path, [a, b], root, ["cat", "dog"])
    assert names == ["cat", "dog"] and labels[a].boxes[0].class_id == 0
    for change, words in ((lambda d: (d["images"].pop(1), d.update(annotations=d["annotations"][:1])),
                           "no entry for image sub/b.png"),
                          (lambda d: d["images"][0].update(width=64),
                           "says a.png is 64 x 50 pixels, but it is 100 x 50"),
                          (lambda d: d["annotations"][0].update(bbox=[90, 5, 20, 10]), "annotations[0] bbox"),
                          (lambda d: d["annotations"][0].update(bbox=[1, 2, 3]), "not four numbers"),
                          (lambda d: d["annotations"][1].update(category_id=5), "category_id 5"),
                          (lambda d: d.pop("categories"), "not a COCO detection file")):
        bad = json.loads(json.dumps(coco))
        change(bad)
        path.write_text(json.dumps(bad))
        with pytest.raises(BoxLabelError, match=re.escape(words)):
            coco_labels(path, [a, b], root)
    path.write_text(json.dumps(coco))
    with pytest.raises(BoxLabelError, match="categories cat, dog not in the label list"):
        coco_labels(path, [a, b], root, ["bird"])


def test_boxes_follow_the_centre_crop_into_the_input_frame():
    # A 96 x 48 image into a 48 x 48 input: the crop keeps pixels 24..71 across.
    boxes = [TruthBox(0, 0.25, 0.0, 0.25, 0.5),   # pixels 24..48 -> the crop's left half
             TruthBox(1, 0.0, 0.0, 0.2, 1.0),     # pixels 0..19: outside the crop, dropped
             TruthBox(2, 0.7, 0.5, 0.3, 0.5)]     # pixels 67..96: cut at the crop's right edge
    got = to_input_frame(boxes, 96, 48, 48, 48, "crop")
    assert [b.class_id for b in got] == [0, 2]
    assert (got[0].x, got[0].y, got[0].w, got[0].h) == pytest.approx((0.0, 0.0, 0.5, 0.5))
    assert (got[1].x, got[1].w) == pytest.approx(((67.2 - 24) / 48, 1 - (67.2 - 24) / 48))
    stretched = to_input_frame(boxes, 96, 48, 48, 48, "stretch")  # the whole image: fractions unchanged
    assert [(b.class_id, b.x, b.y, b.w, b.h) for b in stretched] == \
        [(b.class_id, pytest.approx(b.x), pytest.approx(b.y), pytest.approx(b.w), pytest.approx(b.h)) for b in boxes]


# ---- the real run ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def fomo(tmp_path_factory):
    return fomo_synthetic.session_files(tmp_path_factory)


@pytest.fixture(scope="module")
def fomo_project(fomo, tmp_path_factory):
    model, _ = fomo
    project = tmp_path_factory.mktemp("bench_detect") / "fw"
    r = run_cli("generate", model, "--board", "qemu-cm7", "--detect", "fomo", "-o", project)
    assert r.returncode == 0, r.stderr
    assert json.loads((project / "mcugen.json").read_text())["detection"]["kind"] == "fomo"
    return project


def _host_map(model: Path, data: Path):
    """mAP@0.5 from tflite-micro's outputs on the host, labels read here on their own (the
    images are the input's size, so no crop), through mcugen.detection.decode."""
    from tflite_micro.python.tflite_micro import runtime

    from mcugen.bench_inputs import quantize_image
    from mcugen.detection import DetectionHead, decode
    from mcugen.detection_metrics import evaluate
    from mcugen.loader import load_model
    from mcugen.preprocess import PreprocessParams

    graph = load_model(model)
    params = PreprocessParams.for_tensor(graph.input_tensors()[0], None, None)
    interpreter = runtime.Interpreter.from_file(str(model))
    meta_head = None
    preds, truths = [], []
    for image in sorted((data / "images").glob("*.png")):
        interpreter.set_input(quantize_image(image, params), 0)
        interpreter.invoke()
        out = interpreter.get_output(0)
        meta_head = meta_head or DetectionHead("fomo", 1, 0.5, 0.5, 10, (0,), tuple(out.shape[1:3]),
                                               scale=graph.output_tensors()[0].quant.scale[0],
                                               zero_point=graph.output_tensors()[0].quant.zero_point[0])
        preds.append(decode(meta_head, [out]))
        rows = [line.split() for line in (data / "labels" / f"{image.stem}.txt").read_text().splitlines()]
        truths.append([TruthBox(int(c), float(cx) - float(w) / 2, float(cy) - float(h) / 2, float(w), float(h))
                       for c, cx, cy, w, h in rows])
    return evaluate(preds, truths, 1, 0.5), truths


def test_bench_a_detector_on_the_emulated_board_gives_the_hosts_map(fomo, fomo_project, tmp_path):
    model, data = fomo
    report_dir = tmp_path / "report"
    r = run_cli("bench", "--model", model, "--emulate", fomo_project, "--data", data, "--report", report_dir,
                timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    report = json.loads((report_dir / "report.json").read_text())
    assert report["inputs"] == 16 and report["bit_exact"] == 16  # the raw outputs, as for every model
    metrics = report["detection"]["metrics"]
    host, truths = _host_map(model, data)
    assert metrics["map50"] == pytest.approx(host.map50, abs=1e-12)
    assert (metrics["tp"], metrics["fp"], metrics["fn"]) == (host.tp, host.fp, host.fn)
    printed = re.search(r"mAP@0\.5 (\d\.\d{3})", r.stdout)
    assert printed and float(printed.group(1)) == pytest.approx(host.map50, abs=5e-4), r.stdout
    # Well above chance: a detector that lights as many cells as there are objects, at random,
    # scores near 0 (a random cell is an object's whole box at most 1 time in 36 per object);
    # the trained one finds the bright objects, missing only some of the dimmest (mAP ~0.8).
    rng = np.random.default_rng(0)
    from mcugen.detection_metrics import evaluate

    class Guess:  # a random one-cell box with the fields of detection.Box
        def __init__(self):
            self.class_id, self.score = 0, float(rng.random())
            self.x, self.y = rng.integers(0, 6, 2) / 6
            self.w = self.h = 1 / 6

    chance = evaluate([[Guess() for _ in t] for t in truths], truths, 1, 0.5).map50
    assert chance < 0.2 and host.map50 >= 0.6, (chance, host.map50)
    # report.md: mAP, the class table, and the drawn boxes linked and written.
    md = (report_dir / "report.md").read_text()
    assert "| mAP@0.5 |" in md and "| square |" in md and "101-point" in md
    drawn = re.findall(r"!\[(boxes_[^\]]+\.png)\]", md)
    assert 1 <= len(drawn) <= 6 and all((report_dir / name).is_file() for name in drawn)
    # The same device boxes without labels: boxes reported, mAP not, and said so.
    from mcugen.bench import BenchReport, DetectionBench, Latency
    from mcugen.bench_report import detection_console_lines, markdown
    from mcugen.detection import Box, DetectionHead

    images = report["detection"]["images"]
    unlabelled = DetectionBench(DetectionHead.from_json(report["detection"]["head"]), ["square"], None, (48, 48),
                                "crop", [i["source"] for i in images], [None] * len(images),
                                [[Box(**b) for b in i["boxes"]] for i in images])
    bench = BenchReport("m", "0", "qemu-cm7", "b", 0, Latency([1], 1, "instructions"), detection=unlabelled)
    assert unlabelled.to_json()["metrics"] is None and "mAP is not" in unlabelled.to_json()["metrics_unknown"]
    assert "mAP is not" in markdown(bench, []) and "not measured" in detection_console_lines(bench)[1]


def test_bench_refuses_labels_that_do_not_fit_the_images_or_the_detector(fomo, fomo_project, tmp_path):
    model, data = fomo
    bad = tmp_path / "bad"
    shutil.copytree(data, bad)
    (bad / "labels" / "img003.txt").write_text("1 0.5 0.5 0.2 0.2\n")  # the detector has one class
    r = run_cli("bench", "--model", model, "--emulate", fomo_project, "--data", bad)
    assert_clean_refusal(r, "img003.png has a box of class 1", "1 class")
    (bad / "labels" / "img003.txt").unlink()
    r = run_cli("bench", "--model", model, "--emulate", fomo_project, "--data", bad)
    assert_clean_refusal(r, "no YOLO label file", "img003.png", "empty file")


def test_unlabelled_images_are_benched_without_truth(fomo, tmp_path):
    from mcugen.bench_inputs import image_inputs
    from mcugen.detection import DetectRequest, detection_head
    from mcugen.loader import load_model

    model, data = fomo
    graph = load_model(model)
    head = detection_head(graph, DetectRequest("fomo"))
    folder = tmp_path / "plain"
    shutil.copytree(data / "images", folder)
    inputs = image_inputs(folder, graph.input_tensors(), graph.output_tensors(), head=head)
    assert inputs.detection.labels_source is None and all(s.truth is None for s in inputs.sets)
    assert any("mAP is not" in note for note in inputs.notes)
    assert inputs.detection.class_names == ["class 0"]
    labelled = image_inputs(data, graph.input_tensors(), graph.output_tensors(), head=head)
    assert labelled.detection.class_names == ["square"] and labelled.detection.labels_source == "YOLO text files"
    assert sum(len(s.truth) for s in labelled.sets) > 0
    # The same boxes as a COCO file (pixels, a category id of 5) give the same ground truth.
    coco = {"images": [], "annotations": [], "categories": [{"id": 5, "name": "square"}]}
    for k, one in enumerate(labelled.sets):
        coco["images"].append({"id": k, "file_name": one.source, "width": 48, "height": 48})
        coco["annotations"] += [{"image_id": k, "category_id": 5, "bbox": [t.x * 48, t.y * 48, t.w * 48, t.h * 48]}
                                for t in one.truth]
    (tmp_path / "boxes.json").write_text(json.dumps(coco))
    from_coco = image_inputs(data, graph.input_tensors(), graph.output_tensors(), head=head,
                             boxes_json=tmp_path / "boxes.json")
    assert from_coco.detection.labels_source.startswith("COCO file")
    assert [[(t.class_id, *np.round([t.x, t.y, t.w, t.h], 9)) for t in one.truth] for one in from_coco.sets] == \
        [[(t.class_id, *np.round([t.x, t.y, t.w, t.h], 9)) for t in one.truth] for one in labelled.sets]
    with pytest.raises(Exception, match="names 2 classes but the detector has 1"):
        (folder / "labels.txt").write_text("a\nb\n")
        image_inputs(folder, graph.input_tensors(), graph.output_tensors(), head=replace(head))
