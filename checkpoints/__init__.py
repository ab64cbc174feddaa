"""Checkpoints, scanning, trips, anomalies and sweeps."""
