"""Read an image a user gives, within bounds: :func:`load_image` and :func:`check_image_size`.

The one image reader of every entry point (the CLI, the web app, the dataset audit, the Python
API): it applies EXIF orientation, lays transparency on white, scales 16-bit and float greys,
and refuses an image too large to decode or to preprocess before it is decoded. It needs PIL
and numpy only (no torch), so the server and the audit can read uploads before any model loads;
the preprocessing of :mod:`camlens.models.transforms` checks the same bounds before it resizes.
"""

from __future__ import annotations

import io
import re
import warnings
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ImageTooLargeError, InvalidImageError, InvalidInputError


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


__all__ = ["MAX_ASPECT", "MAX_PIXELS", "check_image_size", "load_image"]
