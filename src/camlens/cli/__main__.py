"""``python -m camlens.cli``."""

from . import main

main()
