"""IS-CAM — Naidu et al., "IS-CAM: Integrated Score-CAM for axiomatic-based explanations"
(arXiv:2010.03023). Score-CAM with the masked input scaled along a path, scores averaged:

    H^k    = s(Up(A^k))                        as in Score-CAM
    a_i    = Σ_{j=1..i} j/N                    i = 1..N (torchcam 0.5's running coefficient)
    S^c_k  = (1/N) Σ_{i=1..N} f^c(a_i · (X ∘ H^k))
    w^c    = softmax_k(S^c)
    L^c    = ReLU(Σ_k w^c_k A^k)

The coefficients are those of torchcam 0.5's ``ISCAM`` (``coeff += (i + 1) / N``: 1/N, 3/N,
6/N, ... up to (N+1)/2), the reference implementation we reproduce. Default N = ``num_samples``
= 10. Shapes as in Score-CAM; ``N·B·C`` masked images, chunk by chunk; constant channels share
one zero-image pass (their scaled masked input is zero in every step).
"""

from __future__ import annotations

from torch import nn

from ..core.capture import ReshapeTransform
from ..core.layers import LayersSpec
from ..errors import OptionError
from .scorecam import ScoreCAM


class ISCAM(ScoreCAM):
    """IS-CAM: Score-CAM averaged over ``num_samples`` scaled masked inputs.

    Takes every Score-CAM option too (``batch_size``, ``max_memory``, ``normalize_first``, ...).
    torchcam 0.5 is reproduced with ``normalize_first=True, mask_eps=1e-8``.

    Formula, reference and shapes: the docstring of ``camlens.methods.iscam``.

    Example:
        >>> cam = ISCAM(model, target_layers="layer4")
        >>> maps = cam(x, targets=[ClassTarget(281)])  # (B, H, W) in [0, 1]
    """

    name = "iscam"

    def __init__(
        self,
        model: nn.Module,
        target_layers: LayersSpec,
        reshape_transform: ReshapeTransform | None = None,
        *,
        num_samples: int = 10,
        **options: object,
    ) -> None:
        super().__init__(model, target_layers, reshape_transform, **options)  # type: ignore[arg-type]
        if num_samples < 1:
            raise OptionError(f"num_samples must be >= 1, got {num_samples}.")
        self.num_samples = int(num_samples)
        coefficients, coeff = [], 0.0
        for i in range(self.num_samples):
            coeff += (i + 1) / self.num_samples
            coefficients.append(coeff)
        self.coefficients = coefficients

    def input_scale(self, sample: int) -> float:
        return self.coefficients[sample]
