"""What one explain request computes, on a worker thread: decode, preprocess, CAM, render.

The model is anything with the fields of :class:`camlens.models.LoadedModel` that the server
uses: ``model`` (eval mode, on ``device``), ``name``, ``categories`` (list or ``None``),
``preprocess`` (PIL image -> ``(3, H, W)`` normalised tensor), ``input_size``, ``device`` and
``target_layer`` (``None``: the layer :func:`camlens.core.discovery.choose_layer` picks).

The overlay is drawn on the model's own view of the upload (after resizing and cropping), which
the server recovers from ``preprocess`` itself: a normalisation is affine per channel, so
preprocessing a black and a white image gives each channel's offset and scale, and
``pixel = (tensor - black) / (white - black)`` undoes it exactly, whatever the geometry.
"""

from __future__ import annotations

import base64
import io
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor, nn

from ..core.capture import model_logits
from ..core.discovery import LayerInfo, choose_layer, layers
from ..core.errors import InvalidInputError, LayerNotFoundError
from ..core.layers import resolve_layers
from ..methods import METHODS, get_method
from ..models._loaded import DEFAULT_INPUT_SIZE, LoadedModel
from ..targets import ClassTarget
from ..targets.text import TextPromptTarget, dual_encoder_kind, image_tower
from ..viz.overlay import as_rgb, get_colormap, overlay, to_uint8
from .errors import invalid
from .gate import check_cancelled
from .headers import header_text
from .limits import Limits
from .options import ExplainOptions

DEFAULT_METHOD = "gradcam"

# One line per method for GET /v1/methods and the page's method menu.
DESCRIPTIONS = {
    "gradcam": "Grad-CAM: channels weighted by their mean gradient",
    "gradcam++": "Grad-CAM++: positive gradients, second-order weights",
    "xgradcam": "XGrad-CAM: gradients weighted by normalised activations",
    "hirescam": "HiResCAM: gradient times activation, element-wise, summed",
    "gradcamelementwise": "Grad-CAM element-wise: ReLU of gradient times activation",
    "layercam": "LayerCAM: positive gradients times activations",
    "eigencam": "Eigen-CAM: first principal component of the activations (no gradient)",
    "eigengradcam": "Eigen-Grad-CAM: principal component of gradient times activation",
    "cam": "CAM: the classifier's weights (global-average-pooled linear heads)",
    "scorecam": "Score-CAM: one forward pass per channel (slow)",
    "sscam": "SS-CAM: Score-CAM with noise (slow)",
    "iscam": "IS-CAM: Score-CAM with integrated masks (slow)",
    "ablationcam": "Ablation-CAM: drop each channel, one forward per channel (slow)",
    "randomcam": "Random-CAM: random channel weights (a baseline)",
    "fullgrad": "FullGrad: input gradient plus every bias gradient",
    "shapleycam": "Shapley-CAM: gradients and Hessian-vector products",
    "finercam": "Finer-CAM: the class against its nearest competitors",
    "fem": "FEM: channels that stand out from their mean (no gradient)",
    "sobelcam": "Sobel-CAM: edges of the image (a baseline, no model)",
    "kpcacam": "KPCA-CAM: kernel principal component of the activations",
    "segeigencam": "Seg-Eigen-CAM: Eigen-CAM signed by the gradient",
    "smoothgradcam++": "Smooth Grad-CAM++: Grad-CAM++ over noisy copies (slow)",
    "refinecam": "RefineCAM: several layers, refined from coarse to fine",
    "sess": "SESS: several scales and tiles, fused (slow)",
    "lime": "LIME: a weighted linear fit on superpixels hidden at random (black box, slow)",
    "kernelshap": "KernelSHAP: Shapley values of the superpixels (black box, slow)",
}


# The canonical name of each method: its key in camlens.METHODS (what GET /v1/methods lists).
METHOD_NAMES = {cls: name for name, cls in METHODS.items()}


@dataclass(frozen=True)
class Checked:
    """A request's options resolved before it is queued: the method class and its canonical
    name (``"gradcam++"`` whatever spelling was sent), the layer, the class index (``None``:
    the top-1 class)."""

    method: type
    name: str
    layer: str
    target: int | None


