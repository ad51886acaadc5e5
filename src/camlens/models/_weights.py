"""Weights files: what a file holds, its SHA-256, and fitting a state dict to a model.

Every weights file camlens reads goes through here: :func:`sha256_of` is the one hash (the
bundled MobileNetV2, the zoo's checkpoints, torchvision's and timm's cached files, a user's
``--weights FILE``), :func:`read_weights_file` the one reader (safetensors, or
``torch.load(weights_only=True)``), :func:`state_dict_of` unwraps ``{"state_dict": ...}`` and
DataParallel's ``module.`` prefix.
"""

from __future__ import annotations

import hashlib
import zipfile
from os import PathLike
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import ModelLoadError, WeightsUnavailableError

WEIGHT_SUFFIXES = (".pt", ".pth", ".pth.tar", ".bin", ".ckpt", ".safetensors", ".th", ".tar")


def sha256_of(path: str | PathLike[str]) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def looks_like_path(text: str) -> bool:
    """``text`` reads as a file path (a separator, ``.``/``~`` first, or a weights suffix)."""
    return (
        "/" in text
        or "\\" in text
        or text.startswith((".", "~"))
        or text.lower().endswith(WEIGHT_SUFFIXES)
    )


def is_torchscript(path: Path) -> bool:
    """``path`` is a TorchScript archive (a zip with ``constants.pkl`` or ``code/``)."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    return any(n.endswith("constants.pkl") or "/code/" in n for n in names)


def read_weights_file(path: Path) -> Any:
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


def state_dict_of(payload: Any, path: Path) -> dict[str, torch.Tensor]:
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


def load_state(model: nn.Module, state: dict[str, torch.Tensor], name: str, path: Path) -> None:
    """``model.load_state_dict(state)``; a mismatch is a :class:`ModelLoadError` naming ``path``."""
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        detail = " ".join(str(exc).split())
        raise ModelLoadError(
            f"{path} does not fit {name}: {detail[:400]}{'...' if len(detail) > 400 else ''}"
        ) from None


def classifier_key(model: nn.Module) -> str | None:
    """The weight key of the model's last ``nn.Linear`` (the classifier head), if any."""
    last = None
    for module_name, module in model.named_modules():
        if isinstance(module, nn.Linear):
            last = module_name
    return None if last is None else f"{last}.weight"


def output_classes(state: dict[str, torch.Tensor], key: str | None) -> int | None:
    """The number of rows of ``state[key]`` (a classifier's classes), else ``None``."""
    weight = state.get(key) if key else None
    return int(weight.shape[0]) if isinstance(weight, torch.Tensor) and weight.ndim == 2 else None


def is_file_argument(weights: str) -> bool:
    """``--weights`` names a file (an existing one, or anything that looks like a path)."""
    return looks_like_path(weights) or Path(weights).expanduser().is_file()


def existing_file(weights: str) -> Path:
    """The file ``weights`` names; :class:`WeightsUnavailableError` when it does not exist."""
    path = Path(weights).expanduser()
    if not path.is_file():
        raise WeightsUnavailableError(f"no weights file at {path}: the file does not exist.")
    return path


__all__ = [
    "WEIGHT_SUFFIXES",
    "classifier_key",
    "existing_file",
    "is_file_argument",
    "is_torchscript",
    "load_state",
    "looks_like_path",
    "output_classes",
    "read_weights_file",
    "sha256_of",
    "state_dict_of",
]
