"""The `mcugen` command line: a thin layer over the library.

Exit codes: 0 success; 1 the model cannot be deployed as asked (does not fit,
unsupported ops, outputs differ from the reference); 2 bad input or a failed
step; 3 the board or its serial link failed; 4 a bug in mcugen; 130 interrupted.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import click
from rich.console import Console

from . import __version__
from .errors import McugenError
from .plan import MEMORY_CHOICES
from .target import AUTO, HOST, KERNEL_CHOICES

EXIT_VERDICT = 1


KERNELS_OPTION = click.option(
    "--kernels", type=click.Choice(KERNEL_CHOICES), default=AUTO, show_default=True,
    help="Kernel variant: auto picks arm-dsp on cores with the DSP extension (Cortex-M4/M7/M33), else portable; "
         "portable is the reference C99 code.")


MEMORY_OPTION = click.option(
    "--memory", type=click.Choice(MEMORY_CHOICES), default="auto", show_default=True,
    help="Memory plan: fast runs every layer whole; small also runs windowed layers in row strips over their "
         "used-up input (less RAM, a little more time); auto takes fast when it fits the board, else small.")


def _console(stderr: bool = False) -> Console:
    # Not a terminal (pipes, CI logs): a fixed width keeps tables from wrapping.
    stream = sys.stderr if stderr else sys.stdout
    return Console(file=stream, width=None if stream.isatty() else 120, highlight=False)


def fail(message: str, code: int = 2) -> None:
    from rich.markup import escape

    # Messages quote user input and TOML tables ("[firmware]"): never markup.
    _console(stderr=True).print(f"[red]mcugen: error:[/red] {escape(message)}", soft_wrap=True)
    sys.exit(code)


class McugenGroup(click.Group):
    """Turns every McugenError into one line on stderr and its exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except McugenError as exc:
            fail(exc.one_line(), exc.exit_code)
        except KeyboardInterrupt:
            fail("interrupted", 130)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort, SystemExit):
            raise
        except Exception as exc:  # a bug in mcugen, not bad input
            if os.environ.get("MCUGEN_DEBUG"):
                raise
            fail(f"internal error: {type(exc).__name__}: {exc} (rerun with MCUGEN_DEBUG=1 for the traceback "
                 "and report it)", 4)


def _print_json(obj: Any) -> None:
    click.echo(json.dumps(obj, indent=2))


