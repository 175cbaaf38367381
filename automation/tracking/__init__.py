"""Tracking: signed tokens in links, and responses turned into events."""
