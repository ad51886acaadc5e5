"""``camlens explain IMAGE... --model MODEL``: an overlay PNG and the map as ``.npy`` per image
and target, and one summary line per image (its predicted class and probability).

Images go through the model in batches; every target of a batch (``top1``, ``top5``, classes)
comes from one forward pass (``BaseCAM.explain_targets``).
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from ._common import (
    EXIT_BAD_INPUT,
    CommandError,
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
    one_line,
    parse_method,
    progress,
    progress_option,
    resolve_layer_option,
    resolve_targets,
    say,
    split_list,
    unique_stems,
)


@click.command(name="explain", cls=GuardedCommand)
@click.argument("images", nargs=-1, required=True, type=click.Path(path_type=Path))
@model_options()
@click.option(
    "--method",
    "--methods",
    "method",
    default="gradcam",
    show_default=True,
    shell_complete=complete_methods,
    metavar="NAME[,NAME...]",
    help="camlens method names, comma-separated: gradcam, gradcam++, scorecam, layercam, "
    "eigencam, rise, occlusion, ... (one map per method).",
)
@click.option(
    "--layer",
    default="auto",
    show_default=True,
    metavar="NAME|auto",
    help="The layer to explain (dotted name, e.g. layer4 or features.18; several comma-"
    "separated are fused); auto: the model's usual layer, else the last spatial one.",
)
@click.option(
    "--target",
    "targets",
    multiple=True,
    default=("top1",),
    show_default=True,
    metavar="top1|topK|CLASS",
    help="What to explain: each image's top class, its K best, or a class index or name "
    "(quote names with spaces). Repeat for several.",
)
@click.option(
    "--prompt",
    "prompts",
    multiple=True,
    metavar="TEXT",
    help="For a CLIP-style dual encoder (e.g. benchmark-clip, an open_clip or Hugging Face "
    "CLIP model): explain the image's similarity to this text, one map per prompt. Repeat for "
    "several; replaces --target.",
)
@click.option(
    "--contrast",
    is_flag=True,
    help="With --prompt: explain each prompt's softmax probability against the other prompts "
    "instead of its cosine similarity.",
)
@click.option(
    "--tokenizer",
    metavar="FOLDER",
    help="With --prompt: a Hugging Face tokenizer folder (a CLIPModel needs one; open_clip "
    "models and benchmark-clip bring their own).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("camlens-out"),
    show_default=True,
    help="Folder for <image>.<method>.<target>.png and .npy (created if missing).",
)
@click.option("--batch-size", type=click.IntRange(min=1), default=8, show_default=True)
@click.option("--alpha", type=click.FloatRange(0.0, 1.0), default=0.5, show_default=True)
@click.option("--colormap", default="jet", show_default=True, help="A matplotlib colormap.")
@click.option(
    "--figure", is_flag=True, help="Write a labelled figure (title, colour bar), not the overlay."
)
@click.option(
    "--raw",
    is_flag=True,
    help="Also save each layer's map before upsampling and normalising (<name>.raw.npy).",
)
@click.option(
    "--aug-smooth", is_flag=True, help="Average over flips and intensity scalings (6 passes)."
)
@click.option(
    "--eigen-smooth",
    is_flag=True,
    help="First principal component of the weighted activations instead of their sum.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per image.")
@progress_option
@click.option(
    "--skip-bad",
    is_flag=True,
    help="Skip images that cannot be read (one line each on stderr), explain the rest, and exit "
    "with 3 at the end.",
)
@device_option
@debug_option
def command(
    images: tuple[Path, ...],
    model: str,
    weights: str | None,
    labels: str | None,
    size: int | None,
    method: str,
    layer: str,
    targets: tuple[str, ...],
    prompts: tuple[str, ...],
    contrast: bool,
    tokenizer: str | None,
    out: Path,
    batch_size: int,
    alpha: float,
    colormap: str,
    figure: bool,
    raw: bool,
    aug_smooth: bool,
    eigen_smooth: bool,
    as_json: bool,
    show_progress: bool | None,
    skip_bad: bool,
    device: str,
    debug: bool,
) -> None:
    """Explain each IMAGE: an overlay PNG and the map (.npy) per target, one line per image.

    \b
    camlens explain cat.jpg --model demo
    camlens explain photos/*.jpg --model resnet50 --target top3 --out maps/
    camlens explain cat.jpg --model resnet18 --weights my.pt --target 281 --target tabby
    camlens explain shapes.png --model benchmark-clip --prompt "a star" --prompt "a circle"
    camlens explain cat.jpg --model model.onnx --methods rise,scorecam --layer /features/Relu
    """
    from PIL import Image

    from ..errors import InvalidImageError
    from ..images import load_image
    from ..viz import get_colormap

    methods = [parse_method(m) for m in split_list(method)]
    if not methods:
        raise click.BadParameter("give at least one method.", param_hint="--method")
    try:
        get_colormap(colormap)
    except Exception:
        raise click.BadParameter(
            f"unknown colormap {colormap!r}.", param_hint="--colormap"
        ) from None
    paths = list(images) if skip_bad else check_image_paths(images)
    if (contrast or tokenizer) and not prompts:
        raise click.UsageError("--contrast and --tokenizer go with --prompt.")
    if prompts and targets != ("top1",):
        raise click.UsageError("give --target (a classifier) or --prompt (a dual encoder).")
    loaded = load_model_for_cli(model, weights, device, labels, size)
    if prompts:
        loaded, chosen = prompt_targets(loaded, prompts, contrast, tokenizer)
    else:
        from ..targets.text import dual_encoder_kind

        if dual_encoder_kind(loaded.model):
            raise click.UsageError(
                f"{loaded.name} is a CLIP-style dual encoder: explain a text, e.g. "
                '--prompt "a photo of a dog" (repeat for several), not a class.'
            )
        chosen = resolve_targets(targets, loaded)
    out.mkdir(parents=True, exist_ok=True)
    stems = unique_stems(paths)
    writers = {
        name: _Writer(loaded, name, out, alpha, colormap, figure, raw, as_json)
        for name, _ in methods
    }
    batch: list[tuple[Path, str, Image.Image]] = []
    cams: dict[str, object] = {}
    layers: dict[str, list[str]] = {}
    skipped = 0
    items = enumerate(zip(paths, stems, strict=True), start=1)
    for n, (path, stem) in progress(items, total=len(paths), desc="explain", enabled=show_progress):
        try:
            batch.append((path, stem, load_image(path)))
        except InvalidImageError as exc:
            if not skip_bad:
                raise
            skipped += 1
            note(f"skipped {one_line(exc)}")
        if not batch or (len(batch) < batch_size and n < len(paths)):
            continue
        pictures, x = _prepare(loaded, batch)
        for method_name, method_cls in methods:
            if method_name not in cams:
                if is_attention_method(method_cls) and layer.lower() == "auto":
                    cam = method_cls(loaded.model)  # its own blocks: every attention block
                    layers[method_name] = cam.attention_blocks(x[:1])
                elif uses_no_layer(method_cls):  # black boxes (RISE, LIME, ...): a forward only
                    cam = method_cls(loaded.model)
                    layers[method_name] = []
                else:
                    layers[method_name] = resolve_layer_option(loaded, layer, x[:1])
                    cam = method_cls(loaded.model, layers[method_name])
                cams[method_name] = cam
                if not as_json:
                    where = (
                        f"layer {', '.join(layers[method_name])}"
                        if layers[method_name]
                        else "the input (a black-box method)"
                    )
                    note(f"{method_name} on {loaded.name} at {where} ({x.device})")
            with batch_progress(show_progress, f"{method_name} masked images"):
                results = cams[method_name].explain_targets(
                    x,
                    [target for _, target in chosen],
                    aug_smooth=aug_smooth,
                    eigen_smooth=eigen_smooth,
                )
            if not prompts:
                check_categories(loaded, results[0].outputs)
            for i, (path_i, stem_i, _) in enumerate(batch):
                writers[method_name].write(
                    path_i, stem_i, pictures[i], i, chosen, results, layers[method_name]
                )
        batch = []
    if skipped:
        raise CommandError(
            f"{skipped} of {len(paths)} images could not be read (see above); "
            f"the other {len(paths) - skipped} were explained.",
            EXIT_BAD_INPUT,
        )


def prompt_targets(loaded, prompts, contrast, tokenizer):
    """``(the image tower as a model to explain, [(tag, TextPromptTarget), ...])``: one target
    per distinct prompt, the text encoded once. A model that is not a dual encoder raises
    :class:`~camlens.targets.NotADualEncoderError`."""
    import dataclasses
    import re

    from ..targets.text import TextPromptTarget, dual_encoder_kind

    unique = list(dict.fromkeys(p.strip() for p in prompts))
    tok = None
    if tokenizer is not None:
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(tokenizer, local_files_only=True)
    kind = dual_encoder_kind(loaded.model)
    target = TextPromptTarget(loaded.model, unique, tokenizer=tok, contrast=contrast)
    layer = loaded.target_layer
    if layer and kind == "open_clip" and layer.startswith("visual."):
        layer = layer.removeprefix("visual.")  # the tower's own name for it
    tower = dataclasses.replace(loaded, model=target.image_model, target_layer=layer)
    tags: list[str] = []
    for text in unique:
        tag = "prompt-" + (re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "text")
        while tag in tags:
            tag += "-2"
        tags.append(tag)
    return tower, list(zip(tags, target, strict=True))


def uses_no_layer(method_cls: type) -> bool:
    """A method that reads no layer (its needs lack activations: LIME, KernelSHAP)."""
    from ..core.contract import ACTIVATIONS

    needs = getattr(method_cls, "needs", None)
    return callable(needs) and ACTIVATIONS not in needs()


def is_attention_method(method_cls: type) -> bool:
    """Whether ``method_cls`` explains attention (rollout, Chefer, LeGrad) rather than a layer."""
    from ..methods._attention import AttentionMethod

    return isinstance(method_cls, type) and issubclass(method_cls, AttentionMethod)


def _prepare(loaded, batch):
    """Load and preprocess a batch: ``(display images (H, W, 3) uint8, x (B, 3, H, W))``."""
    import torch

    from ..core.errors import InvalidInputError

    originals = [image for _, _, image in batch]
    tensors = [loaded.preprocess(image) for image in originals]
    shapes = {tuple(t.shape) for t in tensors}
    if len(shapes) != 1:
        raise InvalidInputError(
            f"the preprocessing gave tensors of different shapes {sorted(shapes)}; "
            "run with --batch-size 1."
        )
    x = torch.stack(tensors).to(loaded.device)
    size = tuple(x.shape[2:])
    return [loaded.display_image(image, size) for image in originals], x


class _Writer:
    """Writes one image's PNGs and ``.npy`` files and prints its summary line."""

    def __init__(self, loaded, method, out, alpha, colormap, figure, raw, as_json) -> None:
        self.loaded, self.method, self.out = loaded, method, out
        self.alpha, self.colormap, self.figure = alpha, colormap, figure
        self.raw, self.as_json = raw, as_json

    def write(self, path, stem, picture, i, chosen, results, layers) -> None:
        import numpy as np
        import torch
        from PIL import Image

        from ..viz import figure, overlay

        if hasattr(chosen[0][1], "prompts"):
            self.write_prompts(path, stem, picture, i, chosen, results, layers)
            return
        outputs = results[0].outputs[i].detach().float().cpu().flatten()
        probabilities = torch.softmax(outputs, dim=0)
        best = int(outputs.argmax())
        records = []
        for (tag, _), result in zip(chosen, results, strict=True):
            index = int(result.targets[i].category)
            base = self.out / f"{stem}.{self.method}.{tag}"
            cam_map = result.maps[i].detach().float().cpu().numpy()
            npy = base.with_name(base.name + ".npy")
            np.save(npy, cam_map.astype(np.float32))
            png = base.with_name(base.name + ".png")
            if self.figure:
                name = class_label(self.loaded, index)
                percent = 100 * float(probabilities[index])
                where = ", ".join(layers) or "superpixels"
                title = f"{name} {percent:.1f}%\n{self.method} @ {where}, {tag}"
                fig = figure(picture, cam_map, title, colormap=self.colormap, alpha=self.alpha)
                fig.savefig(png, dpi=100)
            else:
                blended = overlay(picture, cam_map, colormap=self.colormap, alpha=self.alpha)
                Image.fromarray(blended).save(png)
            if self.raw:
                for n, (layer, values) in enumerate(result.raw.items()):
                    suffix = ".raw.npy" if len(result.raw) == 1 else f".raw{n}-{layer}.npy"
                    np.save(base.with_name(base.name + suffix), values[i].detach().cpu().numpy())
            records.append(
                {
                    "target": tag,
                    "index": index,
                    "name": self.loaded.category(index),
                    "probability": float(probabilities[index]),
                    "score": float(outputs[index]),
                    "png": str(png),
                    "npy": str(npy),
                }
            )
        predicted = {
            "index": best,
            "name": self.loaded.category(best),
            "probability": float(probabilities[best]),
            "score": float(outputs[best]),
        }
        if self.as_json:
            say(
                json.dumps(
                    {
                        "image": str(path),
                        "model": self.loaded.name,
                        "method": self.method,
                        "layers": layers,
                        "predicted": predicted,
                        "maps": records,
                    }
                )
            )
            return
        more = f" (+{len(records) - 1} more)" if len(records) > 1 else ""
        name = class_label(self.loaded, best)
        say(f"{path}  {name} {100 * predicted['probability']:.1f}%  -> {records[0]['png']}{more}")

    def save_map(self, base, picture, cam_map, title) -> tuple[Path, Path]:
        """Write ``<base>.npy`` and the overlay (or figure) ``<base>.png``."""
        import numpy as np
        from PIL import Image

        from ..viz import figure, overlay

        npy = base.with_name(base.name + ".npy")
        np.save(npy, cam_map.astype(np.float32))
        png = base.with_name(base.name + ".png")
        if self.figure:
            fig = figure(picture, cam_map, title, colormap=self.colormap, alpha=self.alpha)
            fig.savefig(png, dpi=100)
        else:
            Image.fromarray(
                overlay(picture, cam_map, colormap=self.colormap, alpha=self.alpha)
            ).save(png)
        return png, npy

    def write_prompts(self, path, stem, picture, i, chosen, results, layers) -> None:
        """One map per prompt; the summary names the prompt the image is most similar to."""
        import numpy as np

        records = []
        for (tag, target), result in zip(chosen, results, strict=True):
            cam_map = result.maps[i].detach().float().cpu().numpy()
            score = float(result.scores[i])
            what = "probability" if target.contrast else "cosine"
            title = f"{target.prompt!r} {what} {score:.3f}\n{self.method} @ {', '.join(layers)}"
            png, npy = self.save_map(
                self.out / f"{stem}.{self.method}.{tag}", picture, cam_map, title
            )
            if self.raw:
                for n, (layer, values) in enumerate(result.raw.items()):
                    suffix = ".raw.npy" if len(result.raw) == 1 else f".raw{n}-{layer}.npy"
                    base = self.out / f"{stem}.{self.method}.{tag}"
                    np.save(base.with_name(base.name + suffix), values[i].detach().cpu().numpy())
            records.append(
                {
                    "target": tag,
                    "prompt": target.prompt,
                    what: score,
                    "png": str(png),
                    "npy": str(npy),
                }
            )
        key = "probability" if chosen[0][1].contrast else "cosine"
        best = max(records, key=lambda r: r[key])
        if self.as_json:
            say(
                json.dumps(
                    {
                        "image": str(path),
                        "model": self.loaded.name,
                        "method": self.method,
                        "layers": layers,
                        "best_prompt": best["prompt"],
                        "maps": records,
                    }
                )
            )
            return
        more = f" (+{len(records) - 1} more)" if len(records) > 1 else ""
        say(f"{path}  {best['prompt']!r} {key} {best[key]:.3f}  -> {records[0]['png']}{more}")
