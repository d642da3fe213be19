"""`mcugen quantize`: full-integer post-training quantization of a Keras, SavedModel or ONNX
float model into the int8 .tflite that the rest of mcugen compiles.

The steps, each refusing bad input in one line before anything is written:
1. MODEL opens as a :class:`~mcugen.quantize_sources.FloatModel` (ONNX through onnx2tf).
2. The calibration inputs: an image folder read through bench --data's pipeline into the
   float input (mcugen.preprocess, with a float32 lookup table), or a .npy [N, *input].
3. TensorFlow's converter: Optimize.DEFAULT, the calibration inputs as representative
   dataset, TFLITE_BUILTINS_INT8 only, the edges' types as asked (int8, uint8, or float32
   through QUANTIZE / DEQUANTIZE).
4. The result must pass mcugen's loader and inspect's checks (every op compiled).
5. How well the int8 model agrees with the float one on the calibration inputs (float side
   run by TensorFlow or onnxruntime, int8 side by the tflite-micro reference interpreter;
   metrics of mcugen.float_compare), and with --data both models' top-1 accuracy.
6. OUT.tflite is written atomically (a temporary file renamed over it), so a failure at any
   step leaves no file or the previous one whole.
"""

from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from .bench_inputs import IMAGE_SUFFIXES, image_inputs, quantize_image
from .errors import McugenError
from .float_compare import FloatReport, dequantize, is_class_vector, output_metrics
from .ir import NUMPY_DTYPES, Graph, Tensor
from .preprocess import PreprocessOptions, PreprocessParams, round_half_away_from_zero
from .quantize_sources import FloatModel, import_tensorflow, last_log_line, open_float_model, quiet_output
from .reference import TflmInterpreter

EDGE_CHOICES = ("int8", "uint8", "float")
# Nothing in a float model says which pixel range it was trained on; 0-1 is Keras's and
# PyTorch's usual one (images / 255), and the summary says it was the default.
DEFAULT_PIXEL_RANGE = "0-1"
# Fewer calibration inputs than this give ranges from a handful of activations: refused.
MIN_SAMPLES = 10
# TensorFlow's guide asks for about 100 to 500 representative inputs; fewer are noted.
ADVISED_SAMPLES = 100
# Below these the summary warns: a sound int8 conversion of a classifier stays well above them
# (cosine of the outputs over all inputs; share of inputs with the same top-1 class).
WARN_COSINE = 0.99
WARN_TOP1 = 0.9


class QuantizeError(McugenError):
    """The calibration data, the options or the conversion fail; nothing is written."""


class QuantizedModelRefused(McugenError):
    """The int8 model TensorFlow made is one mcugen cannot compile (nothing is written)."""

    exit_code = 1


@dataclass
class Calibration:
    samples: np.ndarray  # float32 [N, *input_shape[1:]] in the converted model's layout
    source: str  # what they were made from, for the summary
    notes: list[str] = field(default_factory=list)


@dataclass
class Accuracy:
    """Top-1 accuracy on a labeled folder (bench --data's layout) of both models."""

    images: int
    float_correct: int
    int8_correct: int
    agree: int  # images on which both models pick the same class
    class_names: list[str]

    def to_json(self) -> dict[str, Any]:
        return {"images": self.images, "float_accuracy": self.float_correct / self.images,
                "int8_accuracy": self.int8_correct / self.images, "top1_agree": self.agree,
                "classes": self.class_names}


@dataclass
class QuantizeResult:
    output: Path
    model: str
    kind: str  # Keras, SavedModel, ONNX
    edges: str
    calibration: Calibration
    agreement: FloatReport
    accuracy: Accuracy | None
    layers: int
    weights_bytes: int
    arena_bytes: int
    inputs: list[Tensor]
    outputs: list[Tensor]
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"output": str(self.output), "model": self.model, "kind": self.kind, "edges": self.edges,
                "calibration": {"samples": int(self.calibration.samples.shape[0]), "source": self.calibration.source},
                "agreement": self.agreement.to_json(),
                "accuracy": self.accuracy.to_json() if self.accuracy else None,
                "layers": self.layers, "weights_bytes": self.weights_bytes, "arena_bytes": self.arena_bytes,
                "inputs": [_edge_json(t) for t in self.inputs], "outputs": [_edge_json(t) for t in self.outputs],
                "notes": self.notes}


def _edge_json(t: Tensor) -> dict[str, Any]:
    quant = t.quant.to_json() if t.quant is not None else None
    return {"name": t.label(), "shape": list(t.shape), "dtype": str(t.dtype), "quantization": quant}


