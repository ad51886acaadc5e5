"""``camlens compare IMAGE --methods gradcam,gradcam++ --layers layer3,layer4``: one grid PNG,
methods × layers (as figure 13 of the Grad-CAM paper compares layers).

Every method sees the same target (default: the image's top-1 class); ``camlens.explain`` runs
the methods from one shared forward/backward pass where they allow it, and every layer is
captured in that same pass.
"""

from __future__ import annotations

from pathlib import Path

import click

from ._common import (
    GuardedCommand,
    batch_progress,
    check_categories,
    check_image_paths,
    class_label,
    complete_methods,
    debug_option,
    device_option,
    load_model_for_cli,
    model_options,
    note,
    parse_methods,
    progress,
    progress_option,
    resolve_layer_option,
    resolve_targets,
    say,
    unique_stems,
)


@click.command(name="compare", cls=GuardedCommand)
@click.argument("images", nargs=-1, required=True, type=click.Path(path_type=Path))
@model_options()
@click.option(
    "--methods",
    default="gradcam,gradcam++,layercam",
    show_default=True,
    shell_complete=complete_methods,
    metavar="NAME,...",
    help="Comma-separated method names: one grid row each.",
)
@click.option(
    "--layers",
    default="auto",
    show_default=True,
    metavar="NAME,...|auto",
    help="Comma-separated layer names: one grid column each (see `camlens layers MODEL`).",
)
@click.option(
    "--target",
    default="top1",
    show_default=True,
    metavar="top1|CLASS",
    help="What every map explains: the image's top class, or a class index or name.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("camlens-out"),
    show_default=True,
    help="A folder (gets <image>.compare.png) or, for one image, a .png file name.",
)
@click.option("--alpha", type=click.FloatRange(0.0, 1.0), default=0.5, show_default=True)
@click.option("--cell-size", type=click.FloatRange(min=0.5), default=2.4, show_default=True)
@progress_option
@device_option
@debug_option
def command(
    images: tuple[Path, ...],
    model: str,
    weights: str | None,
    labels: str | None,
    size: int | None,
    methods: str,
    layers: str,
    target: str,
    out: Path,
    alpha: float,
    cell_size: float,
    show_progress: bool | None,
    device: str,
    debug: bool,
) -> None:
    """Compare methods (rows) and layers (columns) on each IMAGE in one grid PNG.

    \b
    camlens compare cat.jpg --model resnet50 --methods gradcam,gradcam++,scorecam \\
        --layers layer2,layer3,layer4
    camlens compare cat.jpg --model demo --layers features.14,features.17,features.18
    """
    import camlens

    from ..loading import load_image
    from ..viz import save_grid

    names = list(dict.fromkeys(parse_methods(methods)))
    single_file = out.suffix.lower() == ".png"
    if single_file and len(images) > 1:
        raise click.BadParameter(
            f"{out} is one file but {len(images)} images were given; pass a folder.",
            param_hint="--out",
        )
    paths = check_image_paths(images)
    loaded = load_model_for_cli(model, weights, device, labels, size)
    chosen = resolve_targets([target], loaded)
    if len(chosen) != 1:
        raise click.BadParameter(
            "compare explains one target: top1 or a class.", param_hint="--target"
        )
    _, the_target = chosen[0]
    columns: list[str] = []
    for path, stem in progress(
        zip(paths, unique_stems(paths), strict=True),
        total=len(paths),
        desc="compare",
        enabled=show_progress,
    ):
        image = load_image(path)
        x = loaded.preprocess(image)[None].to(loaded.device)
        picture = loaded.display_image(image, tuple(x.shape[2:]))
        if not columns:
            columns = resolve_layer_option(loaded, layers, x)
            columns = list(dict.fromkeys(columns))
            note(f"{', '.join(names)} on {loaded.name} at {', '.join(columns)} ({x.device})")
        with batch_progress(show_progress):
            results = camlens.explain(loaded.model, x, names, columns, the_target)
        first = next(iter(results.values()))
        check_categories(loaded, first.outputs)
        index = int(first.targets[0].category)
        probabilities = first.outputs[0].detach().float().flatten().softmax(0)
        label = f"{class_label(loaded, index)} {100 * float(probabilities[index]):.1f}%"
        cams = [[results[m].per_layer[layer][0].detach().cpu() for layer in columns] for m in names]
        png = out if single_file else out / f"{stem}.compare.png"
        save_grid(
            [picture] * len(names),
            cams,
            png,
            row_labels=names,
            col_labels=columns,
            image_label=label,
            alpha=alpha,
            cell_size=cell_size,
        )
        say(f"{path}  {label}  -> {png}")
