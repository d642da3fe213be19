"""Human-readable views of mcugen's reports (rich tables). JSON lives on the reports themselves."""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Callable, Iterator

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from .analysis import EdgeTensor, ModelReport
from .boards import Board
from .fit import FitVerdict
from .validate import ValidationReport

# Link statistics that mean something went wrong (and was recovered from).
# The serial link's troubles, as print_bench names them.
LINK_FAULTS = (("retries", "retries"), ("timeouts", "timeouts"), ("crc_errors", "damaged replies"),
               ("bad_crc_replies", "damaged requests"), ("stale_replies", "stale replies"),
               ("chunk_shrinks", "chunk halvings"), ("resets", "board resets"), ("double_runs", "double runs"))

if TYPE_CHECKING:
    from .bench import BenchReport
    from .build import BuildReport
    from .float_compare import FloatReport
    from .layer_compare import LayerReport


def _kib(n: int) -> str:
    return f"{n:,} B ({n / 1024:.1f} KiB)"


def _quant(t: EdgeTensor) -> str:
    if t.scale is None:
        return "not quantized"
    if isinstance(t.scale, list):
        return f"per-channel ({len(t.scale)} scales)"
    return f"scale {t.scale:.6g}, zero point {t.zero_point}"


def print_model_report(console: Console, report: ModelReport) -> None:
    console.print(f"[bold]{escape(report.model)}[/bold]")
    io = Table(title="Inputs and outputs", title_justify="left", show_edge=False)
    for col in ("", "name", "dtype", "shape", "quantization"):
        io.add_column(col)
    for kind, tensors in (("input", report.inputs), ("output", report.outputs)):
        for t in tensors:
            io.add_row(kind, escape(t.name), t.dtype, "x".join(map(str, t.shape)), _quant(t))
    console.print(io)

    layers = Table(title="Layers (execution order)", title_justify="left", show_edge=False)
    layers.add_column("#", justify="right")
    layers.add_column("op")
    layers.add_column("output", justify="right")
    layers.add_column("MACs", justify="right")
    layers.add_column("weights B", justify="right")
    layers.add_column("live activations B", justify="right")
    for row in report.layers:
        op = row.op if row.supported else f"[red]{row.op} (unsupported)[/red]"
        layers.add_row(str(row.index), op, "x".join(map(str, row.output_shape)), f"{row.macs:,}",
                       f"{row.weight_bytes:,}", f"{row.live_bytes:,}")
    console.print(layers)

    if report.strategies:
        plans = Table(title="Memory plans", title_justify="left", show_edge=False)
        for col in ("strategy", "arena B", "peak at layer", "kernel calls", "extra MACs", "how"):
            plans.add_column(col, justify="right" if col in ("arena B", "kernel calls", "extra MACs") else "left")
        for r in report.strategies:
            name = f"[bold]{r.name}[/bold] (chosen)" if r.chosen else r.name
            peak = f"{r.peak_layer} {r.peak_op}" if r.peak_layer is not None else "-"
            plans.add_row(name, f"{r.arena_bytes:,}", peak, f"{r.calls:,}", f"{r.extra_macs:,}",
                          escape("; ".join(r.notes)) or "every layer whole")
        console.print(plans)
        for note in report.rewrites:
            console.print(f"[dim]every plan: {escape(note)}[/dim]")

    totals = Table(title="Totals", title_justify="left", show_header=False, show_edge=False)
    totals.add_column()
    totals.add_column()
    totals.add_row("MACs", f"{report.macs:,} ({report.macs / 1e6:.2f} M)")
    totals.add_row("weights", _kib(report.weights_bytes))
    if report.constants_bytes is not None:
        totals.add_row("constants in flash", f"{_kib(report.constants_bytes)}: weights and per-layer tables "
                       "(multipliers, shifts), as generated")
    totals.add_row("arena (mcugen plan)", f"{_kib(report.arena_bytes)} ({report.memory} memory plan)")
    scratch = f"; kernel scratch up to {report.scratch_bytes:,} B, inside the arena" if report.scratch_bytes else ""
    totals.add_row("kernels", f"{report.variant}{scratch}")
    if report.tflm is not None:
        # mcugen compiles the graph, so it needs no interpreter state: the fair
        # comparison for RAM is TFLM's whole arena; the head is the planner's peer.
        saved = report.tflm.total - report.arena_bytes
        totals.add_row("arena (TFLite Micro)", f"{_kib(report.tflm.total)} = {report.tflm.head:,} B activations "
                       f"+ {report.tflm.tail:,} B interpreter state")
        totals.add_row("RAM saved vs TFLite Micro", f"{saved:,} B ({100.0 * saved / report.tflm.total:.0f}%)")
    else:
        totals.add_row("arena (TFLite Micro)", f"not measured: {report.tflm_error}")
    totals.add_row("ops", ", ".join(f"{op} x{n}" for op, n in report.ops.items()))
    if report.unsupported:
        totals.add_row("[red]unsupported ops[/red]", ", ".join(report.unsupported))
    console.print(totals)