@click.group(cls=McugenGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mcugen")
def main() -> None:
    """Compile a TensorFlow Lite int8 model for a microcontroller and prove it on the board."""


@main.command()
@click.argument("model", type=click.Path(path_type=str))
@click.option("--board", "board_id", help="Say whether the model fits this board (see `mcugen boards`).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of tables.")
@click.option("--no-tflm", is_flag=True, help="Skip measuring TFLite Micro's arena for comparison.")
@click.option("--report", "report_dir", type=click.Path(file_okay=False, path_type=str),
              help="Also write inspect.md and layers.png (MACs and live bytes per layer) here.")
@KERNELS_OPTION
@MEMORY_OPTION
def inspect(model: str, board_id: str | None, as_json: bool, no_tflm: bool, report_dir: str | None, kernels: str,
            memory: str) -> None:
    """What MODEL needs (ops, MACs, weights, arena per memory strategy) and whether it fits a board."""
    from .analysis import analyze_model
    from .boards import get_board
    from .fit import arena_budget, check_fit
    from .render import print_fit, print_model_report

    board = get_board(board_id) if board_id else None  # an unknown board fails before the work
    variant = (board.target if board else HOST).variant(kernels)
    _, report = analyze_model(model, with_tflm=not no_tflm, variant=variant, memory=memory,
                              arena_budget=arena_budget(board) if board else None)
    flash_bytes = report.constants_bytes if report.constants_bytes is not None else report.weights_bytes
    verdict = check_fit(flash_bytes, report.arena_bytes, board) if board else None
    if report_dir:
        from pathlib import Path

        from .inspect_report import write_inspect_report

        write_inspect_report(report, Path(report_dir), verdict, board)
    if as_json:
        obj = report.to_json()
        if verdict is not None:
            obj["fits"] = verdict.fits
            obj["fit"] = verdict.to_json()
        _print_json(obj)
    else:
        out = _console()
        print_model_report(out, report)
        if verdict is not None and board is not None:
            print_fit(out, verdict, board)
    problems = []
    if report.unsupported:
        groups: dict[str, list[int]] = {}
        for r in report.layers:
            if not r.supported:
                groups.setdefault(r.op, []).append(r.index)
        named = [f"{op} (layer {idx[0]}" + (f" and {len(idx) - 1} more)" if len(idx) > 1 else ")")
                 for op, idx in groups.items()]
        problems.append(f"{report.model} uses ops mcugen cannot compile yet: {', '.join(named)}")
    if report.refusal:
        problems.append(f"{report.model} cannot be compiled: {report.refusal}")
    if verdict is not None and not verdict.fits:
        problems.append(f"{report.model} does not fit {verdict.board}: {verdict.shortfall()}")
    if problems:
        fail("; ".join(problems), EXIT_VERDICT)


@main.command()
@click.argument("model", type=click.Path(path_type=str))
@click.option("-o", "--output", "out_path", required=True, type=click.Path(dir_okay=False, path_type=str),
              help="The int8 .tflite to write (written whole or not at all).")
@click.option("--calibration", "calibration_path", required=True, type=click.Path(path_type=str),
              help="Representative inputs: a folder of images (searched recursively, read as bench --data reads "
                   "them) or a float .npy [N, *input_shape] (for ONNX in its own layout, e.g. NCHW).")
@click.option("--edges", type=click.Choice(["int8", "uint8", "float"]), default="int8", show_default=True,
              help="Type of the model's inputs and outputs: int8, uint8, or float (float32 kept at the edges "
                   "through QUANTIZE / DEQUANTIZE).")
@click.option("--data", "data_dir", type=click.Path(file_okay=False, path_type=str),
              help="A labeled image folder (one subfolder per class, as bench --data takes): report the float "
                   "and the int8 model's top-1 accuracy on it.")
@click.option("--pixel-range", type=click.Choice(["0-1", "0-255", "-1-1"]), default=None,
              help="Images: the range pixels 0..255 map to, as the float model was trained [default: 0-1].")
@click.option("--mean", help="Images: per-channel mean, R,G,B or one value, in --pixel-range units (as bench).")
@click.option("--std", help="Images: per-channel std, R,G,B or one value, each above 0 (as bench).")
@click.option("--channels", "channel_order", type=click.Choice(["rgb", "bgr"]), default="rgb", show_default=True,
              help="Images: channel order of a 3-channel input.")
@click.option("--grayscale", is_flag=True, help="Images: each pixel's luma in all three channels (as bench).")
@click.option("--resize", type=click.Choice(["crop", "stretch"]), default="crop", show_default=True,
              help="Images: centre crop to the input's aspect ratio then resize, or stretch the whole image.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@click.option("-v", "--verbose", is_flag=True, help="Show TensorFlow's and onnx2tf's own output.")
def quantize(model: str, out_path: str, calibration_path: str, edges: str, data_dir: str | None,
             pixel_range: str | None, mean: str | None, std: str | None, channel_order: str, grayscale: bool,
             resize: str, as_json: bool, verbose: bool) -> None:
    """Quantize a float Keras (.keras, .h5, SavedModel) or ONNX MODEL to an int8 .tflite mcugen compiles."""
    from .preprocess import PreprocessOptions
    from .quantize import print_summary, quantize_model

    options = PreprocessOptions.parse(mean=mean, std=std, channel_order=channel_order, grayscale=grayscale,
                                      resize=resize)
    result = quantize_model(model, out_path, calibration_path, edges=edges, data_dir=data_dir,
                            pixel_range=pixel_range, options=options, verbose=verbose)
    if as_json:
        _print_json(result.to_json())
        return
    out = _console()
    print_summary(out, result)
    out.print(f"next: mcugen generate {out_path}", highlight=False)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the boards as a JSON list.")
def boards(as_json: bool) -> None:
    """The boards mcugen knows, one data file each under boards/."""
    from .boards import list_boards
    from .render import print_boards

    found = list_boards()
    if as_json:
        from .apps import board_apps

        _print_json([{**b.to_json(), "apps": board_apps(b)} for b in found])
    else:
        print_boards(_console(), found)


def _detect_options(command: Any) -> Any:
    """--detect and its thresholds (generate and export): the head mcugen_model_boxes() runs."""
    options = [
        click.option("--detect", "detect_kind", default="auto", show_default=True,
                     type=click.Choice(["auto", "none", "ssd", "fomo", "yolo"]),
                     help="Detection head compiled with the model (mcugen_model_boxes()): auto is ssd for a model "
                          "ending in TFLite_Detection_PostProcess, else none."),
        click.option("--score-threshold", type=float, default=None,
                     help="Detection: the score a box needs (0..1) [default: 0.5]."),
        click.option("--iou-threshold", type=float, default=None,
                     help="Detection (yolo): drop a box overlapping a better one of its class by more [default: 0.5]."),
        click.option("--max-boxes", type=int, default=None, help="Detection: boxes returned at most [default: 10]."),
        click.option("--anchors", default=None, metavar="W,H,...",
                     help="Detection (yolo): the anchors' widths and heights in grid cells, one pair per anchor."),
        click.option("--yolo-layout", type=click.Choice(["grid", "v5", "v8"]), default=None,
                     help="Detection (yolo): grid [1,S,S,A*(5+C)] (needs --anchors), v5 [1,N,5+C] or v8 [1,4+C,N] "
                          "(Ultralytics' exports) [default: from the output's shape: rank 4 grid; [1,A,B] v5 "
                          "when A > B, v8 when B > A]."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _detect_request(kind: str, score_threshold: float | None, iou_threshold: float | None, max_boxes: int | None,
                    anchors: str | None, yolo_layout: str | None = None):
    from .detection import DetectRequest, parse_anchors

    return DetectRequest(kind, score_threshold, iou_threshold, max_boxes, parse_anchors(anchors), yolo_layout)


@main.command()
@click.argument("model", type=click.Path(path_type=str))
@click.option("--board", "board_id", default="qemu-cm7", show_default=True,
              help="Target board (see `mcugen boards`), or 'host' for a plain C project built with cc.")
@click.option("-o", "--output", "out_dir", default="firmware_out", show_default=True,
              type=click.Path(file_okay=False, path_type=str), help="Project folder to write (replaced whole).")
@click.option("--app", "app_id", default="bench", show_default=True,
              help="What the firmware does with the model: bench, person-led, capture, mlperf-tiny "
                   "(see `mcugen boards` for which board builds which).")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
              help="An application option (repeatable), e.g. --set threshold=0.6 --set leds=person=green.")
@click.option("--no-fit-check", is_flag=True,
              help="Write the project even if the model does not fit the board (as inspect judges it).")
@KERNELS_OPTION
@MEMORY_OPTION
@_detect_options
def generate(model: str, board_id: str, out_dir: str, app_id: str, settings: tuple[str, ...], kernels: str,
             memory: str, no_fit_check: bool, detect_kind: str, score_threshold: float | None,
             iou_threshold: float | None, max_boxes: int | None, anchors: str | None,
             yolo_layout: str | None) -> None:
    """Compile MODEL ahead of time to C and write a project for BOARD running APP."""
    from .generate import HOST_TARGET, generate_host_project

    detect = _detect_request(detect_kind, score_threshold, iou_threshold, max_boxes, anchors, yolo_layout)
    if board_id == HOST_TARGET:
        result = generate_host_project(model, out_dir, kernels, memory, detect)
        module = result.module
        click.echo(f"wrote {out_dir}/: {len(result.files)} files; {len(result.plan.graph.operators)} layers "
                   f"({result.plan.strategy} memory plan), arena "
                   f"{module.arena_bytes:,} B, constants {module.weights_bytes:,} B")
        if result.detection is not None:
            from .detection import describe

            click.echo(f"boxes: {describe(result.detection)} (mcugen_model_boxes())")
        click.echo(f"build it with: make -C {out_dir}")
        return
    from .boards import get_board
    from .firmware import generate_firmware_project

    board = get_board(board_id)
    fw = generate_firmware_project(model, board, out_dir, app=app_id, settings=settings, kernels=kernels,
                                   memory=memory, fit_check=not no_fit_check, detect=detect)
    module = fw.model.module
    click.echo(f"wrote {out_dir}/: PlatformIO project for {board.id} ({board.name}), app {fw.app}; "
               f"{len(fw.model.plan.graph.operators)} layers ({module.variant} kernels, {fw.model.plan.strategy} "
               f"memory plan), "
               f"arena {module.arena_bytes:,} B, constants {module.weights_bytes:,} B; firmware {fw.build_id}")
    if fw.model.detection is not None:
        from .detection import describe

        click.echo(f"boxes: {describe(fw.model.detection)} (mcugen_model_boxes(); recorded in mcugen.json)")
    click.echo(f"next: mcugen build {out_dir}")


def _export_formats() -> list[str]:
    from .export import export_formats

    return list(export_formats())


@main.command("export")
@click.argument("model", type=click.Path(path_type=str))
@click.option("--format", "fmt", required=True, type=click.Choice(_export_formats()),
              help="The build system the library is laid out for.")
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False, path_type=str),
              help="Folder to write the library into (replaced if mcugen made it).")
@click.option("--name", help="The library's name, the prefix of every public symbol, macro and file "
                             "[default: from the model's file name].")
@click.option("--board", "board_id", help="Compile for this board's core and check the model fits it.")
@click.option("--core", help="Compile for this core (e.g. cortex-m4) without a board.")
@click.option("--no-fit-check", is_flag=True, help="With --board: export even if the model does not fit.")
@KERNELS_OPTION
@MEMORY_OPTION
@_detect_options
def export(model: str, fmt: str, out_dir: str, name: str | None, board_id: str | None, core: str | None,
           no_fit_check: bool, kernels: str, memory: str, detect_kind: str, score_threshold: float | None,
           iou_threshold: float | None, max_boxes: int | None, anchors: str | None,
           yolo_layout: str | None) -> None:
    """Write MODEL as a C library for your own firmware: CMake, Zephyr, ESP-IDF, Arduino, PlatformIO or plain."""
    from .export import export_library

    lib = export_library(model, fmt, out_dir, name, board_id=board_id, core=core, kernels=kernels,
                         memory=memory, fit_check=not no_fit_check,
                         detect=_detect_request(detect_kind, score_threshold, iou_threshold, max_boxes, anchors,
                                                yolo_layout))
    module = lib.model.module
    click.echo(f"wrote {out_dir}/: {lib.format.title} '{lib.name}', {len(lib.files)} files; "
               f"{len(lib.model.plan.graph.operators)} layers ({module.variant} kernels, "
               f"{lib.model.plan.strategy} memory plan), arena {module.arena_bytes:,} B, "
               f"constants {module.weights_bytes:,} B")
    click.echo(f"API: {lib.public_header} ({lib.name}_model_input/_invoke/_output); "
               f"use it: {lib.format.usage.replace('<name>', lib.name).replace('<NAME>', lib.name.upper())}"
               .replace("<folder>", out_dir))


@main.command()
@click.argument("project", default="firmware_out", type=click.Path(file_okay=False, path_type=str))
@click.option("--json", "as_json", is_flag=True, help="Print the memory report as JSON.")
@click.option("-v", "--verbose", is_flag=True, help="Show PlatformIO's output.")
def build(project: str, as_json: bool, verbose: bool) -> None:
    """Build PROJECT with PlatformIO and report flash and RAM per region against the board."""
    from .build import build_project
    from .render import print_build

    report = build_project(project, verbose=verbose)
    if as_json:
        _print_json(report.to_json())
    else:
        print_build(_console(), report)


@main.command()
@click.argument("project", default="firmware_out", type=click.Path(file_okay=False, path_type=str))
@click.option("--port", help="The board's serial port (default: found by the USB ids in the board file).")
@click.option("--no-upload", is_flag=True, help="Only check which firmware the board runs.")
@click.option("--stop", is_flag=True, help="Emulated boards: stop the QEMU an earlier flash left running.")
@click.option("--wait", "wait_seconds", default=20.0, show_default=True,
              help="Seconds to wait for the firmware's HELLO after the upload.")
def flash(project: str, port: str | None, no_upload: bool, stop: bool, wait_seconds: float) -> None:
    """Upload PROJECT's firmware to its board, then check the board answers with this model."""
    from .flash import flash_project, stop_emulated

    if stop:
        click.echo("stopped" if stop_emulated(project) else "no emulated board was running this project")
        return
    result = flash_project(project, port, upload=not no_upload, wait_seconds=wait_seconds)
    what = "booted in QEMU" if result.board.emulated and result.uploaded else \
        ("flashed" if result.uploaded else "checked")
    click.echo(f"{what}: {result.board.id} on {result.port} runs {result.hello.build_id} "
               f"(model SHA-256 {result.hello.model_sha256_hex[:12]}, matches {project})")
    if result.board.emulated and result.uploaded:
        click.echo(f"stop it with: mcugen flash {project} --stop")


@main.command()
@click.option("--port", help="The board's serial port: a device path, socket://HOST:PORT or any pyserial URL.")
@click.option("--emulate", "emulate_dir", type=click.Path(file_okay=False, path_type=str),
              help="Boot this generated capture project in QEMU (frames are a test pattern there).")
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False, path_type=str),
              help="Folder for the PNG files (the --data layout: OUT/LABEL/NNNN.png).")
