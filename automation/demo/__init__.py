"""``automation demo``: a synthetic insurer living D days through the real engine."""

from automation.demo.run import run_demo

__all__ = ["run_demo"]