def print_fit(console: Console, verdict: FitVerdict, board: Board) -> None:
    mark = "[green]fits[/green]" if verdict.fits else "[red]does not fit[/red]"
    console.print(f"\n[bold]{board.id}[/bold] ({board.name}): {mark}")
    t = Table(show_edge=False)
    for col in ("", "needed", "available", "margin"):
        t.add_column(col, justify="right" if col else "left")
    t.add_row(f"flash ({verdict.flash_region})", f"{verdict.flash_needed:,}", f"{verdict.flash_available:,}",
              _margin(verdict.flash_margin, verdict.flash_available))
    t.add_row(f"RAM ({verdict.arena_region})", f"{verdict.ram_needed:,}", f"{verdict.ram_available:,}",
              _margin(verdict.ram_margin, verdict.ram_available))
    console.print(t)
    console.print("[dim]flash needed = the model's constants + a runtime estimate; `mcugen build` reports the "
                  "measured sizes[/dim]")
    ram_size = board.region(verdict.arena_region).size
    flash_size = board.region(verdict.flash_region).size
    if board.reserved_ram_bytes:
        console.print(f"[dim]RAM available = {verdict.arena_region}'s {ram_size:,} B less {board.reserved_ram_bytes:,} "
                      f"B reserved: {board.reserved_ram_why}[/dim]")
    if board.reserved_flash_bytes:
        console.print(f"[dim]flash available = {verdict.flash_region}'s {flash_size:,} B less "
                      f"{board.reserved_flash_bytes:,} B reserved: {board.reserved_flash_why}[/dim]")


def _margin(margin: int, available: int) -> str:
    pct = 100.0 * margin / available if available else 0.0
    colour = "green" if margin >= 0 else "red"
    return f"[{colour}]{margin:,} ({pct:.0f}%)[/{colour}]"


def print_boards(console: Console, boards: list[Board]) -> None:
    from .apps import board_apps
    from .boards import VERIFIED_MEANING

    t = Table(show_edge=False)
    for col in ("board", "MCU", "clock", "flash", "RAM", "PlatformIO", "apps: verified", "extras"):
        t.add_column(col)
    levels: set[str] = set()
    for b in boards:
        extras = [f"{b.target.best_variant} kernels"]
        if b.emulated and b.qemu:
            extras.append(f"QEMU {b.qemu['machine']}")
        if b.camera:
            extras.append(f"camera {b.camera.sensor}")
        if b.leds:
            extras.append("LEDs " + "/".join(led.name for led in b.leds))
        apps = board_apps(b)
        levels.update(apps.values())
        t.add_row(b.id, f"{b.mcu} ({b.core})", f"{b.clock_hz / 1e6:g} MHz", f"{b.flash_bytes // 1024:,} KiB",
                  f"{b.ram_bytes // 1024:,} KiB", f"{b.platformio['platform']}/{b.platformio['board']}",
                  "\n".join(f"{v}: {', '.join(a for a in apps if apps[a] == v)}" for v in dict.fromkeys(apps.values())),
                  ", ".join(extras))
    console.print(t)
    for level in sorted(levels, key=list(VERIFIED_MEANING).index):
        console.print(f"{level}: {VERIFIED_MEANING[level]}")


