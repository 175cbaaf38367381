"""``python -m automation.cli``."""

from automation.cli.commands import main

main()
