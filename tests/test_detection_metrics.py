"""mAP@0.5, per-class AP, precision and recall (mcugen.detection_metrics): hand-worked
cases, the matching rules one by one, and pycocotools' COCOeval on random boxes (when
pycocotools is installed)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from mcugen.box_labels import TruthBox
from mcugen.detection_metrics import average_precision, evaluate, iou, match_image


@dataclass(frozen=True)
class Pred:  # the fields of mcugen.detection.Box, which the metrics read
    class_id: int
    score: float
    x: float
    y: float
    w: float
    h: float


def test_iou_of_hand_worked_boxes():
    a = TruthBox(0, 0.0, 0.0, 0.5, 0.5)
    assert iou(a, Pred(0, 1, 0.0, 0.0, 0.5, 0.5)) == pytest.approx(1.0)
    assert iou(a, Pred(0, 1, 0.25, 0.0, 0.5, 0.5)) == pytest.approx(0.125 / 0.375)  # half overlap: 1/3
    assert iou(a, Pred(0, 1, 0.5, 0.5, 0.5, 0.5)) == 0.0  # touching corners


def test_a_hand_worked_image_ap_precision_and_recall():
    """Two objects; the ranked predictions are hit, miss, hit: precision 1, 1/2, 2/3 at
    recall 1/2, 1/2, 1. The envelope is 1 up to recall 0.5 (51 of the 101 points) and 2/3
    above (50 points): AP = (51 + 50 * 2/3) / 101."""
    truths = [[TruthBox(0, 0.0, 0.0, 0.5, 0.5), TruthBox(0, 0.5, 0.5, 0.5, 0.5)]]
    preds = [[Pred(0, 0.9, 0.0, 0.0, 0.5, 0.5), Pred(0, 0.8, 0.6, 0.0, 0.3, 0.3), Pred(0, 0.7, 0.5, 0.5, 0.5, 0.5)]]
    m = evaluate(preds, truths, num_classes=1, score_threshold=0.75)
    assert m.classes[0].ap == pytest.approx((51 + 50 * 2 / 3) / 101)
    assert m.map50 == pytest.approx(m.classes[0].ap)
    # At 0.75 only the first two count: one hit, one miss, one object not found.
    assert (m.tp, m.fp, m.fn) == (1, 1, 1) and m.precision == 0.5 and m.recall == 0.5
    m = evaluate(preds, truths, num_classes=1, score_threshold=0.5)
    assert (m.tp, m.fp, m.fn) == (2, 1, 0) and m.recall == 1.0 and m.precision == pytest.approx(2 / 3)


def test_each_ground_truth_is_matched_once_and_by_score():
    gt = [TruthBox(0, 0.0, 0.0, 0.5, 0.5)]
    # The lower-scored, better-placed box comes second: the first takes the object, it is a duplicate.
    preds = [Pred(0, 0.6, 0.0, 0.0, 0.5, 0.5), Pred(0, 0.9, 0.05, 0.0, 0.5, 0.5)]
    assert match_image(preds, gt, 0) == [(0.9, True), (0.6, False)]
    # IoU exactly 0.5 matches, just under does not.
    half = TruthBox(0, 0.0, 0.0, 1.0, 0.5)
    assert match_image([Pred(0, 0.5, 0.0, 0.0, 1.0, 0.25)], [half], 0) == [(0.5, True)]
    assert match_image([Pred(0, 0.5, 0.0, 0.0, 1.0, 0.249)], [half], 0) == [(0.5, False)]
    # A box of another class never matches.
    assert match_image([Pred(1, 0.9, 0.0, 0.0, 0.5, 0.5)], gt, 0) == []
    # Among two objects it overlaps, a prediction takes the one it overlaps most.
    two = [TruthBox(0, 0.0, 0.0, 0.5, 0.5), TruthBox(0, 0.1, 0.0, 0.5, 0.5)]
    assert match_image([Pred(0, 0.9, 0.1, 0.0, 0.5, 0.5), Pred(0, 0.8, 0.0, 0.0, 0.5, 0.5)], two, 0) == \
        [(0.9, True), (0.8, True)]


def test_classes_without_objects_are_left_out_of_the_mean_and_misses_count_zero():
    truths = [[TruthBox(0, 0.0, 0.0, 0.5, 0.5)], [TruthBox(1, 0.2, 0.2, 0.3, 0.3)]]
    preds = [[Pred(0, 0.9, 0.0, 0.0, 0.5, 0.5), Pred(2, 0.9, 0.5, 0.5, 0.2, 0.2)], []]
    m = evaluate(preds, truths, num_classes=3, score_threshold=0.5, class_names=["a", "b", "c"])
    aps = {c.name: c.ap for c in m.classes}
    assert aps == {"a": 1.0, "b": 0.0, "c": None}  # c has only a false positive and no object
    assert m.map50 == 0.5 and (m.tp, m.fp, m.fn) == (1, 1, 1)
    assert m.to_json()["classes"][2]["ap50"] is None
    assert evaluate([[]], [[]], 1, 0.5).map50 is None  # nothing to find: no mAP
    assert average_precision([], 3) == 0.0


def _random_case(rng, images=12, classes=3):
    truths, preds = [], []
    for _ in range(images):
        gts = []
        for _ in range(int(rng.integers(0, 4))):
            x, y = rng.uniform(0, 0.6, 2)
            gts.append(TruthBox(int(rng.integers(classes)), x, y, *rng.uniform(0.1, 0.4, 2)))
        ps = []
        for t in gts:  # near misses and hits around the objects ...
            if rng.random() < 0.8:
                jx, jy = rng.normal(0, 0.05, 2)
                ps.append(Pred(t.class_id, float(rng.uniform(0.05, 1)), max(0.0, t.x + jx), max(0.0, t.y + jy),
                               t.w, t.h))
        for _ in range(int(rng.integers(0, 3))):  # ... and boxes where nothing is
            x, y = rng.uniform(0, 0.6, 2)
            ps.append(Pred(int(rng.integers(classes)), float(rng.uniform(0.05, 1)), x, y, *rng.uniform(0.1, 0.4, 2)))
        truths.append(gts)
        preds.append(ps)
    return truths, preds


def test_ap_agrees_with_pycocotools_cocoeval():
    pytest.importorskip("pycocotools", reason="pycocotools is not installed (pip install pycocotools)")
    import contextlib
    import io

    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    size = 100.0  # COCO works in pixels; IoU does not depend on the scale
    for seed in range(3):
        rng = np.random.default_rng(seed)
        truths, preds = _random_case(rng)
        classes = 3
        gt = {"images": [{"id": i + 1, "width": 100, "height": 100} for i in range(len(truths))],
              "categories": [{"id": c + 1, "name": f"c{c}"} for c in range(classes)], "annotations": []}
        for i, gts in enumerate(truths):
            for t in gts:
                gt["annotations"].append({"id": len(gt["annotations"]) + 1, "image_id": i + 1,
                                          "category_id": t.class_id + 1, "iscrowd": 0, "area": t.w * t.h * size ** 2,
                                          "bbox": [t.x * size, t.y * size, t.w * size, t.h * size]})
        dets = [{"image_id": i + 1, "category_id": p.class_id + 1, "score": p.score,
                 "bbox": [p.x * size, p.y * size, p.w * size, p.h * size]} for i, ps in enumerate(preds) for p in ps]
        with contextlib.redirect_stdout(io.StringIO()):
            coco = COCO()
            coco.dataset = gt
            coco.createIndex()
            ev = COCOeval(coco, coco.loadRes(dets), "bbox")
            ev.params.iouThrs = np.array([0.5])
            ev.params.areaRng, ev.params.areaRngLbl, ev.params.maxDets = [[0, 1e10]], ["all"], [100]
            ev.evaluate()
            ev.accumulate()
        theirs = ev.eval["precision"][0, :, :, 0, 0]  # [recall points, classes]
        mine = evaluate(preds, truths, classes, score_threshold=0.5)
        for c in range(classes):
            want = None if (theirs[:, c] < 0).all() else float(np.mean(theirs[:, c]))
            got = mine.classes[c].ap
            assert (got is None) == (want is None), (seed, c)
            if want is not None:
                assert got == pytest.approx(want, abs=1e-12), (seed, c)
