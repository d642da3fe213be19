"""Model -> IR: read and verify the file, fold constant shape arithmetic, refuse what mcugen cannot compile."""

from __future__ import annotations

from pathlib import Path

from .fold import fold_constants
from .ir import Graph
from .model_check import require_builtin_ops, require_int8
from .model_verify import verify_graph
from .tflite_reader import read_tflite


def load_model(path: str | Path) -> Graph:
    graph = read_tflite(path)
    origin = Path(path).name
    require_builtin_ops(graph, origin)  # a custom op's tensors follow its own rules
    verify_graph(graph, origin)
    fold_constants(graph)
    require_int8(graph, origin)
    return graph