@dataclass
class Rendered:
    """The outcome of one job: the JSON answer, or the overlay PNG for ``Accept: image/png``."""

    body: dict[str, Any] | None
    png: bytes | None
    headers: dict[str, str]


def png_bytes(rgb: np.ndarray) -> bytes:
    """PNG file bytes of an ``(H, W, 3)`` uint8 image."""
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG", compress_level=3)
    return buffer.getvalue()


def data_url(png: bytes) -> str:
    """PNG bytes as a ``data:image/png;base64,...`` URL."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def small_map(cam: Tensor, side: int) -> dict[str, Any]:
    """``cam (H, W)`` area-averaged so that its longer side is at most ``side``, 4 decimals."""
    height, width = cam.shape
    scale = min(1.0, side / max(height, width))
    size = (max(1, round(height * scale)), max(1, round(width * scale)))
    pooled = F.adaptive_avg_pool2d(cam[None, None].float(), size)[0, 0].clamp(0.0, 1.0)
    values = np.round(pooled.numpy().astype(np.float64), 4).tolist()
    return {"height": size[0], "width": size[1], "values": values}


def _size_of(input_size: object) -> tuple[int, int]:
    """``(H, W)`` from ``input_size``: an int, ``(H, W)`` or ``(C, H, W)``; default 224."""
    if isinstance(input_size, int) and input_size > 0:
        return input_size, input_size
    if isinstance(input_size, tuple | list) and len(input_size) >= 2:
        return int(input_size[-2]), int(input_size[-1])
    return DEFAULT_INPUT_SIZE, DEFAULT_INPUT_SIZE


class Explainer:
    """The served model and everything known about it before the first request.

    ``loaded``: a :class:`camlens.models.LoadedModel` (or an object with its fields).
    At construction one probe (:func:`camlens.layers`) lists the layers and finds the number of
    classes; ``check`` validates a request's options against them before it is queued.
    """

    def __init__(self, loaded: Any, limits: Limits) -> None:
        self.loaded = loaded
        self.limits = limits
        # A CLIP-style dual encoder is explained through its image tower, for a text prompt.
        kind = dual_encoder_kind(loaded.model)
        self.dual: nn.Module | None = loaded.model if kind else None
        self.model: nn.Module = image_tower(loaded.model) if kind else loaded.model
        self._prompts: dict[str, TextPromptTarget] = {}
        self._prompts_lock = threading.Lock()
        self.name = str(getattr(loaded, "name", None) or type(self.model).__name__)
        self.device = torch.device(getattr(loaded, "device", None) or "cpu")
        self.preprocess: Callable[[Image.Image], Tensor] = loaded.preprocess
        height, width = _size_of(getattr(loaded, "input_size", None))
        grey = self._tensor(Image.new("RGB", (width, height), (128, 128, 128)))
        self.layer_infos: list[LayerInfo] = layers(self.model, grey)
        with torch.no_grad():
            logits = model_logits(self.model(grey))
        self.num_classes = int(logits.shape[-1])
        categories = getattr(loaded, "categories", None)
        self.categories: list[str] | None = list(categories) if categories else None
        if self.categories is not None and len(self.categories) != self.num_classes:
            self.categories = None  # names that do not fit the output would mislead
        layer = getattr(loaded, "target_layer", None)
        if layer and kind == "open_clip":
            layer = layer.removeprefix("visual.")  # the tower's name for it
        self.default_layer: str = layer or choose_layer(self.model, grey)
        resolve_layers(self.model, self.default_layer)  # a wrong --layer fails at start
        self._black = self._tensor(Image.new("RGB", (width, height), (0, 0, 0)))[0]
        self._white = self._tensor(Image.new("RGB", (width, height), (255, 255, 255)))[0]
        span = self._white - self._black
        self._invertible = bool(span.abs().min() > 1e-6)
        if self._invertible:  # affine per channel: mid-grey must come back as 128
            back = (grey[0] - self._black) / span
            self._invertible = bool((back - 128 / 255).abs().max() < 0.5 / 255)

    # --- before queuing: cheap checks on the event loop ---------------------------------------
    def check(self, options: ExplainOptions) -> Checked:
        """``options`` resolved (:class:`Checked`), or a 422 that says what is wrong.

        Checks the method, layer, class (an index or a class name, resolved as the CLI's
        ``--target`` is, by :meth:`camlens.models.LoadedModel.class_index`), colormap,
        ``top_k`` and ``map_size`` without running the model.
        """
        try:
            method = get_method(options.method)
        except KeyError:
            raise invalid(
                "unknown_method",
                f"unknown method {options.method!r}; GET /v1/methods lists the known ones: "
                f"{', '.join(METHODS)}.",
            ) from None
        layer = options.layer or self.default_layer
        try:
            resolve_layers(self.model, layer)
        except LayerNotFoundError as exc:
            raise invalid("unknown_layer", f"{exc} GET /v1/layers lists the layers.") from None
        if options.prompt is not None and self.dual is None:
            raise invalid(
                "not_a_dual_encoder",
                f"{self.name} is not a CLIP-style dual encoder, so it has no text side: leave "
                "out 'prompt' and give a class 'target' instead.",
            )
        if self.dual is not None and not (options.prompt or "").strip():
            raise invalid(
                "missing_prompt",
                f"{self.name} is a dual encoder: give a text 'prompt' to explain (e.g. "
                '{"prompt": "a photo of a dog"}).',
            )
        target = None if self.dual is not None else self.class_index(options.target)
        try:
            get_colormap(options.colormap)
        except Exception as exc:
            raise invalid("invalid_options", str(exc)) from None
        top_k_limit = min(self.limits.max_top_k, self.num_classes)
        if options.top_k > top_k_limit:
            raise invalid(
                "invalid_options", f"top_k must be at most {top_k_limit}, got {options.top_k}."
            )
        if options.map_size > self.limits.max_map_side:
            raise invalid(
                "invalid_options",
                f"map_size must be at most {self.limits.max_map_side}, got {options.map_size}.",
            )
        return Checked(method, METHOD_NAMES[method], layer, target)

    def class_index(self, target: int | str | None) -> int | None:
        """The class index of ``target`` (an index, or a class name when the model has names),
        or a 422 ``invalid_target``."""
        if target is None:
            return None
        try:  # the CLI's one rule, over this server's (checked) class names
            index = LoadedModel.class_index(self, str(target))  # type: ignore[arg-type]
        except InvalidInputError as exc:
            raise invalid("invalid_target", " ".join(str(exc).split())) from None
        if index >= self.num_classes:
            raise invalid(
                "invalid_target",
                f"class {index} is out of range: the model has {self.num_classes} "
                f"classes (0..{self.num_classes - 1}).",
            )
        return index

    def label(self, index: int) -> str | None:
        return self.categories[index] if self.categories else None

    # --- on a worker thread --------------------------------------------------------------------
    def _tensor(self, image: Image.Image) -> Tensor:
        tensor = self.preprocess(image)
        if tensor.ndim == 3:
            tensor = tensor[None]
        return tensor.to(self.device)

    def view(self, image: Image.Image, tensor: Tensor) -> np.ndarray:
        """``(H, W, 3)`` uint8: the model's view of ``image`` (its input, un-normalised).

        ``loaded.display_image(image, (H, W))`` when the model has it (``LoadedModel``), else the
        input tensor un-normalised (see the module docstring), else ``image`` resized.
        """
        size = (int(tensor.shape[-2]), int(tensor.shape[-1]))
        display = getattr(self.loaded, "display_image", None)
        if callable(display):
            return np.ascontiguousarray(display(image, size), dtype=np.uint8)
        if self._invertible:
            pixels = (tensor[0] - self._black) / (self._white - self._black)
            return to_uint8(pixels.permute(1, 2, 0).detach().cpu().double().numpy())
        height, width = tensor.shape[-2:]
        return as_rgb(image.convert("RGB").resize((width, height), Image.Resampling.BILINEAR))

    def run(
        self,
        model: nn.Module,
        image: Image.Image,
        options: ExplainOptions,
        checked: Checked,
        *,
        want_png: bool,
    ) -> Rendered:
        """Explain ``image`` with ``model`` (this worker's replica): CAM, top-k, PNGs."""
        start = time.perf_counter()
        x = self._tensor(image)
        check_cancelled()
        layer = checked.layer
        if self.dual is not None:
            return self._run_prompt(model, image, x, options, checked, want_png, start)
        targets = None if checked.target is None else ClassTarget(checked.target)
        cam = checked.method(model, layer)
        explanation = cam.explain(x, targets)
        check_cancelled()
        logits = explanation.outputs.detach().reshape(x.shape[0], -1)[0].float().cpu()
        probabilities = torch.softmax(logits, dim=-1)
        explained = explanation.targets[0]
        target = int(getattr(explained, "category", logits.argmax()))
        cam_map = explanation.maps[0].detach().float().cpu()
        picture = self.view(image, x)
        blended = overlay(picture, cam_map, options.colormap, options.alpha)

        def score(index: int) -> dict[str, Any]:
            return {
                "index": index,
                "label": self.label(index),
                "score": round(float(logits[index]), 6),
                "probability": round(float(probabilities[index]), 6),
            }

        headers = {  # the same names as the JSON, encodable whatever the request named
            "X-Camlens-Method": header_text(checked.name),
            "X-Camlens-Layer": header_text(layer),
            "X-Camlens-Target": header_text(target),
        }
        if want_png:
            return Rendered(None, png_bytes(blended), headers)
        top = torch.topk(probabilities, options.top_k)
        colours = to_uint8(get_colormap(options.colormap)(cam_map.double().numpy())[..., :3])
        body: dict[str, Any] = {
            "model": self.name,
            "method": checked.name,
            "layer": layer,
            "target": score(target),
            "prediction": score(int(logits.argmax())),
            "top_k": [score(int(i)) for i in top.indices],
            "map": small_map(cam_map, options.map_size),
            "image": data_url(png_bytes(picture)),
            "heatmap": data_url(png_bytes(colours)),
            "overlay": data_url(png_bytes(blended)),
            "alpha": options.alpha,
            "colormap": options.colormap,
            "seconds": round(time.perf_counter() - start, 4),
        }
        if not all(math.isfinite(float(v["score"])) for v in body["top_k"]):
            raise invalid("invalid_output", "the model returned NaN or infinite scores.")
        return Rendered(body, None, headers)

    def prompt_target(self, prompt: str) -> TextPromptTarget:
        """The prompt's target, its text encoded once and kept (the last 64 prompts)."""
        prompt = prompt.strip()
        assert self.dual is not None  # the callers check that the model reads prompts
        with self._prompts_lock:
            target = self._prompts.get(prompt)
            if target is None:
                target = TextPromptTarget(self.dual, prompt)
                if len(self._prompts) >= 64:
                    self._prompts.pop(next(iter(self._prompts)))
                self._prompts[prompt] = target
        return target

    def _run_prompt(
        self,
        model: nn.Module,
        image: Image.Image,
        x: Tensor,
        options: ExplainOptions,
        checked: Checked,
        want_png: bool,
        start: float,
    ) -> Rendered:
        """A dual encoder: the map of the image's cosine similarity to ``options.prompt``."""
        target = self.prompt_target(options.prompt or "")
        layer = checked.layer
        explanation = checked.method(model, layer).explain(x, target)
        check_cancelled()
        cam_map = explanation.maps[0].detach().float().cpu()
        picture = self.view(image, x)
        blended = overlay(picture, cam_map, options.colormap, options.alpha)
        cosine = float(explanation.scores[0])
        if not math.isfinite(cosine):
            raise invalid("invalid_output", "the model returned a NaN or infinite embedding.")
        headers = {
            "X-Camlens-Method": header_text(checked.name),
            "X-Camlens-Layer": header_text(layer),
        }
        if want_png:
            return Rendered(None, png_bytes(blended), headers)
        scored = {"index": 0, "label": target.prompt, "score": round(cosine, 6)}
        scored["probability"] = None
        colours = to_uint8(get_colormap(options.colormap)(cam_map.double().numpy())[..., :3])
        body = {
            "model": self.name,
            "method": checked.name,
            "layer": layer,
            "target": scored,
            "prediction": scored,
            "top_k": [],
            "map": small_map(cam_map, options.map_size),
            "image": data_url(png_bytes(picture)),
            "heatmap": data_url(png_bytes(colours)),
            "overlay": data_url(png_bytes(blended)),
            "alpha": options.alpha,
            "colormap": options.colormap,
            "seconds": round(time.perf_counter() - start, 4),
            "prompt": target.prompt,
        }
        return Rendered(body, None, headers)
