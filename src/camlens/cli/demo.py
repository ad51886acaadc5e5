"""``camlens demo``: the README's main job on an embedded default."""

from __future__ import annotations

from pathlib import Path

import click

from ._common import GuardedCommand, debug_option


@click.command(name="demo", cls=GuardedCommand)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("camlens-demo"),
    show_default=True,
    help="Folder for the PNGs, index.png and index.html (created if missing).",
)
@click.option(
    "--weights",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="A local copy of torchvision's mobilenet_v2-b0353104.pth (else the one in torch's hub "
    "cache: `camlens weights install` puts it there).",
)
@debug_option
def command(out: Path, weights: Path | None, debug: bool) -> None:
    """Grad-CAM of an ImageNet MobileNetV2 on six photos, top-3 classes each.

    Errors (weights missing or corrupt, the demo extra not installed) are one line with the exit
    code `camlens explain --model demo` gives for the same cause.
    """
    from ..demo import run_demo

    run_demo(out, weights=weights, echo=click.echo)
