"""Smooth Grad-CAM++ — Omeiza, Speakman, Cintas & Weldemariam, "Smooth Grad-CAM++: An Enhanced
Inference Level Visualization Technique for Deep Convolutional Neural Network Models", 2019
(arXiv:1908.01224).

Grad-CAM++ (eq. 19) with SmoothGrad's gradients: with g_m = ∂y^c/∂A at the noisy input
x + ε_m, ε_m ~ N(0, σ²), m = 1..n, and A the activations of the clean input x,

    D_p      = (1/n) Σ_m g_m^p                        (p = 1, 2, 3)
    α^k_ij   = D_2 / (2 D_2 + Σ_ab A^k_ab · D_3)       (0 where D_2 or the denominator is 0)
    w_k      = Σ_ij α^k_ij · ReLU(D_1)
    L^c      = ReLU(Σ_k w_k A^k)

(The paper prints D_1 in α's numerator; like torchcam, camlens uses D_2, Grad-CAM++'s eq. 19.)

``convention="torchcam"`` reproduces torchcam 0.5's ``SmoothGradCAMpp`` instead, which differs in
three places: its denominator sums the product, ``Σ_ab (D_3 ⊙ A)^k_ab`` (one number per channel),
plus ``eps = 1e-8``; the ReLU takes the *last* sample's gradient g_n, not D_1; and the map weighs
the *last noisy sample's* activations (its hooks overwrite the clean ones).

Noise: ε_m is drawn as ``std · torch.randn(x.shape)`` in the default dtype, one draw per sample in
order m = 1..n, from ``generator`` (or torch's global RNG, on the CPU): the draws torchcam makes,
so ``torch.manual_seed(s)`` before either gives the same noise, on any device. The clean batch and
the n noisy batches run as one batch of (n+1)·B images: one forward, one backward. Targets are
resolved on the clean images.
Shapes: A ``(B, C, *spatial)``, g ``(n, B, C, *spatial)`` -> w ``(B, C)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch import Tensor, nn

from ..core.base import BaseCAM, CaptureOptions, Explanation, LayerContext
from ..core.contract import Capture, ReshapeTransform, check_input
from ..core.errors import CamlensError
from ..core.layers import LayersSpec
from ..core.projection import first_principal_component
from ..errors import OptionError

Convention = Literal["paper", "torchcam"]


class NoisyCapture(Capture):
    """A capture whose activations and gradients are ``(n + 1, B, ...)``: clean, then noisy."""


def _repeat(spec: object, batch: int, copies: int) -> object:
    """Targets for ``copies`` stacked copies of a batch: a per-image list is repeated."""
    if isinstance(spec, Tensor) or (hasattr(spec, "tolist") and hasattr(spec, "dtype")):
        spec = spec.tolist()
    if isinstance(spec, list | tuple) and len(spec) == batch and batch > 1:
        return list(spec) * copies
    return spec


class SmoothGradCAMPlusPlus(BaseCAM):
    """Smooth Grad-CAM++: ``num_samples`` noisy copies with noise std ``std`` (torchcam: 4, 0.3).

    Formula, reference and shapes: the docstring of ``camlens.methods.smoothgradcampp``.

    Example:
        >>> cam = SmoothGradCAMPlusPlus(model, target_layers="layer4", num_samples=4, std=0.3)
        >>> maps = cam(x, targets=[ClassTarget(281)])  # (B, H, W) in [0, 1]
    """

    name = "smoothgradcam++"
    aliases = ("smoothgradcampp", "smoothgradcamplusplus")

    shares_capture = False

    def __init__(
        self,
        model: nn.Module,
        target_layers: LayersSpec,
        reshape_transform: ReshapeTransform | None = None,
        *,
        num_samples: int = 4,
        std: float = 0.3,
        convention: Convention = "paper",
        generator: torch.Generator | None = None,
        differentiable: bool = False,
    ) -> None:
        super().__init__(model, target_layers, reshape_transform, differentiable=differentiable)
        if int(num_samples) < 1:
            raise OptionError(f"num_samples must be >= 1, got {num_samples}.")
        if not std >= 0:
            raise OptionError(f"std must be >= 0, got {std}.")
        if convention not in ("paper", "torchcam"):
            raise OptionError(f"convention must be 'paper' or 'torchcam', got {convention!r}.")
        self.num_samples = int(num_samples)
        self.std = float(std)
        self.convention = convention
        self.generator = generator

    def noise(self, x: Tensor) -> Tensor:
        """``(n, *x.shape)`` Gaussian noise, one ``randn(x.shape)`` draw per sample, in order.

        Drawn in the default dtype on the generator's device (the CPU for torch's global RNG),
        then moved to the input's device and dtype: the same noise on every device, and
        torchcam's noise for the same seed.
        """
        device = self.generator.device if self.generator is not None else torch.device("cpu")
        draws = [
            torch.randn(x.shape, generator=self.generator, device=device)
            for _ in range(self.num_samples)
        ]
        return (self.std * torch.stack(draws)).to(device=x.device, dtype=x.dtype)

    def capture(
        self, x: Tensor, target_sets: Sequence[object], options: CaptureOptions
    ) -> NoisyCapture:
        """The clean batch and its ``num_samples`` noisy copies in one capture, split back to
        ``(n + 1, B, ...)`` (index 0 the clean batch); every copy explains the clean image's
        targets."""
        clean = check_input(x)
        n = clean.shape[0]
        rank = options.rank_rows
        if rank is None:
            rank = torch.arange(n, device=clean.device)
        copies = self.num_samples + 1
        stacked = torch.cat([clean[None], clean[None] + self.noise(clean)]).flatten(0, 1)
        capture = self.adapter.capture(
            stacked,
            [_repeat(t, n, copies) for t in target_sets],
            gradients=True,
            differentiable=self.differentiable,
            rank_rows=rank.repeat(copies),
        )

        def split(t: Tensor) -> Tensor:
            return t.view(copies, n, *t.shape[1:])

        return NoisyCapture(
            inputs=clean,
            outputs=capture.outputs[:n],
            activations=[split(a) for a in capture.activations],
            gradients=[[split(g) for g in grads] for grads in capture.gradients],
            targets=[t[:n] for t in capture.targets],
            scores=[s[:n] for s in capture.scores],
            layer_names=capture.layer_names,
            adapter=capture.adapter,
        )

    def explanations(self, capture: Capture, *, eigen_smooth: bool = False) -> list[Explanation]:
        if not isinstance(capture, NoisyCapture):
            raise CamlensError(
                "Smooth Grad-CAM++ runs its own noisy copies of the input and cannot use a capture "
                "shared with other methods; call SmoothGradCAMPlusPlus on its own."
            )
        return super().explanations(capture, eigen_smooth=eigen_smooth)

    def layer_map(
        self,
        activations: Tensor,
        gradients: Tensor,
        ctx: LayerContext,
        eigen_smooth: bool = False,
    ) -> Tensor:
        # activations, gradients: (n + 1, B, C, *spatial); index 0 is the clean batch.
        clean, noisy = activations[0], gradients[1:]
        spatial = tuple(range(2, clean.ndim))
        d2 = noisy.pow(2).mean(dim=0)
        d3 = noisy.pow(3).mean(dim=0)
        if self.convention == "torchcam":
            denom = 2 * d2 + (d3 * clean).sum(dim=spatial, keepdim=True) + 1e-8
            alpha = d2 / denom
            weights = (alpha * torch.relu(noisy[-1])).sum(dim=spatial)
            maps_of = activations[-1]
        else:
            denom = 2 * d2 + clean.sum(dim=spatial, keepdim=True) * d3
            alpha = torch.where((denom != 0) & (d2 != 0), d2 / torch.where(denom != 0, denom, 1), 0)
            weights = (alpha * torch.relu(noisy.mean(dim=0))).sum(dim=spatial)
            maps_of = clean
        weighted = weights.view(*weights.shape, *([1] * len(spatial))) * maps_of
        return first_principal_component(weighted) if eigen_smooth else weighted.sum(dim=1)
