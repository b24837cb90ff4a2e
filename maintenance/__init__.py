"""Predictive maintenance: features, model store, training, scoring, alert policy, print orders."""
