"""Boosted regression trees stored as an ONNX graph and scored by ONNX Runtime on one thread."""

# Training fits scikit-learn's trees (``maintenance/tree_export.py`` turns them into the graph);
# scoring needs neither scikit-learn nor the ``onnx`` package, only this module. The runtime is
# imported and the session built on the first prediction, so a site without RUL models does
# not pay for it. The graph keeps double precision from input to output: predictions equal
# scikit-learn's to rounding (the trees' values are summed in another order).

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from maintenance.errors import FeatureInputError
from maintenance.features import FloatArray

if TYPE_CHECKING:
    import onnxruntime

INPUT_NAME = "X"
"""The graph's input: ``(rows, features)`` doubles."""
OUTPUT_NAME = "Y"
"""The graph's output: ``(rows, 1)`` doubles."""


class TreeEnsemble:
    """A regression tree ensemble's ONNX graph; pickles as the graph's bytes."""

    __slots__ = ("_session", "graph", "n_features")

    def __init__(self, graph: bytes, n_features: int) -> None:
        self.graph = graph
        self.n_features = n_features
        self._session: onnxruntime.InferenceSession | None = None

    def __reduce__(self) -> tuple[type[TreeEnsemble], tuple[bytes, int]]:
        return (TreeEnsemble, (self.graph, self.n_features))

    def predict(self, design: FloatArray) -> FloatArray:
        """One value per row of the ``(rows, n_features)`` design matrix (NaN: missing)."""
        rows = np.ascontiguousarray(design, dtype=np.float64)
        if rows.ndim != 2 or rows.shape[1] != self.n_features:
            raise FeatureInputError(
                f"the trees need (rows, {self.n_features}) features, got shape {rows.shape}"
            )
        if rows.shape[0] == 0:
            return np.empty(0, dtype=np.float64)
        (values,) = self._scoring_session().run([OUTPUT_NAME], {INPUT_NAME: rows})
        return np.asarray(values, dtype=np.float64).reshape(-1)

    def _scoring_session(self) -> onnxruntime.InferenceSession:
        """The session, built on first use (two threads racing build two; one is kept)."""
        if self._session is None:
            self._session = _single_threaded_session(self.graph)
        return self._session


def _single_threaded_session(graph: bytes) -> onnxruntime.InferenceSession:
    """A CPU session on one thread: scoring runs beside the event loop on a small machine."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(
        graph, sess_options=options, providers=["CPUExecutionProvider"]
    )
