"""``python -m automation.cli``."""

from automation.cli import main

main()
