"""Events: the one way in (validate, deduplicate, stitch identity, store, enqueue)."""
