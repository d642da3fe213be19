"""`inspect --report DIR`: what inspect prints, as Markdown (inspect.md), with a plot of
each layer's MACs and the bytes live while it runs (layers.png)."""

from __future__ import annotations

from pathlib import Path

from .analysis import ModelReport
from .boards import Board
from .fit import FitVerdict
from .project import report_folder


def _plot(report: ModelReport, out: Path) -> str:
    import matplotlib

    matplotlib.use("Agg")  # files only
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    rows = report.layers
    labels = [f"{r.index}: {r.op}" for r in rows]
    height = max(3.0, 0.2 * len(rows) + 1.2)
    fig, (macs_ax, live_ax) = plt.subplots(1, 2, figsize=(10, height), sharey=True)
    macs_ax.barh(range(len(rows)), [r.macs for r in rows], color="#3b7dd8")
    macs_ax.set_xlabel("MACs")
    live_ax.barh(range(len(rows)), [r.live_bytes for r in rows], color="#d8803b")
    live_ax.axvline(report.arena_bytes, color="black", linewidth=1, linestyle="--")
    live_ax.set_xlabel(f"bytes live (dashed: the {report.memory} arena, {report.arena_bytes:,} B)")
    macs_ax.set_yticks(range(len(rows)), labels, fontsize=7)
    macs_ax.invert_yaxis()
    for ax in (macs_ax, live_ax):
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        ax.tick_params(axis="x", labelsize=7)
    fig.suptitle(f"{report.model}: MACs and live bytes per layer")
    fig.tight_layout()
    fig.savefig(out / "layers.png", dpi=110)
    plt.close(fig)
    return "layers.png"


def markdown(report: ModelReport, verdict: FitVerdict | None = None, board: Board | None = None,
             plots: tuple[str, ...] = ()) -> str:
    lines = [f"# {report.model}", "",
             f"{len(report.layers)} layers, {report.macs:,} MACs, {report.weights_bytes:,} B of weights; "
             f"{report.variant} kernels, the {report.memory} memory plan.", "", "## Inputs and outputs", "",
             "| | name | shape | dtype | scale | zero point |", "|---|---|---|---|---|---|"]
    for role, tensors in (("input", report.inputs), ("output", report.outputs)):
        for t in tensors:
            lines.append(f"| {role} | {t.name} | {list(t.shape)} | {t.dtype} | {_short(t.scale)} | "
                         f"{_short(t.zero_point)} |")
    lines += ["", "## Memory", "", "| | bytes |", "|---|---:|",
              f"| arena ({report.memory} plan) | {report.arena_bytes:,} |"]
    if report.constants_bytes is not None:
        lines.append(f"| constants in flash (weights and per-layer tables) | {report.constants_bytes:,} |")
    if report.tflm is not None:
        lines.append(f"| TensorFlow Lite Micro's arena for the same model (activations / total) | "
                     f"{report.tflm.head:,} / {report.tflm.total:,} |")
    lines += ["", "| strategy | arena | fullest at | kernel calls | MACs recomputed | what it did |",
              "|---|---:|---|---:|---:|---|"]
    for s in report.strategies:
        mark = " (chosen)" if s.chosen else ""
        at = f"layer {s.peak_layer} ({s.peak_op})" if s.peak_layer is not None else "-"
        lines.append(f"| {s.name}{mark} | {s.arena_bytes:,} | {at} | {s.calls:,} | {s.extra_macs:,} | "
                     f"{'; '.join(s.notes) or '-'} |")
    if verdict is not None and board is not None:
        lines += ["", f"## Fit on {board.id} ({board.name}): {'fits' if verdict.fits else 'does not fit'}", "",
                  "| | needed | available | margin |", "|---|---:|---:|---:|",
                  f"| flash ({verdict.flash_region}) | {verdict.flash_needed:,} | {verdict.flash_available:,} | "
                  f"{verdict.flash_margin:,} |",
                  f"| RAM ({verdict.arena_region}) | {verdict.ram_needed:,} | {verdict.ram_available:,} | "
                  f"{verdict.ram_margin:,} |", "",
                  "Flash needed is the model's constants plus a runtime estimate; `mcugen build` measures it."]
        if board.reserved_ram_bytes:
            lines.append(f"RAM available is {verdict.arena_region} less {board.reserved_ram_bytes:,} B reserved: "
                         f"{board.reserved_ram_why}.")
        if board.reserved_flash_bytes:
            lines.append(f"Flash available is {verdict.flash_region} less {board.reserved_flash_bytes:,} B "
                         f"reserved: {board.reserved_flash_why}.")
        if not verdict.fits:
            lines.append(f"Short: {verdict.shortfall()}.")
    lines += ["", "## Layers", "", "| layer | op | output | MACs | weight bytes | bytes live | kernel |",
              "|---:|---|---|---:|---:|---:|---|"]
    for r in report.layers:
        lines.append(f"| {r.index} | {r.op} | {list(r.output_shape)} | {r.macs:,} | {r.weight_bytes:,} | "
                     f"{r.live_bytes:,} | {'yes' if r.supported else 'none yet'} |")
    lines.append("")
    lines += [f"![{p}]({p})" for p in plots]
    return "\n".join(lines) + "\n"


def _short(value) -> str:  # type: ignore[no-untyped-def]
    if value is None:
        return "-"
    if isinstance(value, list):
        return f"{len(value)} per channel"
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def write_inspect_report(report: ModelReport, out_dir: Path, verdict: FitVerdict | None = None,
                         board: Board | None = None) -> Path:
    out = report_folder(Path(out_dir))
    plots = (_plot(report, out),) if report.layers else ()
    (out / "inspect.md").write_text(markdown(report, verdict, board, plots))
    return out