def print_validation(console: Console, report: ValidationReport) -> None:
    t = Table(title=escape(f"{report.model}: generated C vs TFLite Micro on {report.inputs} inputs"), title_justify="left",
              show_edge=False)
    for col in ("output", "bit-exact", "largest |difference|", "verdict"):
        t.add_column(col)
    for o in report.outputs:
        ok = o.bit_exact == report.inputs
        verdict = "[green]bit-exact[/green]" if ok else "[red]MISMATCH[/red]"
        t.add_row(f"{o.index}: {escape(o.name)}", f"{o.bit_exact}/{report.inputs}", f"{o.max_abs_diff:g}", verdict)
    console.print(t)
    console.print(f"arena {report.arena_bytes:,} B, constants {report.weights_bytes:,} B, {report.kernels} kernels")
    for note in report.notes:
        console.print(f"[dim]note: {escape(note)}[/dim]")
    if report.float_report is not None:
        print_float_metrics(console, report.model, report.float_report)
    if report.layers is not None:
        print_layer_report(console, report.layers)


def _metric(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.6g}"


def print_float_metrics(console: Console, model: str, report: "FloatReport") -> None:
    t = Table(title=escape(f"{model} (generated C, dequantized) vs float {report.float_model} on {report.inputs} "
                           "inputs"), title_justify="left", show_edge=False)
    # The output's name whole (it is what the user looks for); the figures' headers short.
    t.add_column("output", justify="left", no_wrap=True)
    for col in ("RMSE", "MAE", "L2r", "cos", "max |diff|", "top-1"):
        t.add_column(col, justify="right")
    for o in report.outputs:
        top1 = "n/a" if o.top1_agree is None else f"{o.top1_agree}/{o.top1_inputs}"
        if o.top1_ties:
            top1 += f" ({o.top1_ties} tied)"
        t.add_row(f"{o.index}: {escape(o.name)}", _metric(o.rmse), _metric(o.mae), _metric(o.l2r), _metric(o.cos),
                  _metric(o.max_abs_diff), top1)
    console.print(t)
    console.print(f"[dim]note: {escape(report.feed)}; metrics as ST Edge AI's validate defines them, over all "
                  "inputs' values of each output[/dim]")
    if any(o.top1_ties for o in report.outputs):
        console.print("[dim]note: tied: inputs whose int8 scores share the top value; argmax takes the first "
                      "class there, as a device would, so top-1 agreement on them reflects the output's "
                      "quantization step[/dim]")


def print_layer_report(console: Console, report: "LayerReport") -> None:
    compared, skipped = len(report.checks), len(report.skipped)
    reasons: dict[str, int] = {}
    for s in report.skipped:
        reasons[s.reason] = reasons.get(s.reason, 0) + 1
    why = "; ".join(f"{n} {reason}" for reason, n in reasons.items())
    skip_text = f"{skipped} skipped ({why})" if skipped else "none skipped"
    first = report.first_difference
    if first is None:
        console.print(f"per layer: [green]all {compared} compared tensors match[/green] TFLite Micro's on "
                      f"{report.inputs} input{'s' if report.inputs != 1 else ''}; {escape(skip_text)}")
        return
    others = len(report.differing) - 1
    console.print(
        f"per layer: [red]first difference at layer {first.layer} ({first.op})[/red], run {first.position + 1} of "
        f"{report.layers}: tensor {escape(first.name)} (index {first.tensor}), "
        f"{first.first_input_differing:,} of {first.elements:,} elements differ on input {first.first_input} "
        f"({first.inputs_differing} of {report.inputs} inputs), largest |difference| {first.max_abs_diff:g}")
    matched = sum(1 for c in report.checks if c.matches and c.position < first.position)
    console.print(f"  {matched} tensor(s) before it match; {others} later tensor(s) differ too; of {compared} "
                  f"compared, {escape(skip_text)}")


def print_build(console: Console, report: "BuildReport") -> None:
    t = Table(title=f"{report.board}: firmware memory ({report.seconds:.1f} s build)", title_justify="left",
              show_edge=False)
    for col in ("region", "kind", "used", "size", "used %", "free"):
        t.add_column(col, justify="left" if col in ("region", "kind") else "right")
    for r in report.regions:
        colour = "red" if r.percent > 90 else "green"
        t.add_row(r.name, r.kind, f"{r.used:,}", f"{r.size:,}", f"[{colour}]{r.percent:.1f}%[/{colour}]",
                  f"{r.free:,}")
    console.print(t)
    weights = sum(w.size for w in report.weights)
    regions = ", ".join(sorted({w.region or "?" for w in report.weights}))
    console.print(f"model constants: {weights:,} B in {regions} (.rodata); arena: "
                  + (f"{report.arena.size:,} B in {report.arena.region} (.bss)" if report.arena else "none"))
    console.print(f"ELF: {report.elf}")


