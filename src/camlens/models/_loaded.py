"""What :func:`camlens.models.load_model` returns: :class:`LoadedModel`, a model and its context."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image
from torch import nn

from ..errors import InvalidInputError

DEFAULT_INPUT_SIZE = 224
RANDOM = "random"
RANDOM_NOTE = "random weights: the maps and classes mean nothing"


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


__all__ = ["DEFAULT_INPUT_SIZE", "RANDOM", "RANDOM_NOTE", "LoadedModel"]
