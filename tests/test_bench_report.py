"""The benchmark report people read (issue 11, item 4): a per-layer table, plots with
plain whole-number axes and readable confusion cells. Built from a report as
run_bench makes it; the pictures are checked through matplotlib's own state."""

from __future__ import annotations

import json

import pytest

from conftest import EXAMPLE_MODEL
from mcugen.bench import BenchReport, Latency, graph_layers
from mcugen.bench_report import markdown, write_report
from mcugen.loader import load_model


def _report() -> BenchReport:
    layers = graph_layers(load_model(EXAMPLE_MODEL))
    counts = [12_000_000 + 1000 * i for i in range(len(layers))]
    report = BenchReport(model="shapes_int8.tflite", model_sha256="ab" * 32, board="qemu-cm7", build_id="x",
                         arena_bytes=20_480, latency=Latency([12_370_001, 12_370_005, 12_370_002, 12_370_009],
                                                             25_000_000, "instructions"),
                         inputs=4, bit_exact=4, class_names=["circle", "square"], labels=[0, 0, 1, 1],
                         predictions=[0, 0, 1, 0])
    report.profile = [(op, c) for (op, _), c in zip(layers, counts)]
    report.profile_macs = [macs for op, macs in layers]
    return report


def test_layer_table_has_share_per_mac_and_ms():
    report = _report()
    text = markdown(report, [])
    assert "## Layers (last inference)" in text
    assert "| layer | op | instructions | share | MACs | instructions per MAC | ms at 25 MHz |" in text
    first = report.layer_rows()[0]
    assert first["op"] == "CONV_2D" and first["macs"] > 0
    assert f"| 0 | CONV_2D | {first['count']:,} | {first['share']:.1%} | {first['macs']:,} | " \
           f"{first['count'] / first['macs']:.2f} | {first['count'] / 25e6 * 1e3:.3f} |" in text
    assert abs(sum(r["share"] for r in report.layer_rows()) - 1) < 1e-9
    profile = report.to_json()["profile"]
    assert profile[0]["macs"] == first["macs"] and len(profile) == 11


