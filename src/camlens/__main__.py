"""``python -m camlens``: the ``camlens`` command line."""

from camlens.cli import main

main(prog_name="camlens")
