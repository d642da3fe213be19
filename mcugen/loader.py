"""Model -> IR: read the file, fold constant shape arithmetic, refuse what mcugen cannot compile."""

from __future__ import annotations

from pathlib import Path

from .fold import fold_constants
from .ir import Graph
from .model_check import require_int8
from .tflite_reader import read_tflite


def load_model(path: str | Path) -> Graph:
    graph = read_tflite(path)
    fold_constants(graph)
    require_int8(graph, Path(path).name)
    return graph
