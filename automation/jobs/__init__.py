"""Periodic jobs. Each produces events through ingest with deterministic ids, so
running a job twice, or two schedulers overlapping, creates nothing twice."""
