"""The ``camlens`` command line: one module per command in this package.

Each module ``camlens/cli/<name>.py`` defines a click command named ``command``; the group finds
them by name and imports one only when it runs (or when ``--help`` lists them), so ``camlens
demo`` never imports FastAPI or TensorFlow.
"""

from __future__ import annotations

import importlib
import pkgutil

import click


class _CommandPackage(click.Group):
    """A click group whose commands are the modules of this package, imported on demand."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = [m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")]
        return sorted(names)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name.startswith("_") or cmd_name not in self.list_commands(ctx):
            return None
        return importlib.import_module(f"{__name__}.{cmd_name}").command


@click.group(cls=_CommandPackage)
@click.version_option(package_name="camlens")
def main() -> None:
    """camlens: see where a vision model looked when it decided."""


if __name__ == "__main__":
    main()