@click.option("--count", default=1, show_default=True, type=click.IntRange(min=1), help="Frames to take.")
@click.option("--label", default="unlabeled", show_default=True,
              help="Class subfolder to save into (one per class makes a --data folder).")
@click.option("--baud", default=115200, show_default=True, help="Baud rate for a real serial port.")
def capture(port: str | None, emulate_dir: str | None, out_dir: str, count: int, label: str, baud: int) -> None:
    """Take camera frames from a board running `--app capture` and save them as PNG files."""
    from contextlib import ExitStack
    from pathlib import Path

    from .capture import capture_to_folder
    from .serial_link import open_link

    if (port is None) == (emulate_dir is None):
        raise McugenError("give exactly one of --port URL or --emulate PROJECT")
    with ExitStack() as stack:
        if emulate_dir is not None:
            from .emulator import Emulator

            board, elf = _built_elf(emulate_dir)
            port = stack.enter_context(Emulator(board, elf)).url
        client = stack.enter_context(open_link(port, baud=baud, timeout=5.0))
        saved = capture_to_folder(client, Path(out_dir), label, count)
    click.echo(f"saved {len(saved)} frame(s) to {Path(out_dir) / label}/ ({saved[0].name} .. {saved[-1].name})")


def _built_elf(project: str) -> tuple[Any, Any]:
    """The board and ELF of a generated project, building it first if needed."""
    from .boards import get_board
    from .build import build_project
    from .firmware import built_elf_path, read_metadata

    meta = read_metadata(project)
    board = get_board(meta["board"])
    if not board.emulated:
        raise McugenError(f"{board.id} is a real board, not an emulated one",
                          f"flash it with: mcugen flash {project}, then bench with --port")
    elf = built_elf_path(project, meta["env"])
    if not elf.is_file():
        click.echo(f"building {project} first ...", err=True)
        elf = build_project(project).elf
    return board, elf


