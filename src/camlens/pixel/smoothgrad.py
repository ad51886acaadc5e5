"""SmoothGrad — Smilkov, Thorat, Kim, Viégas & Wattenberg, "SmoothGrad: removing noise by adding
noise", ICML workshop 2017 (arXiv:1706.03825), eq. 3:

    M̂_c(x) = 1/n · Σ_{k=1..n} M_c(x + N(0, σ²))        σ = noise_level · (max(x) − min(x))

for any pixel-space map M (vanilla gradient by default; guided backprop, deconvolution, ...).
The noise level is a fraction of each image's value range (the paper: 10–20 %, n = 50);
``stdev=`` gives an absolute σ instead. ``squared=True`` averages M² (SmoothGrad-Squared,
Hooker et al. 2019; captum's ``nt_type="smoothgrad_sq"``).

Every noisy copy explains its image's target, resolved once on the clean image (``None`` = top-1
of the clean image). The ``B × n`` copies run through the wrapped method in chunks of
``batch_size``; the noise comes from a seeded ``torch.Generator`` on the input's device, one
``(B, C, H, W)`` draw per sample k in order, so the result depends only on the seed and the batch.
Shapes: ``(B, C, *spatial)`` -> ``(B, C, *spatial)``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..errors import OptionError
from ._base import PixelAttribution, PixelExplanation, clean_forward, image_input
from .saliency import Saliency


class SmoothGrad(PixelAttribution):
    """The mean of a pixel-space method over ``n_samples`` noisy copies of each image.

    Args:
        method: a pixel-space method (``Saliency(model)``, ``GuidedBackprop(model)``, ...), or a
            model, which means ``Saliency(model)``.
        n_samples: n, noisy copies per image.
        noise_level: σ as a fraction of each image's range ``max − min``.
        stdev: an absolute σ (overrides ``noise_level``).
        squared: average the squared maps (SmoothGrad-Squared).
        batch_size: noisy copies per call of the method (rounded to whole samples of the batch).
        seed: seed of the noise generator.

    Formula, reference and shapes: the docstring of ``camlens.pixel.smoothgrad``.

    Example:
        >>> smooth = SmoothGrad(Saliency(model), n_samples=50, noise_level=0.15)
        >>> grads = smooth(x, targets=[ClassTarget(281)])  # (B, C, H, W)
    """

    def __init__(
        self,
        method: PixelAttribution | nn.Module,
        n_samples: int = 50,
        noise_level: float = 0.15,
        *,
        stdev: float | None = None,
        squared: bool = False,
        batch_size: int = 16,
        seed: int = 0,
    ) -> None:
        if isinstance(method, nn.Module):
            method = Saliency(method)
        if not isinstance(method, PixelAttribution):
            raise TypeError(
                f"method must be a pixel-space method or a model, not {type(method).__name__}."
            )
        super().__init__(method.model)
        if n_samples < 1:
            raise OptionError(f"n_samples must be >= 1, got {n_samples}.")
        if batch_size < 1:
            raise OptionError(f"batch_size must be >= 1, got {batch_size}.")
        if (stdev if stdev is not None else noise_level) < 0:
            raise OptionError("the noise level / stdev must be >= 0.")
        self.method = method
        self.n_samples = n_samples
        self.noise_level = noise_level
        self.stdev = stdev
        self.squared = squared
        self.batch_size = batch_size
        self.seed = seed

    def sigma(self, x: Tensor) -> Tensor:
        """``(B,)`` noise standard deviation of each image."""
        if self.stdev is not None:
            return torch.full((x.shape[0],), float(self.stdev), dtype=x.dtype, device=x.device)
        flat = x.detach().flatten(1)
        return self.noise_level * (flat.amax(dim=1) - flat.amin(dim=1))

    def explain(self, input_tensor: Tensor, targets: object = None) -> PixelExplanation:
        x = image_input(input_tensor).detach()
        batch = x.shape[0]
        logits, resolved, scores = clean_forward(self.model, x, targets)
        sigma = self.sigma(x).view(batch, *([1] * (x.ndim - 1)))
        generator = torch.Generator(device=x.device).manual_seed(self.seed)
        per_chunk = max(1, self.batch_size // batch)
        total = torch.zeros_like(x)
        for start in range(0, self.n_samples, per_chunk):
            k = min(per_chunk, self.n_samples - start)
            noise = torch.stack(
                [
                    torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
                    for _ in range(k)
                ]
            )
            copies = (x + noise * sigma).flatten(0, 1)  # sample-major: copy j is image j % B
            attributions = self.method.explain(copies, resolved * k).attributions
            attributions = attributions.view(k, *x.shape)
            total += (attributions.square() if self.squared else attributions).sum(0)
        return PixelExplanation(total / self.n_samples, logits, scores, resolved)
