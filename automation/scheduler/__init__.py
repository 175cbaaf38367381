"""The scheduler: one leader among any number of processes runs a handful of periodic
jobs, each of which emits events through ingest with deterministic ids."""
