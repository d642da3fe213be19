"""Detection quality: per-class average precision at IoU 0.5, mAP@0.5, and precision,
recall and TP/FP/FN at the head's score threshold.

Matching (the same for both, as COCO and Pascal VOC do it): per image and class, the
predictions are taken best score first (ties in the order the head returned them) and
each is matched to the unmatched ground-truth box of its class with the highest IoU,
when that IoU is at least the threshold (0.5); each ground truth is matched once. A
matched prediction is a true positive, an unmatched one a false positive, an
unmatched ground truth a false negative.

Average precision: over all images, a class's predictions are ranked by score, the
precision/recall curve is made monotone (each precision replaced by the highest at
that recall or beyond) and sampled at the 101 recall points 0, 0.01, ..., 1 (COCO's
101-point interpolation; a point past the highest recall reached counts 0). mAP@0.5
is the mean over the classes that have at least one ground-truth box; a class with
none has no AP (COCO's -1) and is left out of the mean.

The predictions are what the detection head returns, i.e. only boxes whose score
reaches its score threshold: the curve ends there, so AP counts nothing below it
(a lower `generate --score-threshold` gives a fuller curve).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

if TYPE_CHECKING:
    from .box_labels import TruthBox
    from .detection import Box

IOU_THRESHOLD = 0.5
RECALL_POINTS = np.linspace(0.0, 1.0, 101)
INTERPOLATION = "COCO 101-point (monotone precision envelope sampled at recall 0, 0.01, ..., 1)"


def iou(a: Any, b: Any) -> float:
    """Intersection over union of two boxes given as top-left corner and size."""
    ix = max(0.0, min(a.x + a.w, b.x + b.w) - max(a.x, b.x))
    iy = max(0.0, min(a.y + a.h, b.y + b.h) - max(a.y, b.y))
    inter = ix * iy
    union = a.w * a.h + b.w * b.h - inter
    return inter / union if union > 0 else 0.0


@dataclass
class ClassMetrics:
    class_id: int
    name: str
    ground_truths: int
    predictions: int
    ap: float | None  # None: no ground-truth box of this class
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    def to_json(self) -> dict[str, Any]:
        return {"class_id": self.class_id, "name": self.name, "ap50": self.ap, "ground_truths": self.ground_truths,
                "predictions": self.predictions, "tp": self.tp, "fp": self.fp, "fn": self.fn,
                "precision": self.precision, "recall": self.recall}


@dataclass
class DetectionMetrics:
    images: int
    score_threshold: float
    classes: list[ClassMetrics] = field(default_factory=list)
    iou_threshold: float = IOU_THRESHOLD

    @property
    def map50(self) -> float | None:
        aps = [c.ap for c in self.classes if c.ap is not None]
        return float(np.mean(aps)) if aps else None

    @property
    def tp(self) -> int:
        return sum(c.tp for c in self.classes)

    @property
    def fp(self) -> int:
        return sum(c.fp for c in self.classes)

    @property
    def fn(self) -> int:
        return sum(c.fn for c in self.classes)

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    def to_json(self) -> dict[str, Any]:
        return {"images": self.images, "map50": self.map50, "iou_threshold": self.iou_threshold,
                "score_threshold": self.score_threshold, "interpolation": INTERPOLATION,
                "precision": self.precision, "recall": self.recall, "tp": self.tp, "fp": self.fp, "fn": self.fn,
                "classes": [c.to_json() for c in self.classes]}


def match_image(predictions: Sequence["Box"], truths: Sequence["TruthBox"], class_id: int,
                iou_threshold: float = IOU_THRESHOLD) -> list[tuple[float, bool]]:
    """(score, is a true positive) for each prediction of class_id in one image, best score
    first, by the greedy matching of the module docstring."""
    mine = sorted((p for p in predictions if p.class_id == class_id), key=lambda p: -p.score)  # stable: ties keep order
    gts = [t for t in truths if t.class_id == class_id]
    taken = [False] * len(gts)
    out = []
    for p in mine:
        best, best_iou = -1, iou_threshold
        for j, t in enumerate(gts):
            overlap = iou(p, t)
            if not taken[j] and overlap >= best_iou:
                if best < 0 or overlap > best_iou:
                    best, best_iou = j, overlap
        if best >= 0:
            taken[best] = True
        out.append((float(p.score), best >= 0))
    return out


def average_precision(ranked: list[tuple[float, bool]], ground_truths: int) -> float | None:
    """AP by COCO's 101-point interpolation of (score, true positive) pairs of one class
    over every image; None with no ground truth to recall."""
    if ground_truths == 0:
        return None
    if not ranked:
        return 0.0
    order = sorted(range(len(ranked)), key=lambda i: -ranked[i][0])  # stable across images too
    hits = np.array([ranked[i][1] for i in order], dtype=np.float64)
    tp = np.cumsum(hits)
    fp = np.cumsum(1.0 - hits)
    recall = tp / ground_truths
    precision = tp / (tp + fp)
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    # For each recall point, the first rank that reaches it; past the last recall: precision 0.
    at = np.searchsorted(recall, RECALL_POINTS, side="left")
    sampled = np.where(at < len(envelope), envelope[np.minimum(at, len(envelope) - 1)], 0.0)
    return float(np.mean(sampled))


def evaluate(predictions: Sequence[Sequence["Box"]], truths: Sequence[Sequence["TruthBox"]], num_classes: int,
             score_threshold: float, class_names: Sequence[str] | None = None,
             iou_threshold: float = IOU_THRESHOLD) -> DetectionMetrics:
    """predictions[i] and truths[i]: image i's predicted and labelled boxes, both in the
    model input's frame. Precision, recall and the counts take the predictions whose
    score reaches score_threshold; AP takes them all."""
    if len(predictions) != len(truths):
        raise ValueError(f"{len(predictions)} images of predictions but {len(truths)} of ground truth")
    metrics = DetectionMetrics(len(truths), float(score_threshold), iou_threshold=iou_threshold)
    for c in range(num_classes):
        ranked: list[tuple[float, bool]] = []
        counted = [0, 0, 0]  # tp, fp, fn at the threshold
        n_gt = n_pred = 0
        for preds, gts in zip(predictions, truths):
            n_gt += sum(1 for t in gts if t.class_id == c)
            n_pred += sum(1 for p in preds if p.class_id == c)
            ranked += match_image(preds, gts, c, iou_threshold)
            kept = [p for p in preds if p.score >= score_threshold]
            at_threshold = match_image(kept, gts, c, iou_threshold)
            hits = sum(1 for _, hit in at_threshold if hit)
            counted[0] += hits
            counted[1] += len(at_threshold) - hits
            counted[2] += sum(1 for t in gts if t.class_id == c) - hits
        name = class_names[c] if class_names and c < len(class_names) else f"class {c}"
        metrics.classes.append(ClassMetrics(c, name, n_gt, n_pred, average_precision(ranked, n_gt), *counted))
    return metrics