@main.command()
@click.argument("project", default="firmware_out", type=click.Path(file_okay=False, path_type=str))
def emulate(project: str) -> None:
    """Boot PROJECT's firmware in QEMU and keep it running until Ctrl-C."""
    import time

    from .emulator import Emulator

    board, elf = _built_elf(project)
    with Emulator(board, elf) as emu:
        click.echo(f"{board.id} running in QEMU ({board.qemu['machine']}); serial port: {emu.url}")
        click.echo(f"benchmark it with: mcugen bench --port {emu.url} --model MODEL --random 10")
        click.echo("Ctrl-C stops it.")
        try:
            while True:
                emu.check_alive()
                time.sleep(0.5)
        except KeyboardInterrupt:
            click.echo("stopping QEMU")
            interrupted = True
        else:
            interrupted = False
    if interrupted:  # QEMU is stopped by now; README: Ctrl-C exits 130
        sys.exit(130)


@main.command()
@click.option("--model", "model_path", required=True, type=click.Path(path_type=str),
              help="The .tflite the firmware was generated from (checked against the board's hash).")
@click.option("--data", "data_dir", type=click.Path(file_okay=False, path_type=str),
              help="Image folder with one subfolder per class (labels.txt gives the output order); for a "
              "project generated with --detect, a folder of images with YOLO labels (IMAGE.txt, or Ultralytics' "
              "images/ and labels/) or --boxes: mAP@0.5, precision and recall.")
