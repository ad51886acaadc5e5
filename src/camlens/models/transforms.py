"""Preprocessing: from a user's image to a model's input, and the crop the map lies on.

- :class:`ResizeCenterCrop` / :class:`ImagePreprocess`: the eval transform of
  :func:`camlens.models.load_model` (resize the short side, center-crop, normalise), bounded by
  :func:`camlens.images.check_image_size` before any resize;
- :class:`Preprocess`: the zoo's, which also takes uint8 arrays and float tensors;
- :func:`imagenet_preprocess`: torchvision's ImageNet eval transform for the bundled MobileNetV2.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor

from ..errors import InvalidInputError
from ..extras import require
from ..images import check_image_size

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
RESIZE_SIZE = 256  # torchvision's ImageNet eval transform: resize the short side to 256 ...
CROP_SIZE = 224  # ... then center-crop 224


class ResizeCenterCrop:
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


class ImagePreprocess:
    """``crop`` then scale to [0, 1] and normalise: ``(x / 255 - mean) / std``, ``(3, H, W)``."""

    def __init__(
        self, crop: Callable[[Image.Image], Image.Image] | None, mean: Any, std: Any
    ) -> None:
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


def imagenet_crop(size: int) -> ResizeCenterCrop:
    """ImageNet's eval geometry for a ``size`` input: the short side to ``size * 256 / 224``."""
    return ResizeCenterCrop(size, round(size * 256 / 224))


def imagenet_transforms(size: int) -> tuple[ImagePreprocess, ResizeCenterCrop]:
    """``(preprocess, crop)`` of an ImageNet-normalised ``size`` x ``size`` model input."""
    crop = imagenet_crop(size)
    return ImagePreprocess(crop, IMAGENET_MEAN, IMAGENET_STD), crop


def from_torchvision_transforms(transforms: Any) -> tuple[ImagePreprocess, ResizeCenterCrop, int]:
    """``(preprocess, crop, input size)`` of a torchvision weights enum's ``transforms()``."""
    size = int(transforms.crop_size[0])
    crop = ResizeCenterCrop(size, int(transforms.resize_size[0]), transforms.interpolation)
    return ImagePreprocess(crop, transforms.mean, transforms.std), crop, size


class Preprocess:
    """PIL image, uint8 array ``(H, W, 3)`` or float tensor in [0, 1] ``(3, H, W)`` /
    ``(B, 3, H, W)`` -> the model's input: resized to ``size`` × ``size`` (bilinear, antialiased,
    only when needed) and normalised ``(x - mean) / std``. Same rank as a tensor input;
    ``(3, size, size)`` for an image.

    Example:
        >>> import torch
        >>> preprocess = Preprocess(32, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
        >>> preprocess(torch.rand(3, 48, 48)).shape
        torch.Size([3, 32, 32])
    """

    def __init__(self, size: int, mean: tuple[float, ...], std: tuple[float, ...]):
        self.size = size
        self.mean = torch.tensor(mean).view(3, 1, 1)
        self.std = torch.tensor(std).view(3, 1, 1)

    def __call__(self, image: Image.Image | np.ndarray | Tensor) -> Tensor:
        if isinstance(image, Image.Image):
            image = np.asarray(image.convert("RGB"), dtype=np.uint8)
        if isinstance(image, np.ndarray):
            if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
                raise InvalidInputError(
                    f"preprocess takes a uint8 array (H, W, 3), got shape {image.shape} and "
                    f"dtype {image.dtype}; convert it, or pass a float tensor (3, H, W) in [0, 1]."
                )
            image = torch.from_numpy(image.copy()).permute(2, 0, 1).float().div(255.0)
        if not isinstance(image, Tensor):
            raise InvalidInputError(
                "preprocess takes a PIL image, a uint8 array or a tensor, "
                f"not {type(image).__name__}."
            )
        if image.ndim not in (3, 4) or image.shape[-3] != 3 or not image.is_floating_point():
            raise InvalidInputError(
                f"preprocess takes a float tensor (3, H, W) or (B, 3, H, W) in [0, 1], got "
                f"{tuple(image.shape)} {image.dtype}."
            )
        batch = image if image.ndim == 4 else image[None]
        if batch.shape[-2:] != (self.size, self.size):
            batch = F.interpolate(
                batch.float(),
                size=(self.size, self.size),
                mode="bilinear",
                align_corners=False,
                antialias=True,
            )
        out = (batch - self.mean.to(batch)) / self.std.to(batch)
        return out if image.ndim == 4 else out[0]


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


def _torchvision() -> Any:
    return require("torchvision", "camlens' pretrained MobileNetV2")


__all__ = [
    "CROP_SIZE",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "RESIZE_SIZE",
    "ImagePreprocess",
    "Preprocess",
    "Preprocessed",
    "ResizeCenterCrop",
    "from_torchvision_transforms",
    "imagenet_crop",
    "imagenet_preprocess",
    "imagenet_transforms",
]
