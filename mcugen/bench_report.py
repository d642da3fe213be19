"""Write a benchmark report: report.json, report.md and PNG plots."""

from __future__ import annotations

import json
from pathlib import Path

from .bench import BenchReport, MemorySummary
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


def write_report(report: BenchReport, out_dir: Path) -> Path:
    out = report_folder(Path(out_dir))
    plots = _plots(report, out)
    (out / "report.json").write_text(json.dumps(report.to_json(), indent=2) + "\n")
    (out / "report.md").write_text(markdown(report, plots))
    return out
