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
