"""Mirror of ``pytorch_grad_cam.hirescam``."""

from __future__ import annotations

from ... import methods
from .base_cam import BaseCAM

__all__ = ["HiResCAM"]


class HiResCAM(BaseCAM, methods.HiResCAM):
    """HiResCAM: the channel sum of gradients x activations."""
