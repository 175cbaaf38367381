"""The worker: Dramatiq actors, the processing pipeline, the embedded runtime."""
