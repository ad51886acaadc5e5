"""The ``camlens`` command line."""

from __future__ import annotations

import click


@click.group()
@click.version_option(package_name="camlens")
def main() -> None:
    """camlens: see where a vision model looked when it decided."""
