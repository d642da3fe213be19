"""The float models `mcugen quantize` takes, each as a :class:`FloatModel`: what TensorFlow's
TFLite converter starts from, and the model itself run by its own framework (Keras or a
SavedModel by TensorFlow, ONNX by onnxruntime) for the float side of the agreement summary.

Layouts. ``input_shape`` is what the converted TFLite model takes (batch 1), ``source_shape``
what the user's model takes. They differ only for ONNX: onnx2tf turns an NCHW image input into
NHWC, so a .npy in the ONNX layout is transposed (:meth:`FloatModel.to_converted_layout`) and
onnxruntime is fed the transposed-back array (:meth:`FloatModel.run`).

TensorFlow, tf_keras, onnx, onnx2tf and onnxruntime are optional extras, imported only here
and only when a model needs them, so mcugen runs without them.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from .errors import McugenError, ModelError, UnsupportedModelError

KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")
RUN_CHUNK = 32  # inputs per call of the float model
QUANTIZE_EXTRA = "pip install 'mcugen[quantize]'"
ONNX_EXTRA = "pip install 'mcugen[onnx]'"
# ONNX ops that only a quantized graph has: such a model is int8 already.
ONNX_QUANTIZED_OPS = {"QuantizeLinear", "DequantizeLinear", "QLinearConv", "QLinearMatMul", "ConvInteger",
                      "MatMulInteger", "DynamicQuantizeLinear", "QLinearAdd", "QLinearMul"}


class MissingExtraError(McugenError):
    """An optional dependency of `mcugen quantize` is not installed."""


@dataclass
class FloatModel:
    path: Path
    kind: str  # "Keras", "SavedModel" or "ONNX": how reports name it
    input_name: str
    input_shape: tuple[int, ...]  # the converted model's input, batch 1 (NHWC for ONNX images)
    source_shape: tuple[int, ...]  # the user's model's input, batch 1 (NCHW for ONNX images)
    make_converter: Callable[[], Any]  # a fresh tf.lite.TFLiteConverter
    _run_source: Callable[[np.ndarray], list[np.ndarray]]  # a batch in the source layout -> outputs
    input_permutation: tuple[int, ...] | None = None  # source axes -> converted axes (ONNX NCHW -> NHWC)

    def to_converted_layout(self, batch: np.ndarray) -> np.ndarray:
        return batch if self.input_permutation is None else np.ascontiguousarray(
            batch.transpose(self.input_permutation))

    def run(self, batch: np.ndarray) -> list[np.ndarray]:
        """The float model's outputs for a batch in the converted layout, one array per output."""
        batch = np.asarray(batch, np.float32)
        if self.input_permutation is not None:
            batch = np.ascontiguousarray(batch.transpose(np.argsort(self.input_permutation)))
        # In chunks: hundreds of calibration images at once would hold every activation at once.
        chunks = [self._run_source(batch[i:i + RUN_CHUNK]) for i in range(0, batch.shape[0], RUN_CHUNK)]
        return [np.concatenate([c[k] for c in chunks]) for k in range(len(chunks[0]))]


