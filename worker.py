"""Entry point for ``dramatiq worker`` (and ``automation worker``)."""

from automation.actors import *  # noqa: F403
