"""``camlens demo``: the README's main job on an embedded default."""

from __future__ import annotations

from pathlib import Path

import click

from ..core.errors import CamlensError
from ._common import one_line


@click.command(name="demo")
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
    help="A local copy of torchvision's mobilenet_v2-b0353104.pth (else found automatically).",
)
def command(out: Path, weights: Path | None) -> None:
    """Grad-CAM of an ImageNet MobileNetV2 on six photos, top-3 classes each."""
    from ..demo import run_demo

    try:
        run_demo(out, weights=weights, echo=click.echo)
    except CamlensError as exc:  # weights missing or corrupt, demo extra not installed
        raise click.ClickException(one_line(exc)) from None
