"""The JSON API plumbing shared by every package."""