# ---- calibration inputs --------------------------------------------------------------------


def float_input_tensor(model: FloatModel) -> Tensor:
    """The float model's input as mcugen's pre-processing sees it (float32, no quantization)."""
    return Tensor(0, model.input_name, tuple(model.input_shape), "float32")


def image_params(model: FloatModel, pixel_range: str, options: PreprocessOptions, flag: str) -> PreprocessParams:
    try:
        return PreprocessParams.for_tensor(float_input_tensor(model), pixel_range, options)
    except McugenError as exc:
        raise QuantizeError(f"{flag}: {exc.message}", exc.hint or "give a .npy of input tensors instead") from None


def images_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def load_calibration(path: Path, model: FloatModel, pixel_range: str, options: PreprocessOptions) -> Calibration:
    """The calibration inputs as float32 in the converted model's layout, checked."""
    if path.is_dir():
        images = images_under(path)
        if not images:
            raise QuantizeError(f"--calibration {path} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})",
                                "give a folder of images (subfolders are searched) or a .npy of inputs")
        _require_count(len(images), f"--calibration {path} has {len(images)} image(s)")
        params = image_params(model, pixel_range, options, "--calibration")
        samples = np.concatenate([quantize_image(p, params) for p in images]).astype(np.float32)
        return Calibration(samples, f"{len(images)} images under {path}: {params.describe()}")
    if path.suffix.lower() != ".npy":
        raise QuantizeError(f"--calibration {path} is neither a folder of images nor a .npy file",
                            "give a folder of images or a .npy array [N, *input_shape]")
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise QuantizeError(f"cannot read --calibration {path} as a .npy array: {exc}",
                            "save it with numpy.save(path, array)") from None
    source, converted = tuple(model.source_shape[1:]), tuple(model.input_shape[1:])
    layout = f" ({model.kind} layout)" if source != converted else ""
    want = f"[N, {', '.join(map(str, source))}]{layout}"
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        raise QuantizeError(f"--calibration {path.name} holds {array.dtype} values; the model takes float32 inputs",
                            f"save a float array {want}")
    if array.ndim == len(source) + 2 and array.shape[1] == 1:  # a stack of batch-1 inputs
        array = array[:, 0]
    notes = []
    if tuple(array.shape[1:]) == source:
        samples = model.to_converted_layout(array.astype(np.float32))
        if source != converted:
            notes.append(f"calibration inputs transposed from the {model.kind} layout {list(source)} to the "
                         f"converted model's {list(converted)}")
    elif tuple(array.shape[1:]) == converted:
        samples = array.astype(np.float32)
    else:
        raise QuantizeError(f"--calibration {path.name} has shape {list(array.shape)} but {model.path.name} takes "
                            f"{want}", f"save the inputs stacked as {want}")
    _require_count(samples.shape[0], f"--calibration {path.name} has {samples.shape[0]} input(s)")
    bad = int(np.count_nonzero(~np.isfinite(samples)))
    if bad:
        first = int(np.argwhere(~np.isfinite(samples).reshape(samples.shape[0], -1).all(axis=1))[0][0])
        raise QuantizeError(f"--calibration {path.name} has {bad} non-finite value(s) (NaN or inf), first in input "
                            f"{first}", "calibrate on real inputs, with finite values only")
    return Calibration(samples, f"{samples.shape[0]} inputs from {path.name}", notes)


def _require_count(count: int, what: str) -> None:
    if count < MIN_SAMPLES:
        raise QuantizeError(f"{what}; full-integer quantization needs at least {MIN_SAMPLES}, and "
                            f"{ADVISED_SAMPLES} or more are advised", "calibrate on more inputs like those the model "
                            "will see")


# ---- conversion ----------------------------------------------------------------------------


def convert_to_int8(model: FloatModel, calibration: Calibration, edges: str, verbose: bool) -> bytes:
    tf = import_tensorflow()
    edge_type = {"int8": tf.int8, "uint8": tf.uint8, "float": tf.float32}[edges]

    def representative() -> Iterator[list[np.ndarray]]:
        for sample in calibration.samples:
            yield [sample[None].astype(np.float32)]

    with quiet_output(verbose) as log:
        try:
            converter = model.make_converter()
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.representative_dataset = representative
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            converter.inference_input_type = edge_type
            converter.inference_output_type = edge_type
            return bytes(converter.convert())
        except Exception as exc:  # the converter's errors come in many types, all with a message
            raise QuantizeError(f"TensorFlow could not quantize {model.path.name} to int8: {last_log_line(log, exc)}",
                                "rerun with -v for TensorFlow's log; an op without an int8 TFLite kernel cannot "
                                "be fully quantized") from None


