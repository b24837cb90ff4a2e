"""Errors of the predictive-maintenance package, rooted at ``MaintenanceError``."""

from __future__ import annotations

from models import TrustfloorError


class MaintenanceError(TrustfloorError):
    """Root of every error the maintenance package raises."""

    advice = "check the maintenance section of the configuration and the model directory"


class FeatureInputError(MaintenanceError):
    """The telemetry handed to feature extraction has the wrong shape or tags."""

    advice = "pass a machines × time × tags array whose last axis follows the feature spec's tags"


class TrainingDataError(MaintenanceError):
    """The history given for training cannot train a model (too small, missing columns...)."""

    advice = "train on run-to-failure histories with the columns the model needs"


class ModelStoreError(MaintenanceError):
    """The model store cannot save or find an artefact."""

    advice = "check that the models directory exists, is writable and holds the named model"


class ModelMismatchError(ModelStoreError):
    """A stored model does not match what the caller will feed it, or its metadata is bad."""

    advice = (
        "retrain the model for the current tags and feature settings; "
        "never edit a stored model's metadata by hand"
    )


class ModelConversionError(MaintenanceError):
    """A fitted estimator cannot be turned into the graph that scores it."""

    advice = "train the model with trustfloor's own training, which fits convertible trees"
