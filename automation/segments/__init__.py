"""Segments: marketing ops' named groups of customers, defined with the condition
language, kept up to date incrementally per event and in bulk by SQL."""
