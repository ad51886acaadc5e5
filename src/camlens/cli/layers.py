"""``camlens layers MODEL``: the layers a CAM can explain, with their output shapes.

One probe pass (``camlens.layers``) on a random input of the model's size (or ``--image``) lists
every module that ran; candidates (a spatial output the class score depends on) are marked ``*``,
and the layer ``--layer auto`` would take is named. Layer shapes do not depend on the weights, so
when a torchvision model's pretrained weights are not on this machine, random ones are used.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from ._common import (
    GuardedCommand,
    debug_option,
    device_option,
    load_model_for_cli,
    model_options,
    note,
    one_line,
    say,
)


@click.command(name="layers", cls=GuardedCommand)
@model_options(argument=True)
@click.option("--all", "show_all", is_flag=True, help="List every module, not only candidates.")
@click.option(
    "--depth",
    type=click.IntRange(min=0),
    default=2,
    show_default=True,
    help="List candidates whose dotted name has at most this many parts (0: no limit); "
    "the auto layer is always listed.",
)
@click.option(
    "--image",
    type=click.Path(path_type=Path),
    default=None,
    help="Probe with this image instead of a random input of the model's size.",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
@device_option
@debug_option
def command(
    model: str,
    weights: str | None,
    labels: str | None,
    size: int | None,
    show_all: bool,
    depth: int,
    image: Path | None,
    as_json: bool,
    device: str,
    debug: bool,
) -> None:
    """List MODEL's candidate layers for --layer and their output shapes.

    \b
    camlens layers demo
    camlens layers resnet50 --all
    camlens layers my_model.pt --size 320
    """
    import torch

    from ..core.discovery import choose_layer, format_layers
    from ..core.discovery import layers as find_layers
    from ..errors import WeightsUnavailableError
    from ..images import load_image
    from ..models._loaded import DEFAULT_INPUT_SIZE

    try:
        loaded = load_model_for_cli(model, weights, device, labels, size)
    except WeightsUnavailableError as exc:
        if weights is not None:
            raise
        architecture = "mobilenet_v2" if model == "demo" else model
        loaded = load_model_for_cli(architecture, "random", device, labels, size, quiet=True)
        note(f"{one_line(exc).split(':')[0]}; listing layers with random weights")
    if image is not None:
        x = loaded.preprocess(load_image(image))[None]
    else:
        side = loaded.input_size or DEFAULT_INPUT_SIZE
        x = torch.randn(1, 3, side, side, generator=torch.Generator().manual_seed(0))
    x = x.to(loaded.device)
    infos = find_layers(loaded.model, x)
    candidates = [info for info in infos if info.candidate]
    auto = loaded.target_layer or (choose_layer(loaded.model, x) if candidates else None)
    shown = (
        infos
        if show_all
        else [
            info
            for info in infos
            if (info.candidate or info.attention is not None)
            and (not depth or info.name.count(".") < depth or info.name == auto)
        ]
    )
    if as_json:
        rows = [
            {
                "name": info.name,
                "type": info.kind,
                "shape": list(info.shape),
                "grid": list(info.grid) if info.grid else None,
                "candidate": info.candidate,
                "attention": info.attention is not None,
                "auto": info.name == auto,
            }
            for info in shown
        ]
        result = {"model": loaded.name, "input": list(x.shape), "auto": auto, "layers": rows}
        say(json.dumps(result))
        return
    say(f"{loaded.name}: input {tuple(x.shape)}; --layer auto = {auto or '(none found)'}")
    if not shown:
        say("no candidate layers (a spatial output the score depends on); try --all.")
        return
    say(format_layers(shown))
    if not show_all:
        listed = sum(info.candidate for info in shown)
        hidden = (
            f", {len(candidates) - listed} deeper ones hidden (--depth 0)"
            if listed < len(candidates)
            else ""
        )
        say(
            f"{len(candidates)} candidates of {len(infos)} modules{hidden}; "
            "--all lists every module."
        )
