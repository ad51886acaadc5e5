"""The registry of CAM methods by name: filled where each method is defined.

A method class names itself with two class attributes, as the metrics do::

    class GradCAMPlusPlus(BaseCAM):
        name = "gradcam++"
        aliases = ("gradcampp", "gradcamplusplus")

and :meth:`camlens.core.base.BaseCAM.__init_subclass__` calls :func:`register_method` when the
class is created. The registry lives below the methods, so the core (``runnable``, the attention
errors) reads it without importing them; :data:`METHODS` keeps registration order, which
:mod:`camlens.methods` fixes by importing its modules in the order the CLI and the docs list.
A subclass that does not set ``name`` itself (the compat classes, a user's tweak) is not
registered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import InvalidInputError

if TYPE_CHECKING:
    from .base import BaseCAM

#: Every registered method: name -> class, in registration order.
METHODS: dict[str, type[BaseCAM]] = {}
#: Other spellings: normalised alias -> name in :data:`METHODS`.
ALIASES: dict[str, str] = {}


def method_key(name: str) -> str:
    """The lookup key of a method name: lower case, ``-`` and ``_`` dropped (``Grad-CAM++``)."""
    return name.lower().replace("_", "").replace("-", "")


def register_method(cls: type[BaseCAM]) -> type[BaseCAM]:
    """Add ``cls`` under ``cls.name`` and its ``cls.aliases`` (case and ``-``/``_`` ignored).

    Defining the same class again (same module and qualified name: a reloaded module, a
    notebook cell run twice) replaces it; another class under a taken name or alias raises
    :class:`InvalidInputError`.
    """
    name = cls.__dict__["name"]
    key = method_key(name)
    if key != name:
        raise InvalidInputError(
            f"{cls.__qualname__}.name must be lower case without '-' or '_', got {name!r}."
        )
    keys = [method_key(alias) for alias in cls.__dict__.get("aliases", ())]
    for k in (key, *keys):
        owner = METHODS.get(ALIASES.get(k, k))
        if owner is not None and not _same(owner, cls):
            raise InvalidInputError(
                f"the method name {k!r} of {cls.__module__}.{cls.__qualname__} is taken by "
                f"{owner.__module__}.{owner.__qualname__}; choose another name."
            )
    METHODS[key] = cls
    for k in keys:
        ALIASES[k] = key
    return cls


def _same(a: type, b: type) -> bool:
    return (a.__module__, a.__qualname__) == (b.__module__, b.__qualname__)


def get_method(name: str) -> type[BaseCAM]:
    """The method class for a name such as ``"gradcam++"`` (case and ``-``/``_`` ignored)."""
    key = method_key(name)
    key = ALIASES.get(key, key)
    if key not in METHODS:
        raise KeyError(f"unknown method {name!r}; known: {', '.join(METHODS)}.")
    return METHODS[key]


__all__ = ["ALIASES", "METHODS", "get_method", "method_key", "register_method"]
