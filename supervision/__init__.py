"""Supervision: the live dashboard, trip history, statistics and exports."""
