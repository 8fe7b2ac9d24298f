"""Scoring a model on a dataset: metrics, confusion, calibration, and their pictures."""
