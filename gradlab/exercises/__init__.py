"""Trusted reference computations and the checks of every exercise, one module per lesson."""
