"""Where downloaded weights live on this machine: torch's hub cache and Hugging Face's cache.

camlens never downloads a model's weights at run time; it uses a file when it is already in the
cache the library itself would download into: ``torch.hub.get_dir()/checkpoints/`` for
torchvision (and the bundled MobileNetV2), the Hugging Face hub cache for timm.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch

from ..errors import ModelLoadError
from ._weights import sha256_of


def hub_checkpoints_dir() -> Path:
    """``torch.hub.get_dir()/checkpoints`` (``$TORCH_HOME/hub/checkpoints``)."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def hub_file(url: str) -> Path:
    """Where torch.hub keeps the file of ``url`` (whether or not it is there)."""
    return hub_checkpoints_dir() / Path(url).name


def check_hub_file(file: Path, url: str) -> str:
    """The SHA-256 of a cached ``file``, checked against the prefix in its name.

    torch.hub names files ``<arch>-<sha256[:8]>``; a file whose digest does not start with it is
    corrupt or another checkpoint: :class:`ModelLoadError` says to replace it from ``url``.
    """
    digest = sha256_of(file)
    prefix = file.stem.rsplit("-", 1)[-1]
    if re.fullmatch(r"[0-9a-f]{6,}", prefix) and not digest.startswith(prefix):
        raise ModelLoadError(
            f"{file} is not torchvision's file: its SHA-256 is {digest}, which should start "
            f"with {prefix}. It is corrupt or another checkpoint: delete it and put the file "
            f"from {url} there."
        )
    return digest


def hf_cached_file(timm: Any, name: str) -> str | None:
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


__all__ = ["check_hub_file", "hf_cached_file", "hub_checkpoints_dir", "hub_file"]
