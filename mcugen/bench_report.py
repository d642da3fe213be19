"""Write a benchmark report: report.json, report.md and PNG plots."""

from __future__ import annotations

import json
from pathlib import Path

from .bench import BenchReport, DetectionBench, MemorySummary
from .preprocess import PreprocessParams
from .project import report_folder


def _plots(report: BenchReport, out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")  # files only; no display needed
    import matplotlib.pyplot as plt

    written = []
    unit = report.latency.unit
    if report.latency.counts:
        from matplotlib.ticker import FuncFormatter, MaxNLocator

        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.hist(report.latency.counts, bins=min(30, max(5, len(set(report.latency.counts)))), color="#3b7dd8")
        # Whole counts on the x axis (no "+1.237e7" offset), whole inferences on the y axis.
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel(f"{unit} per inference")
        ax.set_ylabel("inferences")
        ax.set_title(f"{report.model} on {report.board}: latency")
        fig.tight_layout()
        fig.savefig(out / "latency.png", dpi=110)
        plt.close(fig)
        written.append("latency.png")
    if report.profile:
        from matplotlib.ticker import FuncFormatter

        fig, ax = plt.subplots(figsize=(7, max(2.5, 0.22 * len(report.profile) + 1)))
        labels = [f"{i}: {op}" for i, (op, _) in enumerate(report.profile)]
        ax.barh(range(len(labels)), [c for _, c in report.profile], color="#d8803b")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        ax.set_yticks(range(len(labels)), labels, fontsize=7)
        ax.invert_yaxis()
        ax.set_xlabel(f"{unit} (last inference)")
        ax.set_title(f"{report.model}: per-layer profile")
        fig.tight_layout()
        fig.savefig(out / "profile.png", dpi=110)
        plt.close(fig)
        written.append("profile.png")
    matrix = report.confusion()
    if matrix and report.class_names:
        n = len(report.class_names)
        fig, ax = plt.subplots(figsize=(1.2 * n + 2.5, 1.1 * n + 2))
        ax.imshow(matrix, cmap="Blues", vmin=0)
        darkest = max(max(row) for row in matrix) or 1
        ax.set_xticks(range(n), report.class_names, rotation=45, ha="right")
        ax.set_yticks(range(n), report.class_names)
        ax.set_xlabel("predicted on the board")
        ax.set_ylabel("true class")
        for i in range(n):
            for j in range(n):
                # white on the dark half of the colour map, black on the light half
                ax.text(j, i, str(matrix[i][j]), ha="center", va="center",
                        color="white" if matrix[i][j] > darkest / 2 else "black")
        ax.set_title(f"accuracy {report.accuracy:.1%}")
        fig.tight_layout()
        fig.savefig(out / "confusion.png", dpi=110)
        plt.close(fig)
        written.append("confusion.png")
    return written


def markdown(report: BenchReport, plots: list[str]) -> str:
    lat = report.latency.to_json()
    unit = lat["unit"]
    lines = [
        f"# {report.model} on {report.board}",
        "",
        *([f"**Partial report: {report.inputs} of {report.planned} inputs completed; the run stopped: "
           f"{report.incomplete_reason}.**", ""] if not report.complete else []),
        f"Firmware `{report.build_id}`, model SHA-256 `{report.model_sha256}`, arena {report.arena_bytes:,} B.",
        "",
        "| | value |",
        "|---|---|",
        f"| inputs | {report.inputs} |",
        f"| bit-exact with TFLite Micro | {report.bit_exact}/{report.inputs} |",
        f"| largest abs difference | {report.max_abs_diff:g} |",
        f"| latency min / median / p90 / max ({unit}) | {lat['min']:,.0f} / {lat['median']:,.0f} / "
        f"{lat['p90']:,.0f} / {lat['max']:,.0f} |",
        f"| latency median at {report.latency.clock_hz / 1e6:g} MHz | {lat['ms']['median']:.3f} ms |",
    ]
    if report.accuracy is not None:
        lines.append(f"| top-1 accuracy | {report.accuracy:.1%} ({sum(int(a == b) for a, b in zip(report.labels, report.predictions))}"
                     f"/{len(report.labels)}) |")
    lines.append("")
    lines += _detection_section(report.detection, [p for p in plots if p.startswith(BOXES_PREFIX)])
    lines += _memory_section(report.memory)
    lines += _preprocessing_section(report.preprocessing)
    lines += _layer_table(report)
    lines += _link_table(report.link)
    for note in report.notes:
        lines.append(f"- {note}")
    if report.mismatches:
        lines.append(f"- outputs differing from TFLite Micro: {', '.join(report.mismatches[:20])}")
    lines.append("")
    for plot in plots:
        if not plot.startswith(BOXES_PREFIX):  # those are in the detection section
            lines.append(f"![{plot}]({plot})")
    return "\n".join(lines) + "\n"


# The serial link's statistics, in the order people read them, with what each means.
LINK_ROWS = (
    ("requests", "requests sent (each a new seq)"),
    ("retries", "sends again after a failure (same request, or its bytes in smaller chunks)"),
    ("timeouts", "sends with no reply in time"),
    ("crc_errors", "replies that arrived damaged"),
    ("bad_crc_replies", "requests the board got damaged (ERROR BAD_CRC)"),
    ("late_bad_crc_replies", "of those, frames the idle fill completed (not held against a retry)"),
    ("idle_fills", "idle fills sent after a timeout"),
    ("stale_replies", "late or repeated replies skipped"),
    ("chunk_shrinks", "times the tensor chunk was halved"),
    ("chunk_grows", "times it was doubled again"),
    ("chunk_bytes_smallest", "smallest chunk used (bytes)"),
    ("chunk_bytes", "chunk at the end (bytes)"),
    ("resets", "board resets recovered from"),
    ("double_runs", "INVOKEs the board ran twice (redone)"),
    ("bytes_sent", "bytes sent"),
    ("bytes_received", "bytes received"),
)


def _layer_table(report: BenchReport) -> list[str]:
    """Where the time goes: each layer's count, share, count per MAC and ms at the board's clock."""
    rows = report.layer_rows()
    if not rows:
        return []
    unit = report.latency.unit
    mhz = report.latency.clock_hz / 1e6
    lines = ["## Layers (last inference)", "",
             f"| layer | op | {unit} | share | MACs | {unit} per MAC | ms at {mhz:g} MHz |",
             "|---:|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        macs = f"{r['macs']:,}" if r["macs"] else "-"
        per_mac = f"{r['per_mac']:.2f}" if r["per_mac"] else "-"
        ms = f"{r['ms']:.3f}" if r["ms"] is not None else "-"
        lines.append(f"| {r['layer']} | {r['op']} | {r['count']:,} | {r['share']:.1%} | {macs} | {per_mac} | {ms} |")
    total = sum(r["count"] for r in rows)
    macs_total = sum(r["macs"] or 0 for r in rows)
    lines.append(f"| | all | {total:,} | 100% | {macs_total:,} | "
                 f"{total / macs_total:.2f} | {total / report.latency.clock_hz * 1e3:.3f} |" if macs_total and
                 report.latency.clock_hz else f"| | all | {total:,} | 100% | | | |")
    return [*lines, ""]


def _memory_section(memory: MemorySummary | None) -> list[str]:
    """inspect's figures for the model on the board, and the build's use against the board's
    regions when the project is known; what is not known says why."""
    if memory is None:
        return []
    lines = ["## Memory", ""]
    model = memory.model
    if model is not None:
        lines += [f"The model, from inspect's analysis for {memory.board} ({model.kernels} kernels, "
                  f"{model.strategy} memory plan):", "",
                  "| | bytes |", "|---|---:|",
                  f"| arena (RAM, the memory plan's peak) | {model.arena_bytes:,} |",
                  f"| weights | {model.weights_bytes:,} |"]
        if model.constants_bytes is not None:
            lines.append(f"| constants in flash (weights and per-layer tables) | {model.constants_bytes:,} |")
    else:
        lines += [f"The model's figures from inspect: {memory.model_unknown}.", "", "| | bytes |", "|---|---:|"]
    if memory.firmware_arena_bytes is not None:
        lines.append(f"| arena the firmware reports (HELLO) | {memory.firmware_arena_bytes:,} |")
    lines.append("")
    if model is not None and model.fit is not None:
        fit = model.fit
        lines += [f"Fit before a build (inspect's estimate; flash counts {fit.to_json()['runtime_flash_estimate']:,} B "
                  f"for the runtime): flash {fit.flash_needed:,} of {fit.flash_available:,} B in {fit.flash_region} "
                  f"({_margin(fit.flash_margin)}); RAM {fit.ram_needed:,} of {fit.ram_available:,} B in "
                  f"{fit.arena_region} ({_margin(fit.ram_margin)}).", ""]
    build = memory.build
    if build is None:
        lines += [f"The build's flash and RAM use: {memory.build_unknown}.", ""]
    else:
        lines += [f"The build (`{build.elf}`) against the board's totals:", "",
                  "| region | kind | used | size | used % | free |", "|---|---|---:|---:|---:|---:|"]
        lines += [f"| {r.name} | {r.kind} | {r.used:,} | {r.size:,} | {r.percent:.1f}% | {r.free:,} |"
                  for r in build.regions]
        arena = (f"the arena {build.arena_bytes:,} B in {build.arena_region}" if build.arena_bytes is not None
                 else "no arena")
        lines += ["", f"In the image: the model's constants {build.weights_bytes:,} B in "
                      f"{', '.join(build.weights_regions) or '-'}, {arena}.", ""]
    lines += [f"- {note}" for note in memory.notes]
    return [*lines, ""] if memory.notes else lines


def _margin(margin: int) -> str:
    return f"{margin:,} B left" if margin >= 0 else f"{-margin:,} B short"


def _preprocessing_section(params: PreprocessParams | None) -> list[str]:
    """How --data images became input tensors, step by step (mcugen.preprocess)."""
    if params is None:
        return []
    record = params.to_json()
    resize = ("crop: centre crop to the input's aspect ratio, then box resize" if params.resize == "crop"
              else "stretch: the whole image box-resized (aspect ratio not kept)")
    if params.luma:
        channels = "luma 0.299 R + 0.587 G + 0.114 B (BT.601, 8.8 fixed point 77, 150, 29 / 256)" + (
            " in all three channels" if params.channels == 3 else "")
    else:
        channels = ", ".join(params.channel_names) + f" ({params.channel_order})"
    lo, hi = record["pixel_range"] or (None, None)
    normalised = record["mean"] is not None and (any(m != 0 for m in record["mean"]) or
                                                 any(s != 1 for s in record["std"]))
    target = params.dtype if params.scale is None else \
        f"{params.dtype}, scale {params.scale:.9g}, zero point {params.zero_point}"
    lines = ["## Input pre-processing", "", "| step | choice |", "|---|---|",
             f"| resize to {params.width} x {params.height} | {resize} |",
             f"| channels | {channels} |",
             f"| pixel range | 0..255 to [{lo:.6g}, {hi:.6g}] |" if lo is not None else "| pixel range | - |",
             ("| normalisation | x = (pixel_in_range - mean) / std; mean "
              f"{_per_channel(params.channel_names, record['mean'])}; std "
              f"{_per_channel(params.channel_names, record['std'])} |")
             if normalised else "| normalisation | none (mean 0, std 1) |",
             f"| quantization | {target} |", "",
             f"{params.describe()}.", ""]
    return lines


def _per_channel(names: tuple[str, ...], values: list[float]) -> str:
    """'B 0.406, G 0.456, R 0.485' (a gray input: the one value)."""
    if len(values) == 1:
        return f"{values[0]:g}"
    if len(set(names)) < len(names):  # the luma in every channel: name them by position
        names = tuple(f"channel {i}" for i in range(len(values)))
    return ", ".join(f"{name} {value:g}" for name, value in zip(names, values))


def _link_table(link: dict[str, int]) -> list[str]:
    if not link:
        return []
    lines = ["## Serial link", "", "| | count |", "|---|---:|"]
    lines += [f"| {what} | {link[key]:,} |" for key, what in LINK_ROWS if key in link]
    return [*lines, ""]


# ---- a detector's results -----------------------------------------------------------------

BOXES_PREFIX = "boxes_"
BOX_IMAGES = 6  # images drawn with their boxes
DRAWN_MIN_SIDE = 240  # pixels: small inputs are scaled up so the boxes can be read
PREDICTED_COLOUR = (230, 60, 200)  # magenta, thick, with its score
TRUTH_COLOUR = (40, 200, 70)  # green, thin


def _fmt(value: float | None, pct: bool = True) -> str:
    if value is None:
        return "-"
    return f"{value:.1%}" if pct else f"{value:.3f}"


def _detection_section(detection: DetectionBench | None, drawn: list[str]) -> list[str]:
    if detection is None:
        return []
    from .detection import describe
    from .detection_metrics import INTERPOLATION

    head = detection.head
    n_boxes = sum(len(b) for b in detection.boxes)
    lines = ["## Detection", "",
             f"The device's raw outputs, decoded by the project's {describe(head)} (mcugen.detection, the mirror "
             f"of the firmware's mcugen_model_boxes()): {n_boxes} boxes on {len(detection.boxes)} images.", ""]
    metrics = detection.metrics()
    if metrics is None:
        lines += ["No box labels were found (YOLO `IMAGE.txt` beside each image or under `labels/`, or "
                  "`--boxes F.json`): the boxes are reported, mAP is not.", "",
                  "| class | boxes |", "|---|---:|"]
        for c, name in enumerate(detection.class_names):
            lines.append(f"| {name} | {sum(1 for boxes in detection.boxes for b in boxes if b.class_id == c)} |")
        lines.append("")
    else:
        lines += [f"Ground truth: {detection.labels_source}, mapped into the model input's frame through the same "
                  "crop as the images.", "",
                  "| | value |", "|---|---|",
                  f"| mAP@0.5 | {_fmt(metrics.map50, pct=False)} |",
                  f"| precision at score >= {metrics.score_threshold:g} | {_fmt(metrics.precision)} "
                  f"({metrics.tp}/{metrics.tp + metrics.fp}) |",
                  f"| recall at score >= {metrics.score_threshold:g} | {_fmt(metrics.recall)} "
                  f"({metrics.tp}/{metrics.tp + metrics.fn}) |",
                  f"| true / false positives, false negatives | {metrics.tp} / {metrics.fp} / {metrics.fn} |", "",
                  "| class | objects | boxes | AP@0.5 | precision | recall | TP | FP | FN |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for c in metrics.classes:
            ap = "- (no objects)" if c.ap is None else f"{c.ap:.3f}"
            lines.append(f"| {c.name} | {c.ground_truths} | {c.predictions} | {ap} | {_fmt(c.precision)} | "
                         f"{_fmt(c.recall)} | {c.tp} | {c.fp} | {c.fn} |")
        lines += ["", f"AP: {INTERPOLATION}, at IoU >= {metrics.iou_threshold:g}; predictions matched greedily best "
                  "score first, each object once. Only boxes the head returns (score >= its threshold) are ranked, "
                  "so the curve ends at that threshold. mAP is the mean over classes with objects.", ""]
    if drawn:
        lines += ["Predicted boxes (magenta, with their scores)" + (" and labelled ones (green)"
                                                                     if detection.labelled else "")
                  + " on the part of each image the model sees:", ""]
        lines += [f"![{name}]({name})" for name in drawn]
        lines.append("")
    return lines


def _images_to_draw(detection: DetectionBench) -> list[int]:
    """A few images, up to half of them ones the detector got wrong (a miss or a false
    positive), in their order."""
    from .detection_metrics import match_image

    drawable = [i for i, path in enumerate(detection.paths) if path is not None]
    wrong = []
    if detection.labelled:
        for i in drawable:
            boxes, truth = detection.boxes[i], detection.truths[i]
            hits = sum(hit for c in range(detection.head.num_classes) for _, hit in match_image(boxes, truth, c))
            if hits != len(boxes) or hits != len(truth):
                wrong.append(i)
    chosen = wrong[:BOX_IMAGES // 2]
    chosen += [i for i in drawable if i not in chosen][:BOX_IMAGES - len(chosen)]
    return sorted(chosen)


def draw_boxes(detection: DetectionBench, index: int, path: Path) -> None:
    """Image `index` as the model sees it (the pre-processing's crop of the file, in colour),
    scaled up, with its predicted and labelled boxes."""
    from PIL import Image, ImageDraw, ImageFont

    from .preprocess import resize_window

    source = detection.paths[index]
    with Image.open(source) as img:
        rgb = img.convert("RGB")
    x0, y0, w, h = resize_window(rgb.width, rgb.height, *detection.input_size, detection.resize)
    crop = rgb.crop((x0, y0, x0 + w, y0 + h))
    scale = max(1, -(-DRAWN_MIN_SIDE // max(1, min(crop.width, crop.height))))
    crop = crop.resize((crop.width * scale, crop.height * scale), Image.NEAREST)
    draw = ImageDraw.Draw(crop)
    font = ImageFont.load_default(size=max(10, crop.height // 22))

    def rect(b) -> tuple[float, float, float, float]:
        return (b.x * crop.width, b.y * crop.height, (b.x + b.w) * crop.width - 1, (b.y + b.h) * crop.height - 1)

    for b in detection.boxes[index]:
        draw.rectangle(rect(b), outline=PREDICTED_COLOUR, width=max(2, crop.width // 80))
    # The labels over the predictions, thinner: where both coincide, both still show.
    for t in detection.truths[index] if detection.labelled else []:
        draw.rectangle(rect(t), outline=TRUTH_COLOUR, width=max(1, crop.width // 160))
    for b in detection.boxes[index]:
        box = rect(b)
        name = detection.class_names[b.class_id] if b.class_id < len(detection.class_names) else str(b.class_id)
        label = f"{name} {b.score:.2f}"
        left, top, right, bottom = draw.textbbox((0, 0), label, font=font)
        # Above the box's corner, kept inside the picture.
        tx = min(max(0.0, box[0]), crop.width - (right - left) - 2)
        ty = box[1] - (bottom - top) - 4 if box[1] >= (bottom - top) + 4 else box[3] + 2
        left, top, right, bottom = draw.textbbox((tx, ty), label, font=font)
        draw.rectangle((left - 1, top - 1, right + 1, bottom + 1), fill=PREDICTED_COLOUR)
        draw.text((tx, ty), label, fill=(255, 255, 255), font=font)
    crop.save(path)


def _box_images(report: BenchReport, out: Path) -> list[str]:
    detection = report.detection
    if detection is None or not detection.boxes:
        return []
    written = []
    for i in _images_to_draw(detection):
        stem = Path(detection.sources[i]).with_suffix("").as_posix().replace("/", "_")
        name = f"{BOXES_PREFIX}{i:03d}_{stem}.png"
        draw_boxes(detection, i, out / name)
        written.append(name)
    return written


def detection_console_lines(report: BenchReport) -> list[str]:
    """What `bench` prints for a detector, after the usual table."""
    detection = report.detection
    if detection is None:
        return []
    n_boxes = sum(len(b) for b in detection.boxes)
    lines = [f"detection: {n_boxes} boxes on {len(detection.boxes)} images ({detection.head.kind} head, score >= "
             f"{detection.head.score_threshold:g})"]
    metrics = detection.metrics()
    if metrics is None:
        lines.append("mAP@0.5: not measured: the images have no box labels (YOLO IMAGE.txt or labels/, or --boxes "
                     "F.json)")
        return lines
    lines.append(f"mAP@0.5 {_fmt(metrics.map50, pct=False)}  precision {_fmt(metrics.precision)}  recall "
                 f"{_fmt(metrics.recall)}  (TP {metrics.tp}, FP {metrics.fp}, FN {metrics.fn})")
    for c in metrics.classes:
        lines.append(f"  {c.name}: AP@0.5 {'-' if c.ap is None else f'{c.ap:.3f}'}, {c.ground_truths} objects, "
                     f"{c.predictions} boxes")
    return lines


def write_report(report: BenchReport, out_dir: Path) -> Path:
    out = report_folder(Path(out_dir))
    plots = _plots(report, out) + _box_images(report, out)
    (out / "report.json").write_text(json.dumps(report.to_json(), indent=2) + "\n")
    (out / "report.md").write_text(markdown(report, plots))
    return out
