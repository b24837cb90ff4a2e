"""A fitted HistGradientBoostingRegressor as an ONNX ``ai.onnx.ml`` TreeEnsemble graph."""

# One ``TreeEnsemble`` node (ai.onnx.ml opset 5, double thresholds and leaf weights, SUM over
# the trees) followed by an ``Add`` of the estimator's baseline, so that the graph computes what
# ``HistGradientBoostingRegressor.predict`` does with the squared-error loss (identity link):
# baseline + Σ trees. Each of scikit-learn's split nodes becomes a ``BRANCH_LEQ`` node
# (``x <= num_threshold`` goes left, the "true" branch) whose missing values follow
# ``missing_go_to_left``; its leaves become the op's leaves. A tree that is one leaf becomes a
# node whose two branches reach that leaf, as the op's definition prescribes. Categorical splits
# (bitsets) are refused: the site's features are all numeric. Used when training and when an
# artefact of the first store format is loaded; scoring needs only ``maintenance/tree_ensemble``.

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import onnx
from onnx import TensorProto, helper, numpy_helper

from maintenance.errors import ModelConversionError
from maintenance.tree_ensemble import INPUT_NAME, OUTPUT_NAME, TreeEnsemble

ML_DOMAIN = "ai.onnx.ml"
ML_OPSET = 5
"""The ai.onnx.ml opset whose ``TreeEnsemble`` keeps doubles from input to output."""
ONNX_OPSET = 21
BRANCH_LEQ = 0
SUM = 1


@dataclass
class _Forest:
    """The op's node and leaf arrays, filled tree by tree."""

    roots: list[int] = field(default_factory=list)
    features: list[int] = field(default_factory=list)
    splits: list[float] = field(default_factory=list)
    true_ids: list[int] = field(default_factory=list)
    true_is_leaf: list[int] = field(default_factory=list)
    false_ids: list[int] = field(default_factory=list)
    false_is_leaf: list[int] = field(default_factory=list)
    missing_goes_true: list[int] = field(default_factory=list)
    leaf_weights: list[float] = field(default_factory=list)

    def add_tree(self, nodes: npt.NDArray[Any]) -> None:
        """Append one of scikit-learn's trees (its ``PREDICTOR_RECORD_DTYPE`` node records)."""
        is_leaf = nodes["is_leaf"].astype(bool)
        first_leaf, first_node = len(self.leaf_weights), len(self.features)
        leaf_id = {
            index: first_leaf + k for k, index in enumerate(np.flatnonzero(is_leaf).tolist())
        }
        node_id = {
            index: first_node + k for k, index in enumerate(np.flatnonzero(~is_leaf).tolist())
        }
        self.leaf_weights.extend(nodes["value"][is_leaf].tolist())
        if not node_id:
            self._add_lone_leaf(leaf_id[0])
            return
        self.roots.append(node_id[0])

        def branch(child: int) -> tuple[int, int]:
            """The op's id of a child and whether it is a leaf."""
            return (leaf_id[child], 1) if child in leaf_id else (node_id[child], 0)

        for index in node_id:
            node = nodes[index]
            self.features.append(int(node["feature_idx"]))
            self.splits.append(float(node["num_threshold"]))
            self.missing_goes_true.append(int(node["missing_go_to_left"]))
            true_id, true_leaf = branch(int(node["left"]))
            false_id, false_leaf = branch(int(node["right"]))
            self.true_ids.append(true_id)
            self.true_is_leaf.append(true_leaf)
            self.false_ids.append(false_id)
            self.false_is_leaf.append(false_leaf)

    def _add_lone_leaf(self, leaf: int) -> None:
        self.roots.append(len(self.features))
        self.features.append(0)
        self.splits.append(0.0)
        self.missing_goes_true.append(0)
        self.true_ids.append(leaf)
        self.true_is_leaf.append(1)
        self.false_ids.append(leaf)
        self.false_is_leaf.append(1)

    def node(self) -> onnx.NodeProto:
        """The ``TreeEnsemble`` node mapping input ``X`` to the trees' sum ``T``."""
        return helper.make_node(
            "TreeEnsemble",
            [INPUT_NAME],
            ["T"],
            domain=ML_DOMAIN,
            n_targets=1,
            aggregate_function=SUM,
            tree_roots=self.roots,
            nodes_featureids=self.features,
            nodes_splits=_doubles(self.splits),
            nodes_modes=numpy_helper.from_array(
                np.full(len(self.features), BRANCH_LEQ, dtype=np.uint8)
            ),
            nodes_truenodeids=self.true_ids,
            nodes_trueleafs=self.true_is_leaf,
            nodes_falsenodeids=self.false_ids,
            nodes_falseleafs=self.false_is_leaf,
            nodes_missing_value_tracks_true=self.missing_goes_true,
            leaf_targetids=[0] * len(self.leaf_weights),
            leaf_weights=_doubles(self.leaf_weights),
        )


def tree_ensemble_of(estimator: Any) -> TreeEnsemble:
    """The ONNX form of a fitted squared-error ``HistGradientBoostingRegressor``.

    Raises ``ModelConversionError`` for an unfitted estimator, another loss, several trees per
    iteration or categorical splits.
    """
    _check_convertible(estimator)
    forest = _Forest()
    for (predictor,) in estimator._predictors:
        forest.add_tree(predictor.nodes)
    n_features = int(estimator.n_features_in_)
    baseline = float(np.asarray(estimator._baseline_prediction).reshape(-1)[0])
    return TreeEnsemble(_graph(forest, baseline, n_features), n_features)


def _check_convertible(estimator: Any) -> None:
    predictors = getattr(estimator, "_predictors", None)
    if predictors is None:
        raise ModelConversionError("the gradient-boosting estimator is not fitted")
    if getattr(estimator, "loss", None) != "squared_error":
        raise ModelConversionError(
            f"only the squared-error loss converts, not {getattr(estimator, 'loss', None)!r}"
        )
    if any(len(trees) != 1 for trees in predictors):
        raise ModelConversionError("only one tree per boosting iteration converts")
    categorical = getattr(estimator, "is_categorical_", None)
    split_on_category = any(
        bool(np.any(predictor.nodes["is_categorical"])) for (predictor,) in predictors
    )
    if split_on_category or (categorical is not None and bool(np.any(categorical))):
        raise ModelConversionError(
            "the estimator splits on categorical features; only numeric splits convert",
            advice="train the RUL model on numeric features only",
        )


def _graph(forest: _Forest, baseline: float, n_features: int) -> bytes:
    add_baseline = helper.make_node("Add", ["T", "baseline"], [OUTPUT_NAME])
    graph = helper.make_graph(
        [forest.node(), add_baseline],
        "rul_trees",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.DOUBLE, [None, n_features])],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.DOUBLE, [None, 1])],
        initializer=[numpy_helper.from_array(np.array([[baseline]]), name="baseline")],
    )
    model = helper.make_model(
        graph,
        opset_imports=[
            helper.make_opsetid("", ONNX_OPSET),
            helper.make_opsetid(ML_DOMAIN, ML_OPSET),
        ],
        producer_name="trustfloor",
    )
    onnx.checker.check_model(model)
    serialised: bytes = model.SerializeToString()
    return serialised


def _doubles(values: list[float]) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(values, dtype=np.float64))
