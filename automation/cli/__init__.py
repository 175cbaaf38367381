"""``automation``: the command line of the contract.

``commands`` holds the map of the commands (``app``) and ``main``; each group lives in
its own module (``runtime``, ``imports``, ``demo``, ``report``, ``db``, ``keys``,
``journeys``, ``segments``), and ``output`` holds the consoles and the one-line errors
they share.
"""

from automation.cli.commands import app, main

__all__ = ["app", "main"]
