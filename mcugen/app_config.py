"""Derived option values for applications: what an app's defaults of None become for
this model and board, checked before anything is written.

Generic rules, keyed by option name, so an app folder declares its options and
mcugen fills in what it can derive:

- labels:    class names in output order (person models: no_person, person);
- leds:      class -> LED name; every LED must exist on the board, every class be a label;
- target:    the class a threshold applies to (a two-class person model: person);
- threshold: stays as given.

Preprocessing values (the pixel lookup tables, resize mode, channel order, grayscale,
mean and std: the settings pixel_range, resize, channels, grayscale, mean, std) come
from preprocess.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .apps import App, AppError

if TYPE_CHECKING:
    from .boards import Board
    from .firmware import CameraConfig
    from .generate import GeneratedModel
    from .preprocess import PreprocessOptions

PERSON_LABELS = ("no_person", "person")
ILLUMINATION_LEDS = ("flash", "ir")


def preprocess_options(options: dict[str, Any]) -> "PreprocessOptions":
    """The pre-processing choices among an app's settings (as --set gives them, or as
    mcugen.json's app_options records them); absent ones are the defaults."""
    from .preprocess import PreprocessOptions, parse_channel_values

    def values(key: str) -> tuple[float, ...] | None:
        given = options.get(key)
        if given is None or isinstance(given, str):
            return parse_channel_values(given, key, PreprocessOptions(style="app"))
        return tuple(float(v) for v in given)

    return PreprocessOptions(values("mean"), values("std"), options.get("channels") or "rgb",
                             options.get("grayscale") == "yes", options.get("resize") or "crop", style="app")


def _class_count(model: "GeneratedModel") -> int:
    if getattr(model, "detection", None) is not None:  # a detector's classes, background excluded
        return model.detection.num_classes
    outputs = model.graph.output_tensors()
    return outputs[0].num_elements if outputs else 0


def app_defaults(app: App, options: dict[str, Any], model: "GeneratedModel", board: "Board",
                 camera: "CameraConfig | None") -> dict[str, Any]:
    out = dict(options)
    if "boxes" in app.requires and getattr(model, "detection", None) is None:
        raise AppError(f"app '{app.id}' lights its LEDs from boxes, but the model has no detection head",
                       "generate with --detect fomo, yolo or ssd (the kind of head the model has)")
    classes = _class_count(model)
    if "labels" in app.options:
        labels = out.get("labels")
        if labels is None:
            labels = list(PERSON_LABELS) if classes == 2 else [f"class{i}" for i in range(classes)]
        elif isinstance(labels, str):
            labels = [x.strip() for x in labels.split(",") if x.strip()]
        if len(labels) != classes:
            raise AppError(f"option labels names {len(labels)} classes but the model's output has {classes}",
                           f"--set labels=NAME,NAME,... with {classes} names in output order")
        out["labels"] = labels
    labels = out.get("labels") or []
    if "target" in app.options:
        target = out.get("target")
        if target is None and "person" in labels:
            target = "person"
        if target is None and "boxes" in app.requires and labels:
            target = labels[0]  # a detector's default: its first class
        if target is not None and target not in labels:
            raise AppError(f"option target '{target}' is not one of the labels {', '.join(labels)}",
                           "--set target=LABEL")
        out["target"] = target
        out["target_index"] = labels.index(target) if target is not None else -1
    if "leds" in app.options:
        leds = out.get("leds")
        names = [led.name for led in board.leds]
        # Lamps light the scene, they do not signal: never a default (ESP32-CAM's flash, OpenMV's IR).
        indicators = [n for n in names if n not in ILLUMINATION_LEDS]
        if leds is None:
            if "person" in labels and "no_person" in labels and {"green", "red"} <= set(names):
                leds = {"person": "green", "no_person": "red"}
            elif indicators:
                # One indicator LED: lit for the target class (or class 1), off otherwise.
                leds = {(out.get("target") or labels[min(1, len(labels) - 1)]): indicators[0]}
            else:
                leds = {}
        for label, led in leds.items():
            if label not in labels:
                raise AppError(f"option leds names class '{label}', which is not one of {', '.join(labels)}",
                               "--set leds=CLASS=LED,...")
            if led not in names:
                raise AppError(f"option leds names LED '{led}', which board '{board.id}' does not have",
                               f"its LEDs: {', '.join(names) or 'none'}")
        out["leds"] = leds
        out["led_of_class"] = [board.led(leds[label]) if label in leds else -1 for label in labels]
    if "camera" in app.options:
        if out.get("camera") == "sensor" and camera is not None and camera.host_fed and board.emulated:
            raise AppError(f"board '{board.id}' has no camera sensor: its frames come from the host",
                           "leave out --set camera (emulated boards are fed by `mcugen feed`)")
        out["camera"] = "host" if camera is not None and camera.host_fed else "sensor"
    if "pixel_range" in app.options:
        from .preprocess import PIXEL_RANGES, PreprocessParams, default_pixel_range, render_c_params

        inputs = model.graph.input_tensors()
        if len(inputs) != 1:
            raise AppError(f"app '{app.id}' needs a model with one image input; this one has {len(inputs)} inputs")
        choice = out.get("pixel_range") or "auto"
        if choice == "auto":
            pixel_range, note = default_pixel_range(inputs[0])
        else:
            pixel_range, note = PIXEL_RANGES[choice], f"pixels mapped to {choice} (--set pixel_range)"
        options = preprocess_options(out)
        params = PreprocessParams.for_tensor(inputs[0], pixel_range, options)
        # Recorded in mcugen.json (app_options) as the values that made the tables, so a host
        # can rebuild the device's pre-processing: preprocess_options(app_options).
        for key in ("mean", "std"):
            if key in app.options:
                out[key] = list(getattr(options, key)) if getattr(options, key) is not None else None
        out["_pixel_range"] = list(pixel_range)
        out["_pixel_note"] = note  # the rest of the pipeline is in render_c_params' comment
        out["_preprocess_c"] = render_c_params(params, "mcugen_app_preprocess")
    if "threshold" in app.options and out.get("threshold") is not None:
        if not 0.0 <= float(out["threshold"]) <= 1.0:
            raise AppError(f"option threshold must be between 0 and 1, not {out['threshold']}", "--set threshold=0.6")
    return out
