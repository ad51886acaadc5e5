"""Random-CAM — pytorch-grad-cam's ``RandomCAM``: a baseline for evaluations, not an explanation.

    w_k ~ U(-1, 1)  independently per image and channel
    L   = ReLU(Σ_k w_k A^k)

Shapes: A ``(B, C, *spatial)`` -> w ``(B, C)`` -> map ``(B, *spatial)``. No gradients, no class.

Randomness: ``seed=s`` draws from a fresh ``torch.Generator`` seeded with ``s`` on every call
(the same maps each call); ``generator=g`` draws from ``g`` (and advances it); neither: torch's
global generator. Weights are drawn on the CPU (or ``g``'s device) in float32, then moved.
``rng="numpy"`` draws ``np.random.uniform(-1, 1, (B, C))`` from numpy's global generator (or a
``numpy.random.Generator`` passed as ``generator``) exactly as pytorch-grad-cam does, so
``np.random.seed(s)`` before a call reproduces its maps.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from torch import Tensor, nn

from ..core.base import BaseCAM, LayerContext
from ..core.capture import ReshapeTransform
from ..core.layers import LayersSpec
from ..errors import OptionError


class RandomCAM(BaseCAM):
    """Random-CAM: uniform random channel weights, a baseline for evaluations.

    ``w_k ~ U(-1, 1)``, ``L = ReLU(Σ_k w_k A^k)``; ``seed=`` or ``generator=`` make it
    reproducible, ``rng="numpy"`` draws as pytorch-grad-cam does. Shapes: A ``(B, C, h, w)``
    -> w ``(B, C)`` -> map ``(B, H, W)``. See the docstring of ``camlens.methods.randomcam``.

    Example:
        >>> cam = RandomCAM(model, target_layers="layer4", seed=0)
        >>> maps = cam(x, targets=[ClassTarget(281)])  # (B, H, W) in [0, 1]
    """

    name = "randomcam"

    uses_gradients = False

    def __init__(
        self,
        model: nn.Module,
        target_layers: LayersSpec,
        reshape_transform: ReshapeTransform | None = None,
        *,
        seed: int | None = None,
        generator: torch.Generator | np.random.Generator | None = None,
        rng: Literal["torch", "numpy"] = "torch",
        differentiable: bool = False,
    ) -> None:
        super().__init__(model, target_layers, reshape_transform, differentiable=differentiable)
        if seed is not None and generator is not None:
            raise OptionError("give seed= or generator=, not both.")
        if rng not in ("torch", "numpy"):
            raise OptionError(f"rng must be 'torch' or 'numpy', got {rng!r}.")
        self.seed = seed
        self.generator = generator
        self.rng = rng
        self._call_generator: torch.Generator | np.random.Generator | None = None

    def explanations(self, capture, *, eigen_smooth: bool = False):
        # One generator per call, so a seeded call draws the same weights every time, and the
        # layers and target sets of one call draw in order from it.
        if self.seed is None:
            self._call_generator = self.generator
        elif self.rng == "numpy":
            self._call_generator = np.random.default_rng(self.seed)
        else:
            self._call_generator = torch.Generator().manual_seed(self.seed)
        try:
            return super().explanations(capture, eigen_smooth=eigen_smooth)
        finally:
            self._call_generator = None

    def channel_weights(
        self, activations: Tensor, gradients: Tensor | None, ctx: LayerContext
    ) -> Tensor:
        shape = tuple(activations.shape[:2])
        gen = self._call_generator
        if self.rng == "numpy":
            source = gen if isinstance(gen, np.random.Generator) else np.random
            weights = torch.from_numpy(np.asarray(source.uniform(-1, 1, size=shape)))
        else:
            if isinstance(gen, np.random.Generator):
                raise TypeError("a numpy Generator needs rng='numpy'.")
            device = gen.device if gen is not None else torch.device("cpu")
            weights = torch.rand(shape, generator=gen, device=device) * 2 - 1
        return weights.to(device=activations.device, dtype=activations.dtype)
