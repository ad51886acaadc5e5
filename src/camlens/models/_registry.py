"""The ordered registry of model sources: where :func:`~camlens.models.load_model` looks.

A model source turns what a user types (``"resnet50"``, ``"timm:vit_tiny_patch16_224"``,
``"benchmark-biased"``, ``model.pt``) into a :class:`~camlens.models.LoadedModel`.
:func:`find_source` asks each registered source in order whether it ``claims`` the name; the
first that does loads it. The default order (:mod:`camlens.models._sources`) is file, demo, zoo,
torchvision, timm: a file on disk wins, torchvision's ``resnet50`` wins over timm's. A new
source is one class with ``name``, ``claims``, ``load`` and ``names``, and one
:func:`register_source` call (``before=`` puts it ahead of an existing one).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch

from ..errors import InvalidInputError
from ._loaded import LoadedModel


@runtime_checkable
class ModelSource(Protocol):
    """One place models come from (``name``: ``"torchvision"``, ``"timm"``, ...)."""

    name: str

    def claims(self, spec: str, weights: str | None) -> bool:
        """Whether this source loads ``spec`` (with ``weights``); cheap, never loads."""
        ...

    def load(
        self, spec: str, weights: str | None, device: torch.device, input_size: int | None
    ) -> LoadedModel:
        """Build the model ``spec`` names with ``weights`` (not yet moved to ``device``)."""
        ...

    def names(self) -> list[str]:
        """The model names this source knows (for "close matches" in errors); may be empty."""
        ...


SOURCES: list[ModelSource] = []


def register_source(source: ModelSource, *, before: str | None = None) -> ModelSource:
    """Add ``source`` to :data:`SOURCES`, last or just ahead of the source named ``before``.

    Raises :class:`InvalidInputError` when a source of that name is registered already or
    ``before`` names none.
    """
    if any(s.name == source.name for s in SOURCES):
        raise InvalidInputError(f"a model source named {source.name!r} is registered already.")
    if before is None:
        SOURCES.append(source)
        return source
    for index, existing in enumerate(SOURCES):
        if existing.name == before:
            SOURCES.insert(index, source)
            return source
    raise InvalidInputError(
        f"no model source named {before!r}; registered: {', '.join(s.name for s in SOURCES)}."
    )


def unregister_source(name: str) -> ModelSource:
    """Remove and return the source called ``name`` (:class:`InvalidInputError` if none)."""
    for index, existing in enumerate(SOURCES):
        if existing.name == name:
            return SOURCES.pop(index)
    raise InvalidInputError(f"no model source named {name!r}.")


def find_source(spec: str, weights: str | None = None) -> ModelSource | None:
    """The first source in :data:`SOURCES` that claims ``spec``, else ``None``."""
    for source in SOURCES:
        if source.claims(spec, weights):
            return source
    return None


def known_names() -> list[str]:
    """Every name the sources know, in registry order (for "close matches")."""
    return [name for source in SOURCES for name in source.names()]


__all__ = [
    "SOURCES",
    "ModelSource",
    "find_source",
    "known_names",
    "register_source",
    "unregister_source",
]