def _need(module: str, extra: str, what: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        missing = getattr(exc, "name", None) or module
        raise MissingExtraError(f"mcugen quantize needs {missing} for {what}, which is not installed",
                                extra) from None


def import_tensorflow() -> Any:
    if "TF_CPP_MIN_LOG_LEVEL" not in os.environ:  # TensorFlow's C++ start-up chatter, before it loads
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    return _need("tensorflow", QUANTIZE_EXTRA, "TensorFlow's converter")


@contextmanager
def quiet_output(verbose: bool) -> Iterator[Path | None]:
    """Send what TensorFlow and onnx2tf print (C++ logs on fd 2, Python prints on fd 1) to a
    file, so the user's console has mcugen's lines only; -v lets them through. Yields the log's
    path, for error messages raised inside the block (it is deleted on leaving)."""
    if verbose:
        yield None
        return
    import sys

    with tempfile.NamedTemporaryFile(prefix="mcugen-quantize-", suffix=".log", delete=False) as log:
        log_path = Path(log.name)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    fd = os.open(log_path, os.O_WRONLY | os.O_APPEND)
    # Python's own prints go through sys.stdout, which is fd 1 only in a plain console (not
    # under pytest or in a notebook): redirect both the descriptors and the objects.
    py_log = open(log_path, "a", buffering=1)
    try:
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        with contextlib.redirect_stdout(py_log), contextlib.redirect_stderr(py_log):
            yield log_path
    finally:
        py_log.close()
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for f in (fd, *saved):
            os.close(f)
        # Read (last_log_line) inside the block when something failed; nothing to keep after.
        log_path.unlink(missing_ok=True)


def last_log_line(log: Path | None, exc: BaseException) -> str:
    """The exception's own text, else the log's last line: what a user needs to see of a failure."""
    text = str(exc).strip().splitlines()
    if text:
        return text[-1][:300]
    if log is not None and log.is_file():
        lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
        if lines:
            return lines[-1][:300]
    return type(exc).__name__


def _batch_one(shape: tuple[Any, ...], origin: str, name: str) -> tuple[int, ...]:
    """A fixed input shape with batch 1; a free batch is fine, any other free size is refused."""
    dims = list(shape)
    if not dims:
        raise UnsupportedModelError(f"{origin}: input '{name}' is a scalar; mcugen quantize needs a batched tensor")
    if dims[0] not in (None, -1, 1) and not isinstance(dims[0], str):
        raise UnsupportedModelError(f"{origin}: input '{name}' has a fixed batch of {dims[0]}; a microcontroller "
                                    "runs one input at a time", "export the model with batch size 1 (or a free one)")
    rest = dims[1:]
    if any(d is None or isinstance(d, str) or int(d) < 1 for d in rest):
        shown = ", ".join("?" if d is None or isinstance(d, str) or int(d) < 1 else str(d) for d in dims)
        raise UnsupportedModelError(f"{origin}: input '{name}' has shape [{shown}] with unknown sizes; its int8 "
                                    "model needs fixed ones", "export the model with a fixed input shape "
                                    "(e.g. keras.Input((96, 96, 3)))")
    return (1, *(int(d) for d in rest))


# ---- Keras and SavedModel -------------------------------------------------------------


def _load_keras(path: Path) -> Any:
    """Keras 3 first (it reads .keras and legacy .h5), then tf_keras (Keras 2 files Keras 3 refuses)."""
    import_tensorflow()
    errors = []
    for module in ("keras", "tf_keras"):
        try:
            keras = __import__(module)
        except ImportError:
            errors.append(f"{module} is not installed")
            continue
        try:
            return keras.models.load_model(str(path), compile=False)
        except Exception as exc:  # each Keras raises its own kinds for files it cannot read
            errors.append(f"{module}: {str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}")
    raise ModelError(f"cannot load {path.name} as a Keras model ({'; '.join(errors)})",
                     "save it with model.save('model.keras'); a model with custom layers needs them registered "
                     "(keras.saving.register_keras_serializable)")


def keras_model(path: Path) -> FloatModel:
    model = _load_keras(path)
    tf = import_tensorflow()
    if len(model.inputs) != 1:
        raise UnsupportedModelError(f"{path.name} has {len(model.inputs)} inputs; mcugen quantize takes models "
                                    "with one input", None)
    tensor = model.inputs[0]
    name = getattr(tensor, "name", "input") or "input"
    shape = _batch_one(tuple(tensor.shape), path.name, name)

    def run(batch: np.ndarray) -> list[np.ndarray]:
        out = model(tf.constant(batch), training=False)
        return [np.asarray(o) for o in tf.nest.flatten(out)]

    return FloatModel(path, "Keras", name, shape, shape, lambda: tf.lite.TFLiteConverter.from_keras_model(model),
                      run)


def _serving_signature(loaded: Any, origin: str) -> tuple[Any, str, Any]:
    signatures = dict(loaded.signatures)
    if not signatures:
        raise ModelError(f"{origin} has no signature to convert", "export it with model.export(DIR) or "
                                                                   "tf.saved_model.save(model, DIR, signatures=...)")
    key = "serving_default" if "serving_default" in signatures else sorted(signatures)[0]
    fn = signatures[key]
    inputs = fn.structured_input_signature[1]
    if len(inputs) != 1:
        raise UnsupportedModelError(f"{origin}: signature '{key}' has {len(inputs)} inputs; mcugen quantize takes "
                                    "models with one input")
    (name, spec), = inputs.items()
    return fn, key, (name, spec)


def saved_model(path: Path, kind: str = "SavedModel") -> FloatModel:
    tf = import_tensorflow()
    origin = path.name
    try:
        loaded = tf.saved_model.load(str(path))
    except Exception as exc:
        raise ModelError(f"cannot load {origin} as a TensorFlow SavedModel: {last_log_line(None, exc)}",
                         "give the folder holding saved_model.pb") from None
    fn, key, (name, spec) = _serving_signature(loaded, origin)
    if spec.dtype != tf.float32:
        raise UnsupportedModelError(f"{origin}: input '{name}' is {spec.dtype.name}, not float32; mcugen quantize "
                                    "takes float models", "an int8 model goes straight to mcugen generate")
    shape = _batch_one(tuple(spec.shape.as_list()), origin, name)
    output_keys = sorted(fn.structured_outputs)  # the converter orders a signature's outputs by name too

    def run(batch: np.ndarray) -> list[np.ndarray]:
        out = fn(**{name: tf.constant(batch)})
        return [np.asarray(out[k]) for k in output_keys]

    def converter() -> Any:
        return tf.lite.TFLiteConverter.from_saved_model(str(path), signature_keys=[key])

    # The loaded object owns the signature's variables: keep it alive as long as run is.
    run.loaded = loaded  # type: ignore[attr-defined]
    return FloatModel(path, kind, name, shape, shape, converter, run)


# ---- ONNX ------------------------------------------------------------------------------


def _onnx_input(proto: Any, origin: str) -> tuple[str, tuple[Any, ...]]:
    initializers = {i.name for i in proto.graph.initializer}
    inputs = [i for i in proto.graph.input if i.name not in initializers]
    if len(inputs) != 1:
        raise UnsupportedModelError(f"{origin} has {len(inputs)} inputs; mcugen quantize takes models with one input")
    tensor = inputs[0]
    if tensor.type.tensor_type.elem_type != 1:  # TensorProto.FLOAT
        raise UnsupportedModelError(f"{origin}: input '{tensor.name}' is not float32; mcugen quantize takes float "
                                    "models")
    dims = tuple(d.dim_value if d.HasField("dim_value") else (d.dim_param or None)
                 for d in tensor.type.tensor_type.shape.dim)
    return tensor.name, dims


def onnx_model(path: Path, work_dir: Path, verbose: bool) -> FloatModel:
    """onnx2tf converts the ONNX file to a SavedModel in work_dir (NHWC); onnxruntime runs the
    original."""
    onnx = _need("onnx", ONNX_EXTRA, "ONNX models")
    ort = _need("onnxruntime", ONNX_EXTRA, "running ONNX models")
    origin = path.name
    try:
        proto = onnx.load(str(path))
    except Exception as exc:
        raise ModelError(f"cannot read {origin} as an ONNX model: {last_log_line(None, exc)}") from None
    quantized = sorted({n.op_type for n in proto.graph.node} & ONNX_QUANTIZED_OPS)
    if quantized:
        raise UnsupportedModelError(f"{origin} is quantized already (it has {', '.join(quantized)}); mcugen "
                                    "quantize takes float models",
                                    "quantize the float original, or convert this one to an int8 .tflite and go "
                                    "straight to mcugen generate")
    name, dims = _onnx_input(proto, origin)
    source_shape = _batch_one(dims, origin, name)
    import_tensorflow()
    onnx2tf = _need("onnx2tf", ONNX_EXTRA, "converting ONNX models")
    out_dir = work_dir / "onnx2tf_saved_model"
    with quiet_output(verbose) as log:
        restore = _offline_sample_images()
        try:
            onnx2tf.convert(input_onnx_file_path=str(path), output_folder_path=str(out_dir),
                            batch_size=1 if dims[0] in (None, -1) or isinstance(dims[0], str) else None,
                            not_use_onnxsim=True, output_signaturedefs=True, non_verbose=not verbose,
                            verbosity="info" if verbose else "error")
        except BaseException as exc:  # onnx2tf ends some failures with sys.exit
            if isinstance(exc, KeyboardInterrupt):
                raise
            raise ModelError(f"onnx2tf could not convert {origin}: {last_log_line(log, exc)}",
                             "rerun with -v for onnx2tf's log") from None
        finally:
            restore()
    converted = saved_model(out_dir, "ONNX")
    permutation = _layout_permutation(source_shape, converted.input_shape)
    if permutation is None:
        raise UnsupportedModelError(f"{origin}: onnx2tf made input '{name}' of shape {list(source_shape)} into "
                                    f"{list(converted.input_shape)}, which mcugen cannot map a .npy onto")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    def run(batch: np.ndarray) -> list[np.ndarray]:
        # One at a time: an ONNX file exported with batch 1 takes no larger batch.
        per_input = [session.run(None, {name: batch[i:i + 1]}) for i in range(batch.shape[0])]
        return [np.concatenate([outs[k] for outs in per_input]) for k in range(len(per_input[0]))]

    return FloatModel(path, "ONNX", name, converted.input_shape, source_shape, converted.make_converter, run,
                      permutation)


def _layout_permutation(source: tuple[int, ...], converted: tuple[int, ...]) -> tuple[int, ...] | None:
    """Axes taking the ONNX input to onnx2tf's: channels first to channels last, or unchanged."""
    if source == converted:
        return tuple(range(len(source)))
    channels_last = (0, *range(2, len(source)), 1)
    if len(source) >= 3 and tuple(source[i] for i in channels_last) == converted:
        return channels_last
    return None


def _offline_sample_images() -> Callable[[], None]:
    """onnx2tf runs its conversion once on sample images it downloads (download_test_image_data)
    for every model with 3-channel image inputs, and fails offline; give it seeded noise of the
    same kind (an array [N, H, W, 3] of 0..1 it resizes itself) and put the function back after.
    The images only exercise its own trial run: mcugen scores the conversion itself."""
    try:
        import onnx2tf.onnx2tf as core
    except ImportError:
        return lambda: None
    original = getattr(core, "download_test_image_data", None)
    if original is None:
        return lambda: None
    data = np.random.default_rng(0).random((20, 32, 32, 3), dtype=np.float32)
    core.download_test_image_data = lambda: data

    def restore() -> None:
        core.download_test_image_data = original

    return restore


def open_float_model(path: Path, work_dir: Path, verbose: bool) -> FloatModel:
    """MODEL as quantize takes it: .keras / .h5, a SavedModel folder, or .onnx; anything else
    (an int8 or float .tflite above all) is refused with the way on."""
    origin = path.name
    if not path.exists():
        raise ModelError(f"model not found: {path}", "give a .keras, .h5, .onnx file or a SavedModel folder")
    if path.is_dir():
        if not (path / "saved_model.pb").is_file():
            raise ModelError(f"{path} is a folder without saved_model.pb, so no SavedModel",
                             "give a .keras, .h5, .onnx file or a SavedModel folder")
        return saved_model(path)
    suffix = path.suffix.lower()
    if suffix == ".tflite":
        _refuse_tflite(path)
    if suffix in KERAS_SUFFIXES:
        return keras_model(path)
    if suffix == ".onnx":
        return onnx_model(path, work_dir, verbose)
    raise ModelError(f"{origin}: mcugen quantize takes .keras, .h5, .onnx files or a SavedModel folder, not "
                     f"'{suffix or 'no extension'}'", "PyTorch: export with torch.onnx.export first")


def _refuse_tflite(path: Path) -> None:
    from .model_check import classify
    from .tflite_reader import read_tflite

    graph = read_tflite(path)  # a broken file is refused here, in its own words
    kind = classify(graph).kind
    if kind == "int8":
        raise UnsupportedModelError(f"{path.name} is an int8 model already; there is nothing to quantize",
                                    f"go straight to: mcugen generate {path}")
    raise UnsupportedModelError(f"{path.name} is a {kind} .tflite; TensorFlow cannot quantize a .tflite file again",
                                "quantize the Keras, SavedModel or ONNX model it was converted from")
