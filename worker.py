"""Entry point for ``dramatiq worker`` (and ``automation worker``)."""

from automation.worker.actors import *  # noqa: F403