def check_int8(path: Path) -> tuple[Graph, Any]:
    """mcugen's loader and inspect's checks on the new model (every op one mcugen compiles)."""
    from .analysis import analyze_model

    graph, report = analyze_model(path, with_tflm=False)
    if report.unsupported:
        raise QuantizedModelRefused(f"the int8 model uses ops mcugen cannot compile yet: "
                                    f"{', '.join(report.unsupported)}; nothing written",
                                    "change those layers, or run the .tflite with TensorFlow Lite Micro instead")
    if report.refusal:
        hint = None
        if "SOFTMAX" in report.refusal and "QuantizeMultiplierGreaterThanOne" in report.refusal:
            # The converter gave the softmax's input a scale so small that TFLite Micro's own
            # Prepare fails: its logits barely vary on the calibration inputs.
            hint = ("the float model's logits hardly vary on these calibration inputs, as an untrained model's do: "
                    "train it, or calibrate with inputs that tell its classes apart")
        raise QuantizedModelRefused(f"the int8 model cannot be compiled: {report.refusal}; nothing written", hint)
    return graph, report


# ---- float vs int8 -------------------------------------------------------------------------


def to_input_dtype(samples: np.ndarray, t: Tensor) -> np.ndarray:
    """Float inputs as the int8 model's input takes them: quantized by its scale and zero point
    (round half away from zero, clamped, as TFLite's QUANTIZE does), float32 as they are."""
    if t.dtype == "float32":
        return samples.astype(np.float32)
    assert t.quant is not None
    info = np.iinfo(NUMPY_DTYPES[t.dtype])
    q = round_half_away_from_zero(samples.astype(np.float64) / float(t.quant.scale[0])) + int(t.quant.zero_point[0])
    return np.clip(q, info.min, info.max).astype(NUMPY_DTYPES[t.dtype])


def run_int8(reference: Any, graph: Graph, batch: list[np.ndarray]) -> list[list[np.ndarray]]:
    """The int8 model's outputs per input, from the tflite-micro reference interpreter
    (a mcugen.reference.TflmInterpreter of the model)."""
    n_out = len(graph.outputs)
    shape = graph.input_tensors()[0].shape
    return [reference.run([np.asarray(x).reshape(shape)], n_out) for x in batch]


def match_outputs(int8_outputs: list[Tensor], float_outputs: list[np.ndarray]) -> list[int | None]:
    """For each int8 output, the float output it came from: the first unused one of its size, in
    order (the converter keeps a single output; several are ordered by name on both sides)."""
    used: set[int] = set()
    matched: list[int | None] = []
    for t in int8_outputs:
        size = int(np.prod(t.shape))
        j = next((j for j, f in enumerate(float_outputs) if j not in used and f[0].size == size), None)
        if j is not None:
            used.add(j)
        matched.append(j)
    return matched


def agreement(model: FloatModel, reference: Any, graph: Graph, samples: np.ndarray) -> FloatReport:
    """Float vs int8 outputs on the same inputs (the int8 side fed them quantized by its input's
    scale and zero point): cosine, RMSE, top-1 agreement, ... per output (mcugen.float_compare)."""
    inputs, outputs = graph.input_tensors(), graph.output_tensors()
    float_out = model.run(samples)
    int8_out = run_int8(reference, graph, list(to_input_dtype(samples, inputs[0])))
    t_in = inputs[0]
    feed = ("both models fed the calibration inputs; the int8 model "
            + ("the same float32 values" if t_in.dtype == "float32" else
               f"them quantized to {t_in.dtype} (scale {t_in.quant.scale[0]:.6g}, zero point "
               f"{t_in.quant.zero_point[0]})"))
    report = FloatReport(model.path.name, int(samples.shape[0]), feed=feed)
    for i, (t, j) in enumerate(zip(outputs, match_outputs(outputs, float_out))):
        if j is None:
            continue
        predicted = [dequantize(one[i], t) for one in int8_out]
        reference = [np.asarray(float_out[j][k], np.float32).reshape(t.shape) for k in range(samples.shape[0])]
        report.outputs.append(output_metrics(i, t, predicted, reference))
    return report


