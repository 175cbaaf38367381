"""Entry point for the scheduler process (``python scheduler.py``)."""

from automation.cli import main

main(["scheduler"])
