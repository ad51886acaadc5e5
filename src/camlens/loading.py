"""Load a model and images from what a user types: ``load_model("resnet50")``, ``load_image(path)``.

``load_model(spec, weights)`` understands, in this order:

1. a path to a saved model: TorchScript (``torch.jit.save``), or a whole pickled module
   (``torch.save(model)``, loaded with ``weights_only=False`` after an
   :class:`UntrustedFileWarning`);
   a state-dict file given as ``spec`` is refused with a hint to pass an architecture name;
2. ``timm:NAME``: a timm model;
3. ``demo`` (and ``mobilenet_v2`` without ``weights``): torchvision's ImageNet MobileNetV2 from the
   bundled checkpoint (:mod:`camlens.pretrained`);
4. a name of :mod:`camlens.zoo`, when that module exists;
5. a torchvision classification model name (``resnet50``);
6. any other timm model name, when timm is installed.

``weights`` is a torchvision weights enum name (``IMAGENET1K_V1``, ``DEFAULT``,
``ResNet50_Weights.IMAGENET1K_V2``), a local file (a state dict, possibly under ``"state_dict"`` /
``"model"``, with or without DataParallel's ``module.`` prefix; ``.safetensors`` too), or
``"random"`` (the architecture with random weights, for trying things out). Nothing is ever
downloaded: torchvision and timm weights are used only when they are already in the local cache,
otherwise :class:`ModelLoadError` names the file and where to put it.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import io
import re
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from torch import nn

from .errors import (
    CamlensError,
    DeviceError,
    ImageTooLargeError,
    InvalidImageError,
    InvalidInputError,
    MissingDependencyError,
    ModelLoadError,
    UnknownModelError,
    UntrustedFileWarning,
    WeightsUnavailableError,
)
from .extras import install_hint, require
from .pretrained import sha256_of

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
DEFAULT_INPUT_SIZE = 224
RANDOM = "random"
RANDOM_NOTE = "random weights: the maps and classes mean nothing"
DEMO_LAYER = "features.18"  # MobileNetV2's last conv block (7x7), as camlens.demo uses
WEIGHT_SUFFIXES = (".pt", ".pth", ".pth.tar", ".bin", ".ckpt", ".safetensors", ".th", ".tar")

# Grad-CAM's usual layer (the last convolutional block) for torchvision families, by name prefix.
_TORCHVISION_LAYERS = {
    "resnet": "layer4",
    "resnext": "layer4",
    "wide_resnet": "layer4",
    "mobilenet_v2": "features.18",
    "mobilenet_v3": "features",
    "vgg": "features",
    "densenet": "features.norm5",
    "efficientnet": "features",
    "convnext": "features",
    "regnet": "trunk_output",
}


@dataclass
class LoadedModel:
    """A model ready to explain, with what the CLI, the web app and audits need around it.

    ``preprocess(image) -> (3, H, W)`` float32, normalised for the model; ``crop(image)`` is its
    geometric part only (resize and center-crop, a PIL image of ``H x W``), so maps computed on
    ``preprocess(image)`` lie exactly on ``crop(image)``.
    """

    model: nn.Module
    name: str
    categories: list[str] | None
    preprocess: Callable[[Image.Image], torch.Tensor]
    input_size: int | None
    device: torch.device
    weights: str | None
    weights_sha256: str | None
    target_layer: str | None
    crop: Callable[[Image.Image], Image.Image] | None = None
    notes: list[str] = field(default_factory=list)

    def display_image(self, image: Image.Image, size: tuple[int, int]) -> np.ndarray:
        """``(H, W, 3)`` uint8: the picture the model saw, ``size = (H, W)`` of its input."""
        shown = self.crop(image) if self.crop is not None else image
        if shown.size != (size[1], size[0]):
            shown = shown.resize((size[1], size[0]), Image.Resampling.BILINEAR)
        return np.asarray(shown.convert("RGB"), dtype=np.uint8).copy()

    def category(self, index: int) -> str:
        """The name of class ``index`` (``"class 7"`` when no names are known)."""
        if self.categories is not None and 0 <= index < len(self.categories):
            return self.categories[index]
        return f"class {index}"

    def class_index(self, value: str | int) -> int:
        """A class given as an index (``"281"``) or a category name (``"tabby"``, any case).

        Raises :class:`InvalidInputError` for an unknown or ambiguous name (with close matches),
        or an index outside ``categories`` when they are known.
        """
        text = str(value).strip()
        if re.fullmatch(r"-?[0-9]+", text):  # ASCII digits: isdigit() and int() take "٢٨١" too
            index = int(text)
            count = len(self.categories) if self.categories is not None else None
            if index < 0 or (count is not None and index >= count):
                valid = f"0..{count - 1}" if count is not None else ">= 0"
                raise InvalidInputError(
                    f"class index {index} is out of range for {self.name} (valid: {valid})."
                )
            return index
        if self.categories is None:
            raise InvalidInputError(
                f"class {text!r} is not an index and {self.name} has no class names; "
                "pass an index, or the names with --labels FILE (one per line)."
            )
        folded = [c.casefold() for c in self.categories]
        hits = [i for i, c in enumerate(folded) if c == text.casefold()]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            raise InvalidInputError(
                f"class name {text!r} is ambiguous in {self.name}: indices "
                f"{', '.join(map(str, hits))}; pass the index."
            )
        close = difflib.get_close_matches(text.casefold(), folded, n=5, cutoff=0.6)
        names = ", ".join(repr(self.categories[folded.index(c)]) for c in close)
        hint = f" Close matches: {names}."
        raise InvalidInputError(
            f"no class named {text!r} in {self.name}.{hint if close else ''} "
            "Pass a class index or a category name."
        )


# --- devices --------------------------------------------------------------------------------


def resolve_device(name: str) -> torch.device:
    """``cpu``, ``cuda`` (or ``cuda:N``), ``mps`` or ``auto`` (cuda, then mps, then cpu).

    Raises :class:`DeviceError` for an unknown name or a device this machine does not have.
    """
    key = (name or "cpu").strip().lower()
    mps = getattr(torch.backends, "mps", None)
    has_mps = bool(mps is not None and mps.is_available())
    if key == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if has_mps else torch.device("cpu")
    try:
        device = torch.device(key)
    except (RuntimeError, ValueError):
        raise DeviceError(f"unknown device {name!r}; use cpu, cuda, cuda:N, mps or auto.") from None
    if device.type == "cpu":
        return device
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(
                f"device {name!r} asked for, but CUDA is not available here "
                "(no GPU, or a CPU-only torch); use --device cpu or auto."
            )
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise DeviceError(
                f"device {name!r} asked for, but there are {torch.cuda.device_count()} CUDA "
                "devices."
            )
        return device
    if device.type == "mps":
        if not has_mps:
            raise DeviceError(
                f"device {name!r} asked for, but Apple's MPS is not available here; "
                "use --device cpu or auto."
            )
        return device
    raise DeviceError(f"unsupported device {name!r}; use cpu, cuda, cuda:N, mps or auto.")


# --- images ---------------------------------------------------------------------------------


def _source_name(source: str | PathLike[str] | bytes) -> str:
    return "the uploaded bytes" if isinstance(source, bytes | bytearray) else str(source)


MAX_PIXELS = 40_000_000  # decoded or resized: 120 MB of RGB
MAX_ASPECT = 100  # longest side / shortest side; the short side is what preprocessing scales up


def check_image_size(
    width: int,
    height: int,
    what: str = "the image",
    *,
    max_pixels: int | None = MAX_PIXELS,
    max_aspect: float = MAX_ASPECT,
    resize: int | None = None,
) -> None:
    """Refuse an image too large to decode or to preprocess, from its size alone.

    The one bound of :func:`load_image` (the header, before decoding) and of the preprocessing
    (before resizing): at most ``max_pixels`` pixels (``None``: not checked, as the preprocess
    does for an image its loader has already let in), an aspect ratio of at most ``max_aspect``
    (preprocessing scales the *short* side to the model's input, so a thin strip grows by its
    aspect ratio: 1x10000 becomes 256x2,560,000), and, with ``resize`` (the short side the
    preprocess will scale to), at most :data:`MAX_PIXELS` after resizing. Raises
    :class:`ImageTooLargeError`, or :class:`InvalidImageError` for an empty image.
    """
    if width < 1 or height < 1:
        raise InvalidImageError(f"{what}: {width}x{height} has no pixels.")
    pixels = width * height
    if max_pixels is not None and pixels > max_pixels:
        raise ImageTooLargeError(
            f"{what}: {width}x{height} is {pixels:,} pixels, more than the limit of "
            f"{max_pixels:,}; resize it first."
        )
    short, long = min(width, height), max(width, height)
    if long > max_aspect * short:
        ratio = f"{long / short:,.0f}" if long >= 10 * short else f"{long / short:,.1f}"
        raise ImageTooLargeError(
            f"{what}: {width}x{height} has an aspect ratio of {ratio}:1, more than the limit of "
            f"{max_aspect:g}:1 (preprocessing scales the short side to the model's input, which "
            "would make it huge); crop it to the part to explain first."
        )
    if resize is not None:
        # torchvision's rule for an int size: the short side becomes resize, the long one scales
        grown = (resize, int(resize * long / short))
        out_w, out_h = grown if width <= height else grown[::-1]
        if out_w * out_h > MAX_PIXELS:
            raise ImageTooLargeError(
                f"{what}: {width}x{height} would be {out_w}x{out_h} = {out_w * out_h:,} pixels "
                f"after resizing its short side to {resize}, more than the limit of "
                f"{MAX_PIXELS:,}; crop it to the part to explain first."
            )


def load_image(
    source: str | PathLike[str] | bytes,
    *,
    max_pixels: int = MAX_PIXELS,
    max_aspect: float = MAX_ASPECT,
) -> Image.Image:
    """Read an image file (or its bytes) as an RGB PIL image, EXIF orientation applied.

    Transparent images are laid on white; 16-bit greys are scaled by their bit depth
    (``65535`` is white, whatever the pixels hold), 32-bit integer greys by ``2**31 - 1``, float
    greys (mode ``F``) from [0, 1] (or by their maximum when above 1).
    Raises :class:`InvalidImageError` when the file is missing, not an image, truncated, or
    larger than :func:`check_image_size` allows (``max_pixels``, ``max_aspect``: checked from the
    header, before decoding, so every entry point that loads through here is bounded).
    """
    what = _source_name(source)
    if isinstance(source, bytes | bytearray):
        handle: Any = io.BytesIO(bytes(source))
    else:
        path = Path(source).expanduser()
        if not path.exists():
            raise InvalidImageError(f"{what}: no such file.")
        if not path.is_file():
            raise InvalidImageError(f"{what}: not a file.")
        handle = path
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(handle)  # reads the header only
        with image:
            check_image_size(
                image.width, image.height, what, max_pixels=max_pixels, max_aspect=max_aspect
            )
            top = _full_scale(image)  # from the header: the tile says how the pixels are stored
            image.load()
            rgb = _to_rgb(ImageOps.exif_transpose(image), top)
    except Image.DecompressionBombError as exc:  # PIL's own guard, beyond 2 * MAX_IMAGE_PIXELS
        found = re.search(r"\((\d+) pixels\)", str(exc))
        size = f"{int(found.group(1)):,} pixels" if found else "too many pixels"
        raise ImageTooLargeError(
            f"{what}: {size}, more than the limit of {max_pixels:,} (a decompression bomb?); "
            "resize it first."
        ) from None
    except UnidentifiedImageError:
        raise InvalidImageError(
            f"{what}: not an image file PIL can read (is it really a "
            f"{Path(what).suffix.lstrip('.').upper() or 'picture'}?)."
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        if isinstance(exc, InvalidInputError):
            raise
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise InvalidImageError(
            f"{what}: cannot decode the image ({reason}); the file is truncated or corrupt."
        ) from None
    return rgb


def _full_scale(image: Image.Image) -> float | None:
    """White of an integer grey image, by its bit depth: 65535 for 16 bits, else ``2**31 - 1``.

    Pillow opens 16-bit greys as ``I;16*``, or as ``I`` (PGM, older Pillow's PNG) whose tile
    unpacks ``I;16*`` (or runs the PPM decoder, which scales any maxval above 255 to 16 bits).
    ``None`` for other modes.
    """
    if image.mode.startswith("I;16"):
        return 65535.0
    if image.mode != "I":
        return None
    for codec, _, _, args in getattr(image, "tile", None) or []:
        raw = args if isinstance(args, str) else (args[0] if args else "")
        if "16" in str(raw) or codec == "ppm":
            return 65535.0
    return float(2**31 - 1)


def _to_rgb(image: Image.Image, top: float | None = None) -> Image.Image:
    if image.mode.startswith("I") or image.mode == "F":
        array = np.asarray(image, dtype=np.float64)
        if image.mode == "F":
            top = max(float(array.max(initial=0)), 1.0)
        elif top is None:
            top = 65535.0 if image.mode.startswith("I;16") else float(2**31 - 1)
        image = Image.fromarray(np.clip(array / top * 255.0 + 0.5, 0, 255).astype(np.uint8))
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )
    if has_alpha:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


# --- preprocessing --------------------------------------------------------------------------


class _Crop:
    """Resize the short side to ``resize`` then center-crop ``size`` (torchvision's eval crop)."""

    def __init__(self, size: int, resize: int, interpolation: Any = None) -> None:
        self.size, self.resize, self.interpolation = size, resize, interpolation

    def __call__(self, image: Image.Image) -> Image.Image:
        from torchvision.transforms import InterpolationMode
        from torchvision.transforms import functional as tf

        mode = self.interpolation or InterpolationMode.BILINEAR
        check_image_size(image.width, image.height, max_pixels=None, resize=self.resize)
        resized = tf.resize(image, self.resize, interpolation=mode, antialias=True)
        return tf.center_crop(resized, self.size)


class _Preprocess:
    """``crop`` then scale to [0, 1] and normalise: ``(x / 255 - mean) / std``, ``(3, H, W)``."""

    def __init__(self, crop: Callable[[Image.Image], Image.Image] | None, mean, std) -> None:
        self.crop = crop
        self.mean = torch.tensor(tuple(mean), dtype=torch.float32).view(3, 1, 1)
        self.std = torch.tensor(tuple(std), dtype=torch.float32).view(3, 1, 1)

    def __call__(self, image: Image.Image) -> torch.Tensor:
        # any crop (timm's too) scales the short side: bound the aspect ratio before it runs
        check_image_size(image.width, image.height, max_pixels=None)
        image = image.convert("RGB")
        if self.crop is not None:
            image = self.crop(image)
        array = np.asarray(image, dtype=np.uint8).copy()
        tensor = torch.from_numpy(array).permute(2, 0, 1).float().div(255.0)
        return ((tensor - self.mean) / self.std).contiguous()


def _imagenet_crop(size: int) -> _Crop:
    return _Crop(size, round(size * 256 / 224))


def _imagenet_preprocess(size: int) -> tuple[_Preprocess, _Crop]:
    crop = _imagenet_crop(size)
    return _Preprocess(crop, IMAGENET_MEAN, IMAGENET_STD), crop


# --- files ----------------------------------------------------------------------------------


def _looks_like_path(text: str) -> bool:
    return (
        "/" in text
        or "\\" in text
        or text.startswith((".", "~"))
        or text.lower().endswith(WEIGHT_SUFFIXES)
    )


def _is_torchscript(path: Path) -> bool:
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    return any(n.endswith("constants.pkl") or "/code/" in n for n in names)


def _read_weights_file(path: Path) -> Any:
    """What a weights file holds: a safetensors dict, or ``torch.load(weights_only=True)``."""
    if path.suffix == ".safetensors":
        try:
            from safetensors.torch import load_file
        except ImportError as exc:
            raise ModelLoadError(
                f"{path} is a .safetensors file: pip install safetensors to read it."
            ) from exc
        return load_file(str(path), device="cpu")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        reason = " ".join(str(exc).split())[:300] or type(exc).__name__
        raise ModelLoadError(
            f"cannot read weights from {path}: {reason}. Expected a state dict saved with "
            "torch.save(model.state_dict(), path)."
        ) from None


def _state_dict_of(payload: Any, path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a checkpoint: a state dict, or one under ``state_dict``/``model``/..."""
    if isinstance(payload, nn.Module):
        payload = payload.state_dict()
    if isinstance(payload, dict):
        for key in ("state_dict", "model_state_dict", "model", "net", "module"):
            inner = payload.get(key)
            if isinstance(inner, dict) and inner and all(isinstance(k, str) for k in inner):
                payload = inner
                break
    if not isinstance(payload, dict) or not any(
        isinstance(v, torch.Tensor) for v in payload.values()
    ):
        raise ModelLoadError(
            f"{path} holds no state dict (found {type(payload).__name__}); save one with "
            "torch.save(model.state_dict(), path)."
        )
    state = {k: v for k, v in payload.items() if isinstance(v, torch.Tensor)}
    if all(k.startswith("module.") for k in state):
        state = {k[len("module.") :]: v for k, v in state.items()}
    return state


def _load_state(model: nn.Module, state: dict[str, torch.Tensor], name: str, path: Path) -> None:
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        detail = " ".join(str(exc).split())
        raise ModelLoadError(
            f"{path} does not fit {name}: {detail[:400]}{'...' if len(detail) > 400 else ''}"
        ) from None


def _classifier_key(model: nn.Module) -> str | None:
    """The weight key of the model's last ``nn.Linear`` (the classifier head), if any."""
    last = None
    for module_name, module in model.named_modules():
        if isinstance(module, nn.Linear):
            last = module_name
    return None if last is None else f"{last}.weight"


def _output_classes(state: dict[str, torch.Tensor], key: str | None) -> int | None:
    weight = state.get(key) if key else None
    return int(weight.shape[0]) if isinstance(weight, torch.Tensor) and weight.ndim == 2 else None


def _read_labels(path: str | PathLike[str]) -> list[str]:
    file = Path(path).expanduser()
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"cannot read the labels file {file}: {exc}.") from None
    labels = [line.strip() for line in text.splitlines()]
    while labels and not labels[-1]:
        labels.pop()
    if not labels:
        raise InvalidInputError(f"the labels file {file} is empty; write one class name a line.")
    return labels


# --- model sources --------------------------------------------------------------------------


def _torchvision() -> Any:
    return require("torchvision", "torchvision models")


def _torchvision_names() -> list[str]:
    try:
        tv = _torchvision()
    except MissingDependencyError:
        return []
    return list(tv.models.list_models(module=tv.models))


def _timm() -> Any | None:
    try:
        import timm
    except ImportError:
        return None
    return timm


def _zoo() -> Any | None:
    try:
        return importlib.import_module(f"{__package__}.zoo")
    except ModuleNotFoundError as exc:
        if exc.name in (f"{__package__}.zoo", __package__):
            return None
        raise


def _zoo_names(zoo: Any | None) -> list[str]:
    if zoo is None or not hasattr(zoo, "names"):
        return []
    try:
        return list(zoo.names())
    except Exception:  # a half-written zoo must not break the rest
        return []


def _default_layer(name: str) -> str | None:
    for prefix, layer in _TORCHVISION_LAYERS.items():
        if name.startswith(prefix):
            return layer
    return None


def _from_saved_file(path: Path, device: torch.device, input_size: int | None) -> LoadedModel:
    """A TorchScript archive or a whole pickled module."""
    size = input_size or DEFAULT_INPUT_SIZE
    preprocess, crop = _imagenet_preprocess(size)
    notes = [f"preprocessing: ImageNet mean/std, {size}x{size} center crop (--size to change)"]
    if _is_torchscript(path):
        try:
            with warnings.catch_warnings():  # torch 2.10+ deprecates TorchScript; it still loads
                warnings.simplefilter("ignore", FutureWarning)
                model = torch.jit.load(str(path), map_location="cpu")
        except Exception as exc:
            raise ModelLoadError(f"cannot load the TorchScript file {path}: {exc}") from None
        kind = "TorchScript"
    else:
        try:
            payload = torch.load(path, map_location="cpu", weights_only=True)
        except Exception:
            payload = None  # not a plain state dict: a pickled module (or not a torch file)
        if payload is not None:
            raise ModelLoadError(
                f"{path} holds weights only (a state dict), not a model: pass the architecture "
                f"as the model and the file as weights, e.g. `--model resnet18 --weights {path}`."
            )
        warnings.warn(
            f"{path} is a pickled model: loading it runs code stored in the file "
            "(torch.load(weights_only=False)). Load only files you trust.",
            UntrustedFileWarning,
            stacklevel=3,
        )
        try:
            model = torch.load(path, map_location="cpu", weights_only=False)
        except Exception as exc:
            reason = " ".join(str(exc).split())[:300] or type(exc).__name__
            raise ModelLoadError(
                f"cannot load {path}: {reason}. Expected a TorchScript file, a model saved with "
                "torch.save(model), or a state dict with an architecture name."
            ) from None
        if not isinstance(model, nn.Module):
            raise ModelLoadError(
                f"{path} holds a {type(model).__name__}, not a torch model (nn.Module)."
            )
        kind = "pickled module"
    return LoadedModel(
        model=model,
        name=path.name,
        categories=None,
        preprocess=preprocess,
        input_size=size,
        device=device,
        weights=str(path),
        weights_sha256=sha256_of(path),
        target_layer=None,
        crop=crop,
        notes=[f"{kind} {path}", *notes],
    )


def _bundled_mobilenet(weights: str | None, device: torch.device) -> LoadedModel:
    from . import pretrained

    path = Path(weights).expanduser() if weights else None
    try:
        model = pretrained.mobilenet_v2_imagenet(path, download=False)
    except pretrained.WeightsNotFoundError as exc:
        raise WeightsUnavailableError(str(exc)) from None
    except pretrained.WeightsChecksumError as exc:
        raise ModelLoadError(str(exc)) from None
    except pretrained.MissingDependencyError as exc:
        raise ModelLoadError(str(exc)) from None
    file = path or pretrained.hub_checkpoint()
    preprocess, crop = _imagenet_preprocess(pretrained.CROP_SIZE)
    return LoadedModel(
        model=model,
        name="mobilenet_v2",
        categories=pretrained.imagenet_categories(),
        preprocess=preprocess,
        input_size=pretrained.CROP_SIZE,
        device=device,
        weights=str(file),
        weights_sha256=pretrained.CHECKPOINT_SHA256,
        target_layer=DEMO_LAYER,
        crop=crop,
    )


def _torchvision_enum(name: str, weights: str) -> Any:
    tv = _torchvision()
    enum = tv.models.get_model_weights(name)
    member = weights.split(".")[-1] if "." in weights and not _looks_like_path(weights) else weights
    try:
        return enum[member]
    except KeyError:
        known = ["DEFAULT", *enum.__members__]
        close = difflib.get_close_matches(member, known, n=3, cutoff=0.5)
        hint = f" Close matches: {', '.join(close)}." if close else ""
        raise ModelLoadError(
            f"{name} has no weights named {weights!r}; known: {', '.join(known)}.{hint} "
            "Or pass a state-dict file, or 'random'."
        ) from None


def _preprocess_from_transforms(transforms: Any) -> tuple[_Preprocess, _Crop, int]:
    size = int(transforms.crop_size[0])
    crop = _Crop(size, int(transforms.resize_size[0]), transforms.interpolation)
    return _Preprocess(crop, transforms.mean, transforms.std), crop, size


def _from_torchvision(
    name: str, weights: str | None, device: torch.device, input_size: int | None
) -> LoadedModel:
    tv = _torchvision()
    default = _torchvision_enum(name, "DEFAULT")
    if not weights or not (weights.lower() == RANDOM or _is_file_argument(weights)):
        enum = _torchvision_enum(name, weights or "DEFAULT")
        file = Path(torch.hub.get_dir()) / "checkpoints" / Path(enum.url).name
        if not file.is_file():
            raise WeightsUnavailableError(
                f"the weights {type(enum).__name__}.{enum.name} of {name} are not on this machine "
                f"and camlens does not download: put {Path(enum.url).name} (from {enum.url}) in "
                f"{file.parent}/, or pass a local file with --weights FILE (or --weights random)."
            )
        digest = sha256_of(file)
        prefix = file.stem.rsplit("-", 1)[-1]  # torchvision names files <arch>-<sha256[:8]>
        if re.fullmatch(r"[0-9a-f]{6,}", prefix) and not digest.startswith(prefix):
            raise ModelLoadError(
                f"{file} is not torchvision's file: its SHA-256 is {digest}, which should start "
                f"with {prefix}. It is corrupt or another checkpoint: delete it and put the file "
                f"from {enum.url} there."
            )
        model = tv.models.get_model(name, weights=enum)
        preprocess, crop, size = _preprocess_from_transforms(enum.transforms())
        return LoadedModel(
            model=model,
            name=name,
            categories=list(enum.meta.get("categories") or []) or None,
            preprocess=preprocess,
            input_size=size,
            device=device,
            weights=f"{type(enum).__name__}.{enum.name}",
            weights_sha256=digest,
            target_layer=_default_layer(name),
            crop=crop,
        )
    # random or own weights: the architecture's plain ImageNet-1k recipe (DEFAULT may be SWAG's 518)
    plain = type(default).__members__.get("IMAGENET1K_V1", default)
    preprocess, crop, size = _preprocess_from_transforms(plain.transforms())
    if input_size and input_size != size:
        preprocess, crop = _imagenet_preprocess(input_size)
        size = input_size
    if weights.lower() == RANDOM:
        model = tv.models.get_model(name, weights=None)
        return LoadedModel(
            model=model, name=name, categories=list(default.meta["categories"]),
            preprocess=preprocess, input_size=size, device=device, weights=RANDOM,
            weights_sha256=None, target_layer=_default_layer(name), crop=crop,
            notes=[RANDOM_NOTE],
        )  # fmt: skip
    path = _existing_file(weights)
    state = _state_dict_of(_read_weights_file(path), path)
    model = tv.models.get_model(name, weights=None)
    classes = _output_classes(state, _classifier_key(model))
    expected = _output_classes(model.state_dict(), _classifier_key(model))
    if classes is not None and expected is not None and classes != expected:
        model = tv.models.get_model(name, weights=None, num_classes=classes)
    _load_state(model, state, name, path)
    digest = sha256_of(path)
    categories = None
    for enum in type(default):  # a torchvision file under another name: its own categories
        if digest.startswith(Path(enum.url).stem.rsplit("-", 1)[-1]):
            categories = list(enum.meta["categories"])
    if categories is None and (classes or expected) == len(default.meta["categories"]):
        categories = list(default.meta["categories"])  # 1000 outputs: ImageNet's classes
    return LoadedModel(
        model=model,
        name=name,
        categories=categories,
        preprocess=preprocess,
        input_size=size,
        device=device,
        weights=str(path),
        weights_sha256=digest,
        target_layer=_default_layer(name),
        crop=crop,
    )


def _is_file_argument(weights: str) -> bool:
    """``--weights`` names a file (an existing one, or anything that looks like a path)."""
    return _looks_like_path(weights) or Path(weights).expanduser().is_file()


def _existing_file(weights: str) -> Path:
    path = Path(weights).expanduser()
    if not path.is_file():
        raise WeightsUnavailableError(f"no weights file at {path}: the file does not exist.")
    return path


def _timm_cached_file(timm: Any, name: str) -> str | None:
    """The locally cached pretrained file of a timm model (Hugging Face cache), else ``None``."""
    try:
        cfg = timm.models.get_pretrained_cfg(name)
        from huggingface_hub import try_to_load_from_cache
    except Exception:
        return None
    if cfg is None or not getattr(cfg, "hf_hub_id", None):
        return None
    repo = cfg.hf_hub_id
    for filename in filter(None, (cfg.hf_hub_filename, "model.safetensors", "pytorch_model.bin")):
        found = try_to_load_from_cache(repo, filename)
        if isinstance(found, str):
            return found
    return None


def _from_timm(
    name: str, weights: str | None, device: torch.device, input_size: int | None
) -> LoadedModel:
    timm = _timm()
    if timm is None:
        raise ModelLoadError(f"{name!r} needs timm: pip install timm.")
    if not timm.is_model(name) and not timm.list_models(name):
        raise _unknown(f"timm:{name}", [f"timm:{n}" for n in timm.list_models()])
    digest = None
    notes: list[str] = []
    if weights is None or weights == "":
        cached = _timm_cached_file(timm, name)
        if cached is None:
            cfg = timm.models.get_pretrained_cfg(name)
            where = getattr(cfg, "hf_hub_id", None) or name
            raise WeightsUnavailableError(
                f"the pretrained weights of timm's {name} are not in the Hugging Face cache and "
                f"camlens does not download: fetch them once (huggingface-cli download {where}), "
                "or pass a local file with --weights FILE (or --weights random)."
            )
        overlay = {"file": cached, "source": ""}  # the local file, never the hub
        model = timm.create_model(name, pretrained=True, pretrained_cfg_overlay=overlay)
        label, digest = cached, sha256_of(Path(cached))
    elif weights.lower() == RANDOM:
        model = timm.create_model(name, pretrained=False)
        label, notes = RANDOM, [RANDOM_NOTE]
    else:
        path = _existing_file(weights)
        state = _state_dict_of(_read_weights_file(path), path)
        model = timm.create_model(name, pretrained=False)
        classes = _output_classes(state, _classifier_key(model))
        if classes is not None and classes != getattr(model, "num_classes", classes):
            model = timm.create_model(name, pretrained=False, num_classes=classes)
        _load_state(model, state, name, path)
        label, digest = str(path), sha256_of(path)
    config = timm.data.resolve_data_config({}, model=model)
    if input_size:
        config["input_size"] = (3, input_size, input_size)
    transform = timm.data.create_transform(**config)
    steps = list(getattr(transform, "transforms", []))
    tensor_at = next((i for i, t in enumerate(steps) if "ToTensor" in type(t).__name__), len(steps))
    from torchvision.transforms import Compose

    crop = Compose(steps[:tensor_at])
    preprocess = _Preprocess(crop, config["mean"], config["std"])
    categories = None
    info = getattr(model, "pretrained_cfg", {}) or {}
    if info.get("num_classes") == 1000 and getattr(model, "num_classes", 0) == 1000:
        categories = _imagenet_names()
    return LoadedModel(
        model=model,
        name=f"timm:{name}",
        categories=categories,
        preprocess=preprocess,
        input_size=int(config["input_size"][-1]),
        device=device,
        weights=label,
        weights_sha256=digest,
        target_layer=None,
        crop=crop,
        notes=notes,
    )


def _imagenet_names() -> list[str] | None:
    try:
        tv = _torchvision()
    except MissingDependencyError:
        return None
    return list(tv.models.ResNet50_Weights.IMAGENET1K_V1.meta["categories"])


def _from_zoo(zoo: Any, name: str, weights: str | None, device: torch.device) -> LoadedModel:
    try:
        entry = zoo.load(name, weights=weights, device=str(device))
    except CamlensError as exc:
        if isinstance(exc, ModelLoadError):
            raise
        raise ModelLoadError(str(exc)) from exc
    path = getattr(entry, "weights_path", None)
    size = getattr(entry, "input_size", None)
    return LoadedModel(
        model=entry.model,
        name=name,
        categories=list(entry.categories) if getattr(entry, "categories", None) else None,
        preprocess=entry.preprocess,
        input_size=int(size) if size else None,
        device=device,
        weights=str(path) if path else weights,
        weights_sha256=getattr(entry, "weights_sha256", None),
        target_layer=getattr(entry, "target_layer", None),
        crop=getattr(entry, "crop", None),
    )


def _unknown(spec: str, known: list[str]) -> UnknownModelError:
    close = difflib.get_close_matches(spec, list(dict.fromkeys(known)), n=5, cutoff=0.6)
    hint = f" Close matches: {', '.join(close)}." if close else ""
    return UnknownModelError(
        f"unknown model {spec!r}: not a file, nor a camlens zoo, torchvision or timm model "
        f"name.{hint} See `camlens layers --help` for what a model may be."
    )


def load_model(
    spec: str,
    weights: str | None = None,
    *,
    device: str = "cpu",
    labels: str | PathLike[str] | None = None,
    input_size: int | None = None,
) -> LoadedModel:
    """Build the model ``spec`` names, load ``weights``, and return it in eval mode on ``device``.

    See the module docstring for what ``spec`` and ``weights`` may be. ``labels``: a text file of
    class names, one a line, that replaces the weights' own. ``input_size``: the square side
    models of unknown preprocessing (saved files) get (default 224, ImageNet normalisation).

    Raises:
        UnknownModelError: the name is unknown (the message lists close matches).
        WeightsUnavailableError: the weights are not on this machine (names the file to provide).
        ModelLoadError: a file that is not a model / does not fit the architecture.
        DeviceError: the device does not exist here.
    """
    target = resolve_device(device)
    spec = str(spec).strip()
    weights = None if weights is None else str(weights).strip()
    if not spec:
        raise UnknownModelError("no model given: pass a model name or a file.")
    path = Path(spec).expanduser()
    zoo = None
    if path.is_file():
        if weights:
            raise ModelLoadError(
                f"{spec} is a model file; weights cannot be given with it (pass an "
                "architecture name with a state-dict file instead)."
            )
        if path.suffix.lower() == ".onnx":  # an ONNX graph (camlens.onnx), CPU sessions
            from .onnx.loading import load_onnx_file

            loaded = load_onnx_file(path, target, input_size)
        else:
            loaded = _from_saved_file(path, target, input_size)
    elif path.is_dir():
        raise ModelLoadError(
            f"{spec} is a folder; pass a model file (torch.save(model)) or a model name."
        )
    elif _looks_like_path(spec) and not spec.startswith("timm:"):
        raise UnknownModelError(f"no model file at {path}: the file does not exist.")
    elif spec.startswith("timm:"):
        loaded = _from_timm(spec[len("timm:") :], weights, target, input_size)
    elif spec == "demo" or (spec == "mobilenet_v2" and not weights):
        loaded = _bundled_mobilenet(weights, target)
    elif spec in _zoo_names(zoo := _zoo()):
        loaded = _from_zoo(zoo, spec, weights, target)
    elif spec in _torchvision_names():
        loaded = _from_torchvision(spec, weights, target, input_size)
    elif (timm := _timm()) is not None and timm.is_model(spec):
        loaded = _from_timm(spec, weights, target, input_size)
    elif importlib.util.find_spec("torchvision") is None:
        raise MissingDependencyError(
            f"{spec!r} is not a model file nor a camlens zoo name, and torchvision and timm "
            "model names need torchvision, which is not installed; it comes from the "
            f"[torchvision] extra: {install_hint('torchvision')}.",
            extra="torchvision",
            name="torchvision",
        )
    else:  # every branch above was tried, so zoo and timm are set
        known = ["demo", *_zoo_names(zoo), *_torchvision_names()]
        known += timm.list_models() if timm is not None else []
        raise _unknown(spec, known)
    if labels is not None:
        loaded.categories = _read_labels(labels)
    loaded.model = loaded.model.to(target).eval()
    loaded.device = target
    return loaded


__all__ = [
    "DeviceError",
    "ImageTooLargeError",
    "InvalidImageError",
    "LoadedModel",
    "ModelLoadError",
    "UnknownModelError",
    "UntrustedFileWarning",
    "WeightsUnavailableError",
    "check_image_size",
    "load_image",
    "load_model",
    "resolve_device",
]