def accuracy(model: FloatModel, reference: Any, graph: Graph, data_dir: Path, pixel_range: str,
             options: PreprocessOptions) -> Accuracy:
    """Both models' top-1 accuracy on a labeled folder: the int8 model's inputs exactly as bench
    --data makes them (mcugen.bench_inputs), the float model's through the same pipeline into
    its float input."""
    outputs = graph.output_tensors()
    if len(outputs) != 1 or not is_class_vector(outputs[0]):
        shapes = ", ".join(str(list(t.shape)) for t in outputs)
        raise QuantizeError(f"--data measures top-1 accuracy, but the model's output ({shapes}) is not one vector of "
                            "class scores; nothing written", "leave out --data")
    labeled = image_inputs(data_dir, graph.input_tensors(), outputs, pixel_range, options)
    params = image_params(model, pixel_range, options, "--data")
    float_batch = np.concatenate([quantize_image(data_dir / s.source, params) for s in labeled.sets])
    float_top = [int(np.argmax(o)) for o in model.run(float_batch.astype(np.float32))[0]]
    int8_top = [int(np.argmax(o[0])) for o in run_int8(reference, graph, [s.arrays[0] for s in labeled.sets])]
    labels = [s.label for s in labeled.sets]
    return Accuracy(len(labels), sum(f == y for f, y in zip(float_top, labels)),
                    sum(q == y for q, y in zip(int8_top, labels)), sum(f == q for f, q in zip(float_top, int8_top)),
                    labeled.class_names or [])


# ---- the command ---------------------------------------------------------------------------


def check_arguments(model: Path, out: Path, calibration: Path, data_dir: Path | None, edges: str,
                    pixel_options_given: list[str]) -> None:
    """The refusals that need no TensorFlow: before the slow imports."""
    if edges not in EDGE_CHOICES:
        raise QuantizeError(f"--edges must be one of {', '.join(EDGE_CHOICES)}, not '{edges}'")
    if out.suffix.lower() != ".tflite":
        raise QuantizeError(f"-o {out} must name a .tflite file", f"for example -o {model.stem}_int8.tflite")
    if out.is_dir():
        raise QuantizeError(f"-o {out} is a folder", f"name the file to write, e.g. -o {out / 'model_int8.tflite'}")
    if out.resolve() == model.resolve():
        raise QuantizeError(f"-o {out} is the model itself", "write the int8 model to another file")
    if not calibration.exists():
        raise QuantizeError(f"calibration data not found: {calibration}",
                            "give --calibration a folder of images or a .npy array [N, *input_shape]")
    if data_dir is not None and not data_dir.is_dir():
        raise QuantizeError(f"--data folder not found: {data_dir}", "give a folder with one subfolder of images "
                                                                    "per class, as bench --data takes")
    if pixel_options_given and calibration.is_file() and data_dir is None:
        raise QuantizeError(f"{', '.join(pixel_options_given)} pre-process images; --calibration "
                            f"{calibration.name} holds input tensors already",
                            f"leave out {', '.join(pixel_options_given)}, or calibrate on an image folder")


def write_atomically(data: bytes, out: Path) -> None:
    """A temporary file beside OUT, renamed over it: a reader never sees half a model."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = str(out.with_name(f".{out.name}.{os.getpid()}.partial"))
    # Mode 0o666 less the umask, as any file the user writes (mkstemp's would be 0o600).
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def quantize_model(model_path: str | Path, out_path: str | Path, calibration_path: str | Path, edges: str = "int8",
                   data_dir: str | Path | None = None, pixel_range: str | None = None,
                   options: PreprocessOptions | None = None, verbose: bool = False) -> QuantizeResult:
    """MODEL -> OUT.tflite, int8; see the module's docstring for the steps."""
    model_path, out = Path(model_path), Path(out_path)
    calibration_path = Path(calibration_path)
    data = Path(data_dir) if data_dir is not None else None
    options = options or PreprocessOptions()
    given = [flag for flag, on in (("--pixel-range", pixel_range is not None), ("--mean", options.mean is not None),
                                   ("--std", options.std is not None), ("--channels", options.channel_order != "rgb"),
                                   ("--grayscale", options.grayscale), ("--resize", options.resize != "crop")) if on]
    check_arguments(model_path, out, calibration_path, data, edges, given)
    notes = []
    if pixel_range is None and (calibration_path.is_dir() or data is not None):
        notes.append(f"pixels mapped to [0, 1] (--pixel-range {DEFAULT_PIXEL_RANGE}, the default: a float model does "
                     "not say its range; give --pixel-range 0-255 or -1-1 if it was trained on those)")
    pixel_range = pixel_range or DEFAULT_PIXEL_RANGE
    with tempfile.TemporaryDirectory(prefix="mcugen-quantize-") as work:
        work_dir = Path(work)
        with quiet_output(verbose):  # TensorFlow's start-up lines, whichever model imports it first
            model = open_float_model(model_path, work_dir, verbose)
        calibration = load_calibration(calibration_path, model, pixel_range, options)
        count = calibration.samples.shape[0]
        if count < ADVISED_SAMPLES:
            notes.append(f"{count} calibration inputs; {ADVISED_SAMPLES} or more give steadier int8 ranges")
        notes += calibration.notes
        blob = convert_to_int8(model, calibration, edges, verbose)
        # Checked and scored under OUT's own name in the work folder, so messages name it.
        staged = work_dir / out.name
        staged.write_bytes(blob)
        graph, report = check_int8(staged)
        with TflmInterpreter(staged) as reference:
            agree = agreement(model, reference, graph, calibration.samples)
            acc = accuracy(model, reference, graph, data, pixel_range, options) if data is not None else None
        write_atomically(blob, out)
    return QuantizeResult(out, model_path.name, model.kind, edges, calibration, agree, acc, len(graph.operators),
                          report.weights_bytes, report.arena_bytes, graph.input_tensors(), graph.output_tensors(),
                          notes)