@click.option("--boxes", "boxes_json", type=click.Path(dir_okay=False, path_type=str),
              help="--data on a detector: the ground-truth boxes as a COCO JSON file (images by file_name, bbox "
              "[x,y,w,h] in pixels; categories in sorted id order, or by name through labels.txt).")
@click.option("--vectors", multiple=True, type=click.Path(path_type=str),
              help="A .npy file of inputs (repeatable).")
@click.option("--random", "n_random", type=click.IntRange(min=1), help="Run N random inputs.")
@click.option("--port", help="The board's serial port: a device path, socket://HOST:PORT or any pyserial URL.")
@click.option("--emulate", "emulate_dir", type=click.Path(file_okay=False, path_type=str),
              help="Boot this generated project in QEMU, benchmark it, shut QEMU down.")
@click.option("--baud", default=115200, show_default=True, help="Baud rate for a real serial port.")
@click.option("--timeout", default=5.0, show_default=True, help="Seconds to wait for a reply before retrying.")
@click.option("--pixel-range", type=click.Choice(["auto", "0-1", "0-255", "-1-1"]), default="auto",
              show_default=True, help="--data: real-valued range image pixels 0..255 map to before quantization; "
              "auto: the range the model's input represents (its dtype, scale and zero point).")
@click.option("--mean", help="--data: per-channel normalisation x = (pixel_in_range - mean) / std, applied to "
              "each resized pixel after --pixel-range has mapped it and just before quantization to the input's "
              "dtype. R,G,B (in that order, whatever --channels) or one value for every channel, in --pixel-range "
              "units, e.g. 0.485,0.456,0.406 with --pixel-range 0-1. Default 0.")
