"""SS-CAM — Wang, Naidu et al., "SS-CAM: Smoothed Score-CAM for Sharper Visual Feature
Localization" (arXiv:2006.14255). Score-CAM with Gaussian noise on the masks, averaged:

    H^k        = s(Up(A^k))                          as in Score-CAM
    S^c_k      = (1/N) Σ_{i=1..N} f^c(X ∘ (H^k + δ_i)),   δ_i ~ N(0, σ²) per pixel
    w^c        = softmax_k(S^c)
    L^c        = ReLU(Σ_k w^c_k A^k)

Defaults follow torchcam 0.5's ``SSCAM`` (N = ``num_samples`` = 35, σ = ``std`` = 2.0; the noise
is added to the [0, 1] mask and the sum is not clipped). Shapes as in Score-CAM; ``N·B·C`` masked
images, built and scored chunk by chunk.

Noise: with ``generator=None`` it is drawn on the CPU from torch's global generator, one sample
after the other and within a sample in (image, channel, pixel) order — the numbers torchcam draws
with ``Normal(0, σ).sample((B, C, H, W))``, so ``torch.manual_seed(s)`` before each call makes
both use the same noise. Chunking keeps that true: a chunk draws its part of the stream, and its
size is rounded down to whole blocks of 16 pixels (CPU ``normal_`` turns uniforms into normals in
blocks of 16) — unless the budget allows fewer images than make one block (only possible when
H·W is not a multiple of 16), where the budget wins and the noise, still N(0, σ²), is not
torchcam's. With a ``generator`` (CPU or the input's device) the noise comes from it instead.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ..core.capture import ReshapeTransform
from ..core.layers import LayersSpec
from ..errors import OptionError
from .scorecam import ScoreCAM


class SSCAM(ScoreCAM):
    """SS-CAM: Score-CAM averaged over ``num_samples`` noisy masks (noise std ``std``).

    Takes every Score-CAM option too (``batch_size``, ``max_memory``, ``normalize_first``, ...).
    torchcam 0.5 is reproduced with ``normalize_first=True, mask_eps=1e-8``.

    Formula, reference and shapes: the docstring of ``camlens.methods.sscam``.

    Example:
        >>> cam = SSCAM(model, target_layers="layer4")
        >>> maps = cam(x, targets=[ClassTarget(281)])  # (B, H, W) in [0, 1]
    """

    name = "sscam"

    def __init__(
        self,
        model: nn.Module,
        target_layers: LayersSpec,
        reshape_transform: ReshapeTransform | None = None,
        *,
        num_samples: int = 35,
        std: float = 2.0,
        generator: torch.Generator | None = None,
        **options: object,
    ) -> None:
        super().__init__(model, target_layers, reshape_transform, **options)  # type: ignore[arg-type]
        if num_samples < 1:
            raise OptionError(f"num_samples must be >= 1, got {num_samples}.")
        if std < 0:
            raise OptionError(f"std must be >= 0, got {std}.")
        self.num_samples = int(num_samples)
        self.std = float(std)
        self.generator = generator

    def constant_shortcut(self) -> bool:
        return False  # noise makes every mask non-zero

    def chunk_multiple(self, spatial: int) -> int:
        return 16 // math.gcd(spatial, 16)

    def perturb(self, masks: Tensor, sample: int, flat_index: Tensor) -> Tensor:
        gen = self.generator
        device = gen.device if gen is not None else torch.device("cpu")
        noise = torch.randn(masks.shape, generator=gen, device=device, dtype=torch.float32)
        return masks + (noise * self.std).to(device=masks.device, dtype=masks.dtype)