# ---- the summary ---------------------------------------------------------------------------


def poor_agreement(report: FloatReport) -> list[str]:
    """A line for each output on which the int8 model follows the float one badly."""
    lines = []
    for o in report.outputs:
        low_cos = o.cos is None or o.cos < WARN_COSINE
        low_top1 = o.top1_agree is not None and o.top1_agree < WARN_TOP1 * o.top1_inputs
        if low_cos or low_top1:
            top1 = f", same top-1 class on {o.top1_agree}/{o.top1_inputs}" if o.top1_agree is not None else ""
            cos = "n/a" if o.cos is None else f"{o.cos:.4f}"
            lines.append(f"output {o.index} ({o.name}) of the int8 model follows the float model poorly (cosine "
                         f"{cos}{top1}): calibrate on more inputs like the real ones, and check that --pixel-range, "
                         "--mean and --std are those the model was trained with")
    return lines


def _metric(value: float | None) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.4g}"


def _edge_text(t: Tensor) -> str:
    if t.quant is None:
        return f"{t.label()} {list(t.shape)} {t.dtype}"
    return (f"{t.label()} {list(t.shape)} {t.dtype} (scale {t.quant.scale[0]:.6g}, zero point "
            f"{t.quant.zero_point[0]})")


def print_summary(console: Any, result: QuantizeResult) -> None:
    from rich.markup import escape
    from rich.table import Table

    console.print(f"wrote {escape(str(result.output))}: int8, {result.edges} edges; {result.layers} layers, "
                  f"{result.weights_bytes:,} B of weights, arena {result.arena_bytes:,} B; passes mcugen's checks")
    for role, tensors in (("input", result.inputs), ("output", result.outputs)):
        for t in tensors:
            console.print(f"  {role}: {escape(_edge_text(t))}")
    console.print(f"calibrated on {escape(result.calibration.source)}")
    table = Table(title=escape(f"float {result.kind} {result.model} vs int8 on the {result.agreement.inputs} "
                               "calibration inputs"), title_justify="left", show_edge=False)
    for col in ("output", "cos", "RMSE", "max |diff|", "top-1 agree"):
        table.add_column(col, justify="left" if col == "output" else "right")
    for o in result.agreement.outputs:
        top1 = "n/a" if o.top1_agree is None else f"{o.top1_agree}/{o.top1_inputs}"
        table.add_row(escape(f"{o.index}: {o.name}"), "n/a" if o.cos is None else f"{o.cos:.5f}", _metric(o.rmse),
                      _metric(o.max_abs_diff), top1)
    console.print(table)
    for line in poor_agreement(result.agreement):
        console.print(f"[yellow]warning:[/yellow] {escape(line)}")
    if result.accuracy is not None:
        a = result.accuracy
        console.print(f"accuracy on {a.images} labeled images: float {a.float_correct / a.images:.1%} "
                      f"({a.float_correct}/{a.images}), int8 {a.int8_correct / a.images:.1%} "
                      f"({a.int8_correct}/{a.images}); same class on {a.agree}/{a.images}")
    for note in result.notes:
        console.print(f"[dim]note: {escape(note)}[/dim]")