@click.option("--std", help="--data: the divisor of --mean's formula, R,G,B or one value, each above 0, "
              "e.g. 0.229,0.224,0.225. Default 1.")
@click.option("--channels", "channel_order", type=click.Choice(["rgb", "bgr"]), default="rgb", show_default=True,
              help="--data: channel order of a 3-channel input; bgr puts blue in channel 0 (models trained on "
              "OpenCV or Caffe images).")
@click.option("--grayscale", is_flag=True, help="--data: give a 3-channel input each pixel's luma in all three "
              "channels, 0.299 R + 0.587 G + 0.114 B (BT.601, in 8.8 fixed point 77, 150, 29 / 256, as on the "
              "device). A 1-channel input always gets this luma, without the flag.")
@click.option("--resize", type=click.Choice(["crop", "stretch"]), default="crop", show_default=True,
              help="--data: crop: centre crop to the input's aspect ratio, then box resize to its size; stretch: "
              "box resize the whole image to the input's size (the aspect ratio is not kept).")
@click.option("--project", "project_dir", type=click.Path(file_okay=False, path_type=str),
              help="With --port: the generated project the board runs, so the report has its build's flash and "
              "RAM use (with --emulate, that folder is the project).")
@click.option("--report", "report_dir", type=click.Path(file_okay=False, path_type=str),
              help="Write report.json, report.md and PNG plots here.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@click.option("--trace", is_flag=True, help="Log every frame on the serial link to stderr.")
def bench(model_path: str, data_dir: str | None, boxes_json: str | None, vectors: tuple[str, ...],
          n_random: int | None, port: str | None, emulate_dir: str | None, baud: int, timeout: float,
          pixel_range: str, mean: str | None, std: str | None,
          channel_order: str, grayscale: bool, resize: str, project_dir: str | None, report_dir: str | None,
          as_json: bool, trace: bool) -> None:
    """Benchmark MODEL on a board over its serial port: latency, agreement with TFLite Micro, accuracy."""
    from contextlib import ExitStack
    from pathlib import Path

    from .bench import project_detection_head, run_bench
    from .bench_inputs import generated_inputs, image_inputs, vector_inputs
    from .bench_report import detection_console_lines, write_report
    from .loader import load_model
    from .preprocess import PreprocessOptions
    from .render import print_bench, progress_bar
    from .serial_link import open_link

    if sum(x is not None and x != () for x in (data_dir, vectors, n_random)) != 1:
        raise McugenError("give exactly one of --data DIR, --vectors FILE.npy or --random N")
    if boxes_json is not None and data_dir is None:
        raise McugenError("--boxes labels the images of --data DIR", "give --data DIR with it, or leave --boxes out")
    if (port is None) == (emulate_dir is None):
        raise McugenError("give exactly one of --port URL or --emulate PROJECT")
    options = PreprocessOptions.parse(mean=mean, std=std, channel_order=channel_order, grayscale=grayscale,
                                      resize=resize)
    if data_dir is None and (pixel_range != "auto" or not options.is_default):
        given = [flag for flag, on in (("--pixel-range", pixel_range != "auto"), ("--mean", mean is not None),
                                       ("--std", std is not None), ("--channels", channel_order != "rgb"),
                                       ("--grayscale", grayscale), ("--resize", resize != "crop")) if on]
        raise McugenError(f"{', '.join(given)} pre-process --data images; --vectors and --random are input tensors "
                          "already", f"leave out {', '.join(given)}, or bench an image folder with --data DIR")
    if project_dir is not None and emulate_dir is not None:
        raise McugenError("--project is for --port; with --emulate PROJECT that folder is the project",
                          "leave out --project")
    project = Path(project_dir or emulate_dir) if (project_dir or emulate_dir) else None
    graph = load_model(model_path)  # a missing or bad model is refused before the project is read
    if project_dir is not None:
        import hashlib

        from .firmware import read_metadata

        meta = read_metadata(project_dir)
        if meta.get("model_sha256") != hashlib.sha256(Path(model_path).read_bytes()).hexdigest():
            raise McugenError(f"{project_dir} was generated from another model than {model_path}",
                              "give --project the folder generated from this model, or leave --project out")
    tensors = graph.input_tensors()
    if data_dir is not None:
        # A project generated with --detect benches its images as a detector (mAP), else a classifier.
        head = project_detection_head(project)
        inputs = image_inputs(Path(data_dir), tensors, graph.output_tensors(), pixel_range, options, head,
                              Path(boxes_json) if boxes_json else None)
    elif vectors:
        inputs = vector_inputs([Path(v) for v in vectors], tensors)
    else:
        inputs = generated_inputs(int(n_random or 0), tensors)

    with ExitStack() as stack:
        if emulate_dir is not None:
            from .emulator import Emulator

            board, elf = _built_elf(emulate_dir)
            emu = stack.enter_context(Emulator(board, elf))
            port = emu.url
        client = stack.enter_context(open_link(port, baud=baud, timeout=timeout, model_path=Path(model_path),
                                               trace=trace))
        with progress_bar(_console(stderr=True), len(inputs.sets), enabled=not as_json) as advance:
            report = run_bench(client, Path(model_path), graph, inputs, progress=advance, project=project)
    if report_dir:
        write_report(report, Path(report_dir))
    if as_json:
        _print_json(report.to_json())
    else:
        print_bench(_console(), report, report_dir)
        for line in detection_console_lines(report):
            click.echo(line)
    partial = f"; partial report in {report_dir}" if report_dir else ""
    if report.interrupted:
        fail(f"interrupted after {report.inputs} of {len(inputs.sets)} inputs{partial}", 130)
    if report.failure:
        fail(f"the benchmark stopped after {report.inputs} of {len(inputs.sets)} inputs, at {report.failure}{partial}",
             report.failure_exit_code)
    if report.bit_exact != report.inputs:
        fail(f"{report.inputs - report.bit_exact} of {report.inputs} outputs differ from TFLite Micro", EXIT_VERDICT)


@main.command()
@click.option("--port", help="The board's serial port: a device path, socket://HOST:PORT or any pyserial URL.")
@click.option("--emulate", "emulate_dir", type=click.Path(file_okay=False, path_type=str),
              help="Boot this generated project (an emulated board) in QEMU, feed it, shut QEMU down.")
@click.option("--images", "images_dir", type=click.Path(file_okay=False, path_type=str),
              help="A folder of images (searched recursively), each sent as a camera frame.")
@click.option("--vectors", multiple=True, type=click.Path(path_type=str),
              help="A .npy file of input tensors (repeatable), each sent as a frame.")
@click.option("--project", "project_dir", type=click.Path(file_okay=False, path_type=str),
              help="The generated project the board runs (default: the --emulate folder): its labels, camera "
                   "format and pixel mapping.")
@click.option("--model", "model_path", type=click.Path(path_type=str),
              help="The .tflite the firmware came from: checked against the board, and its outputs compared "
                   "with tflite-micro's on the same input.")
@click.option("--baud", default=115200, show_default=True, help="Baud rate for a real serial port.")
@click.option("--timeout", default=60.0, show_default=True, help="Seconds to wait for each frame's result.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON list, a result per frame.")
@click.option("--trace", is_flag=True, help="Log every frame on the serial link to stderr.")
def feed(port: str | None, emulate_dir: str | None, images_dir: str | None, vectors: tuple[str, ...],
         project_dir: str | None, model_path: str | None, baud: int, timeout: float, as_json: bool,
         trace: bool) -> None:
    """Send images or vectors as camera frames to a camera app; print class, score and LEDs per frame
    (detect-led: its boxes too)."""
    from contextlib import ExitStack
    from pathlib import Path

    from .boards import get_board
    from .feed import camera_spec, feed as run_feed, image_items, input_tensor_from_hello, vector_items
    from .firmware import read_metadata
    from .app_config import preprocess_options
    from .preprocess import PreprocessParams
    from .render import print_feed
    from .serial_link import open_link
    from .validate import load_vectors

    if (images_dir is None) == (not vectors):
        raise McugenError("give exactly one of --images DIR or --vectors FILE.npy")
    if (port is None) == (emulate_dir is None):
        raise McugenError("give exactly one of --port URL or --emulate PROJECT")
    project_dir = project_dir or emulate_dir
    meta = read_metadata(project_dir) if project_dir else None
    if meta is not None and meta.get("app") not in ("person-led", "detect-led"):
        raise McugenError(f"{project_dir} runs app '{meta.get('app')}', which takes no camera frames",
                          "generate with --app person-led (a classifier) or --app detect-led (a detector)")
    head = None
    if meta is not None and meta.get("app") == "detect-led":
        from .detection import DetectionHead

        head = DetectionHead.from_json(meta.get("detection") or {})
    if meta is not None and not (meta.get("camera") or {}).get("host_fed"):
        raise McugenError(f"{project_dir} takes its frames from the board's camera sensor, not from the host",
                          f"to feed it images, generate with --set camera=host (mcugen generate ... -o {project_dir})")
    with ExitStack() as stack:
        if emulate_dir is not None:
            from .emulator import Emulator

            board, elf = _built_elf(emulate_dir)
            port = stack.enter_context(Emulator(board, elf)).url
        client = stack.enter_context(open_link(port, baud=baud, timeout=5.0, trace=trace,
                                               model_path=Path(model_path) if model_path else None))
        info = client.hello()
        if meta is not None and info.model_sha256_hex != meta["model_sha256"]:
            raise McugenError(f"the board runs firmware for another model than {project_dir} was generated from",
                              f"flash it: mcugen flash {project_dir}")
        board = get_board(info.board) if info.board else None
        tensor = input_tensor_from_hello(info)
        pixel_range = tuple(meta["pixel_range"]) if meta and meta.get("pixel_range") else None
        # The app's own pre-processing choices, as generate recorded them (resize, channels, mean, std).
        params = PreprocessParams.for_tensor(tensor, pixel_range,
                                             preprocess_options((meta or {}).get("app_options", {})))
        notes: list[str] = []
        if images_dir is not None:
            items = image_items(Path(images_dir), camera_spec(meta, board), params)
        else:
            named = []
            for v in vectors:
                sets, _ = load_vectors([Path(v)], [tensor])
                named += [(f"{Path(v).name}[{i}]", one[0]) for i, one in enumerate(sets)]
            items, notes = vector_items(named, params)
        reference = None
        if model_path:
            from .reference import TflmInterpreter

            reference = TflmInterpreter(model_path)
        labels = (meta or {}).get("app_options", {}).get("labels")
        led_names = [led.name for led in board.leds] if board else []
        results = run_feed(client, items, labels=labels, led_names=led_names, reference=reference,
                           timeout=timeout, head=head, n_outputs=max(1, len(info.outputs)),
                           output_bytes=info.outputs[0].nbytes if info.outputs else None)
    if as_json:
        _print_json([r.to_json() for r in results])
    else:
        print_feed(_console(), results, notes, params.note)
        if head is not None:
            from .feed import print_boxes

            print_boxes(_console(), results, labels)
    bad = [r for r in results if not r.ok]
    if bad:
        fail(f"{len(bad)} of {len(results)} frames failed a check (first: {bad[0].source})", EXIT_VERDICT)


@main.command()
@click.argument("model", type=click.Path(path_type=str))
@click.option("--inputs", "n_random", default=10, show_default=True, type=click.IntRange(min=0),
              help="Random inputs to run.")
@click.option("--vectors", multiple=True, type=click.Path(path_type=str),
              help="A .npy file of real inputs (repeatable).")
@click.option("--seed", default=0, show_default=True, help="Seed for the random inputs.")
@click.option("--sanitize", is_flag=True, help="Build with AddressSanitizer and UBSan.")
@click.option("--float", "float_model", type=click.Path(path_type=str), default=None,
              help="The float .tflite MODEL was quantized from: report RMSE, MAE, L2r, cosine and top-1 agreement "
                   "of the dequantized int8 outputs against its outputs on the same inputs.")
@click.option("--per-layer", is_flag=True,
              help="Compare every intermediate tensor with tflite-micro's and name the first layer that differs.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@KERNELS_OPTION
@MEMORY_OPTION
def validate(model: str, n_random: int, vectors: tuple[str, ...], seed: int, sanitize: bool, float_model: str | None,
             per_layer: bool, as_json: bool, kernels: str, memory: str) -> None:
    """Run MODEL's generated C on the host against the tflite-micro reference, bit for bit."""
    from pathlib import Path

    from .render import print_validation
    from .validate import validate_model

    if n_random == 0 and not vectors:
        raise McugenError("nothing to run: give --inputs N (N > 0) or --vectors FILE.npy")
    report = validate_model(model, n_random=n_random, vectors=[Path(v) for v in vectors], seed=seed,
                            sanitize=sanitize, kernels=kernels, memory=memory,
                            float_model=Path(float_model) if float_model else None, per_layer=per_layer)
    if as_json:
        _print_json(report.to_json())
    else:
        print_validation(_console(), report)
    first = report.layers.first_difference if report.layers else None
    where = f"; the first layer that differs is layer {first.layer} ({first.op}, output {first.name})" if first else ""
    if report.bit_exact != report.inputs:
        fail(f"{report.model}: {report.inputs - report.bit_exact} of {report.inputs} inputs differ from "
             f"TFLite Micro (largest difference {report.max_abs_diff:g}); first at input {report.first_mismatch}"
             + where, EXIT_VERDICT)
    if first is not None:
        fail(f"{report.model}: every output matches TFLite Micro's but an intermediate tensor does not{where}",
             EXIT_VERDICT)


if __name__ == "__main__":  # pragma: no cover
    main()
