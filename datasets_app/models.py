"""Datasets, contributions, items and labels arrive with the datasets issue."""