@contextmanager
def progress_bar(console: Console, total: int, enabled: bool = True) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on stderr; yields the callback bench calls after each input."""
    if not enabled:
        yield lambda done, total: None
        return
    with Progress(TextColumn("benchmark"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console, transient=True) as progress:
        task = progress.add_task("bench", total=total)
        yield lambda done, total: progress.update(task, completed=done)


def print_bench(console: Console, report: "BenchReport", report_dir: str | None) -> None:
    lat = report.latency.to_json()
    unit = lat["unit"]
    exact = report.bit_exact == report.inputs
    t = Table(title=escape(f"{report.model} on {report.board} (firmware {report.build_id})"), title_justify="left",
              show_header=False, show_edge=False)
    t.add_column()
    t.add_column()
    mark = "[green]bit-exact[/green]" if exact else "[red]MISMATCH[/red]"
    t.add_row("inputs", str(report.inputs) if report.complete else
              f"{report.inputs} of {report.planned} [red](incomplete: {escape(report.incomplete_reason or '')})[/red]")
    t.add_row("agreement with TFLite Micro", f"{report.bit_exact}/{report.inputs} {mark}, largest |difference| "
              f"{report.max_abs_diff:g}")
    t.add_row(f"latency ({unit})", f"min {lat['min']:,.0f}  median {lat['median']:,.0f}  p90 {lat['p90']:,.0f}  "
              f"max {lat['max']:,.0f}")
    t.add_row(f"latency at {report.latency.clock_hz / 1e6:g} MHz", f"median {lat['ms']['median']:.3f} ms")
    if report.accuracy is not None:
        correct = sum(int(a == b) for a, b in zip(report.labels, report.predictions))
        t.add_row("top-1 accuracy", f"{report.accuracy:.1%} ({correct}/{len(report.labels)})")
    t.add_row("arena", f"{report.arena_bytes:,} B")
    link = report.link
    faults = [f"{link[k]:,} {name}" for k, name in LINK_FAULTS if link.get(k)]
    chunks = (f" (chunks down to {link['chunk_bytes_smallest']} B, {link['chunk_bytes']} B at the end)"
              if link.get("chunk_shrinks") else "")
    t.add_row("serial link", f"{link.get('requests', 0):,} requests; "
              + (", ".join(faults) + chunks if faults else "no faults"))
    console.print(t)
    matrix = report.confusion()
    if matrix and report.class_names:
        cm = Table(title="confusion matrix (rows: true class, columns: predicted on the board)",
                   title_justify="left", show_edge=False)
        cm.add_column("")
        for name in report.class_names:
            cm.add_column(name, justify="right")
        for name, row in zip(report.class_names, matrix):
            cm.add_row(name, *(str(v) for v in row))
        console.print(cm)
    if report.profile:
        top = sorted(enumerate(report.profile), key=lambda x: -x[1][1])[:5]
        total = sum(c for _, c in report.profile) or 1
        console.print("slowest layers: " + ", ".join(f"{i} {op} {100 * c / total:.0f}%" for i, (op, c) in top))
    for note in report.notes:
        console.print(f"[dim]note: {escape(note)}[/dim]")
    if report_dir:
        console.print(f"report: {report_dir}/report.md, report.json, plots")


def print_feed(out: Console, results: list, notes: list[str], pixel_note: str) -> None:
    """One row per frame fed to a camera app: what the board decided and whether it checks out."""
    table = Table(title="mcugen feed: results from the board", title_justify="left")
    for col, justify in (("frame", "left"), ("class", "left"), ("score", "right"), ("LEDs on", "left"),
                         ("count", "right"), ("pre-processing", "left"), ("output", "left")):
        table.add_column(col, justify=justify)
    for r in results:
        res = r.result
        table.add_row(escape(r.source), escape(r.label or "-"), f"{res.score:.3f}", ", ".join(r.leds_on) or "none",
                      f"{res.invoke_count:,}", "bit-exact" if r.preprocess_bit_exact else "DIFFERS",
                      "-" if r.reference_bit_exact is None else ("bit-exact" if r.reference_bit_exact else "DIFFERS"))
    out.print(table)
    out.print(f"pre-processing: {escape(pixel_note)}")
    for note in notes:
        out.print(f"note: {escape(note)}")