def test_plots_have_plain_axes_whole_counts_and_readable_cells(tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figures = {}
    real_savefig = matplotlib.figure.Figure.savefig

    def keep(fig, path, *args, **kwargs):
        figures[str(path).rsplit("/", 1)[-1]] = fig
        return real_savefig(fig, path, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", keep)
    monkeypatch.setattr(plt, "close", lambda fig=None: None)
    out = write_report(_report(), tmp_path)
    assert {"latency.png", "profile.png", "confusion.png"} <= set(figures)

    latency = figures["latency.png"].axes[0]
    latency.figure.canvas.draw()
    assert latency.xaxis.get_offset_text().get_text() == ""  # no "+1.237e7"
    labels = [t.get_text() for t in latency.get_xticklabels() if t.get_text()]
    assert labels and all(label.replace(",", "").lstrip("−-").isdigit() for label in labels), labels
    assert all(float(v).is_integer() for v in latency.get_yticks())

    cells = figures["confusion.png"].axes[0].texts
    colours = {t.get_text(): t.get_color() for t in cells}
    assert colours["2"] == "white" and colours["0"] == "black"  # dark cell, light cell
    report = json.loads((out / "report.json").read_text())
    assert report["profile"][0]["macs"] > 0
    assert "## Layers" in (out / "report.md").read_text()


@pytest.mark.parametrize("profile_macs", [[], [1, 2]])
def test_a_profile_without_macs_still_renders(profile_macs):
    report = _report()
    report.profile_macs = profile_macs  # not one per layer: no MACs column values
    text = markdown(report, [])
    assert "| 0 | CONV_2D |" in text and " - | - |" in text


# ---- the memory summary (issue 11, item 4): inspect's figures, and the build's when known ----


@pytest.fixture(scope="module")
def built_example(tmp_path_factory):
    """The example generated for qemu-cm7 and built with PlatformIO: a real ELF to read."""
    from mcugen.build import build_project
    from mcugen.firmware import generate_firmware_project, read_metadata

    project = tmp_path_factory.mktemp("bench-memory") / "fw"
    generate_firmware_project(EXAMPLE_MODEL, "qemu-cm7", project)
    return project, build_project(project), read_metadata(project)


def test_memory_from_inspect_and_the_build(built_example):
    from mcugen.bench import memory_summary
    from mcugen.fit import RUNTIME_FLASH_ESTIMATE

    project, build, meta = built_example
    memory = memory_summary(EXAMPLE_MODEL, "qemu-cm7", meta["arena_bytes"], meta["build_id"], project)
    model = memory.model
    # inspect's analysis with the firmware's own kernels and plan gives the generator's figures.
    assert (model.kernels, model.strategy) == (meta["kernels"], meta["memory"]) == ("arm-dsp", "fast")
    assert model.arena_bytes == meta["arena_bytes"] and model.constants_bytes == meta["weights_bytes"]
    assert 0 < model.weights_bytes <= model.constants_bytes
    assert model.fit.fits and model.fit.flash_needed == model.constants_bytes + RUNTIME_FLASH_ESTIMATE
    # The build's figures are the ELF's, region by region, against the board's totals.
    assert [r.to_json() for r in memory.build.regions] == [r.to_json() for r in build.regions]
    assert memory.build.weights_bytes == sum(w.size for w in build.weights) == meta["weights_bytes"]
    assert (memory.build.arena_bytes, memory.build.arena_region) == (build.arena.size, build.arena.region)
    assert memory.build_unknown is None and memory.model_unknown is None and not memory.notes

    report = _report()
    report.memory = memory
    text = markdown(report, [])
    flash = build.region("SSRAM1")
    assert "## Memory" in text and "(arm-dsp kernels, fast memory plan)" in text
    assert f"| arena (RAM, the memory plan's peak) | {meta['arena_bytes']:,} |" in text
    assert f"| constants in flash (weights and per-layer tables) | {meta['weights_bytes']:,} |" in text
    assert f"| SSRAM1 | flash | {flash.used:,} | {flash.size:,} | {flash.percent:.1f}% | {flash.free:,} |" in text
    assert f"flash {model.fit.flash_needed:,} of {model.fit.flash_available:,} B in SSRAM1" in text
    as_json = report.to_json()["memory"]
    assert as_json["build"]["regions"][0]["used"] == flash.used
    assert as_json["model"]["arena_bytes"] == meta["arena_bytes"]
    assert json.loads(json.dumps(as_json)) == as_json


def test_memory_not_known_says_why(built_example, tmp_path):
    from mcugen.bench import memory_summary
    from mcugen.firmware import generate_firmware_project

    project, _, meta = built_example
    no_project = memory_summary(EXAMPLE_MODEL, "qemu-cm7", meta["arena_bytes"], meta["build_id"])
    assert no_project.build is None and "--project DIR" in no_project.build_unknown
    assert no_project.model.arena_bytes == meta["arena_bytes"]  # inspect's figures need no project
    report = _report()
    report.memory = no_project
    assert "The build's flash and RAM use: not known: the project folder was not given" in markdown(report, [])
    assert report.to_json()["memory"]["build"] is None

    other = memory_summary(EXAMPLE_MODEL, "qemu-cm7", meta["arena_bytes"], "mcugen-0.1.0-another", project)
    assert other.build is None and "the board runs firmware mcugen-0.1.0-another but" in other.build_unknown

    unbuilt = tmp_path / "fw"
    generate_firmware_project(EXAMPLE_MODEL, "qemu-cm7", unbuilt, memory="small")
    small = memory_summary(EXAMPLE_MODEL, "qemu-cm7", 20_480, None, unbuilt)
    assert f"has not been built (mcugen build {unbuilt})" in small.build_unknown
    # The firmware says its arena is 20,480 B, the project's plan is small's: the note says so.
    assert small.model.strategy == "small" and small.model.arena_bytes < 20_480
    assert "generated with other --kernels or --memory" in small.notes[0]

    unknown = memory_summary(EXAMPLE_MODEL, "no-such-board", 1, None)
    assert unknown.model is None and "not one mcugen knows" in unknown.model_unknown


def test_bench_emulate_reports_its_build(built_example, tmp_path):
    """The whole path: bench --emulate knows the project, so report.json and report.md carry
    its build's memory (one random input on QEMU)."""
    from conftest import run_cli

    project, build, _ = built_example
    out = run_cli("bench", "--emulate", project, "--model", EXAMPLE_MODEL, "--random", "1", "--report",
                  tmp_path / "report", "--json", timeout=120)
    assert out.returncode == 0, out.stderr
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["memory"]["build"]["regions"] == [r.to_json() for r in build.regions]
    assert report["memory"]["firmware_arena_bytes"] == build.arena.size
    assert report["preprocessing"] is None  # random tensors: nothing was pre-processed
    text = (tmp_path / "report" / "report.md").read_text()
    assert "## Memory" in text and f"`{build.elf}`" in text


def test_preprocessing_is_recorded():
    from mcugen.ir import Quantization, Tensor
    from mcugen.preprocess import PreprocessOptions, PreprocessParams

    tensor = Tensor(0, "image", (1, 32, 32, 3), "int8", Quantization((1 / 255,), (-128,)))
    params = PreprocessParams.for_tensor(tensor, "0-1", PreprocessOptions((0.485, 0.456, 0.406),
                                                                          (0.229, 0.224, 0.225), "bgr",
                                                                          resize="stretch"))
    report = _report()
    report.preprocessing = params
    text = markdown(report, [])
    assert "## Input pre-processing" in text
    assert "| resize to 32 x 32 | stretch: the whole image box-resized (aspect ratio not kept) |" in text
    assert "| channels | B, G, R (bgr) |" in text and "| pixel range | 0..255 to [0, 1] |" in text
    assert "mean B 0.406, G 0.456, R 0.485; std B 0.225, G 0.224, R 0.229 |" in text
    assert f"| quantization | int8, scale {1 / 255:.9g}, zero point -128 |" in text
    record = report.to_json()["preprocessing"]
    assert record["channels"] == ["B", "G", "R"] and record["resize"] == "stretch"
    assert record["mean"] == [0.406, 0.456, 0.485] and record["lut_per_channel"]
    plain = _report()
    plain.preprocessing = PreprocessParams.for_tensor(tensor)
    assert "| normalisation | none (mean 0, std 1) |" in markdown(plain, [])


def test_bench_port_project_must_be_the_models(built_example):
    """--project names the firmware's project; one of another model is refused before any
    board is contacted, and --project beside --emulate is refused too."""
    from conftest import assert_clean_refusal, run_cli, shared_model

    project, _, _ = built_example
    person = shared_model("person_detect.tflite")
    assert_clean_refusal(run_cli("bench", "--port", "socket://127.0.0.1:9", "--project", project, "--model", person,
                                 "--random", "1", timeout=60),
                         f"{project} was generated from another model than {person}", "give --project the folder")
    assert_clean_refusal(run_cli("bench", "--emulate", project, "--project", project, "--model", EXAMPLE_MODEL,
                                 "--random", "1", timeout=60), "--project is for --port", "leave out --project")
