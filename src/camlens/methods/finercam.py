"""Finer-CAM — Zhang, Gu, Chowdhury, Mai, Carlyn, Berger-Wolf, Su & Chao, "Finer-CAM: Spotting the
Difference Reveals Finer Details for Visual Explanation", CVPR 2025 (arXiv:2501.11309).

A CAM of the *difference* between the target class c and the classes most similar to it, so that
the features c shares with them cancel. The similar classes d_1..d_T are those whose logits are
closest to y^c (ranks 1, 2, 3 of |y − y^c|; rank 0 is c itself). The explained score is

    s = Σ_t p_t (y^c − α y^{d_t}) / (Σ_t p_t + 1e-9),   p = softmax(y)        (weighting="softmax")
    s = y^c − α · (1/T) Σ_t y^{d_t}                                           (weighting="mean")

and the map is the base method's map of s (Grad-CAM by default: w_k = (1/Z) Σ_ij ∂s/∂A^k_ij). The
paper writes the single-comparison form y^c − α y^d; the authors' code (Imageomics/Finer-CAM,
contributed to pytorch-grad-cam as ``FinerCAM`` + ``FinerWeightedTarget``) averages three
comparisons weighted by their softmax probabilities with α = 1 — camlens' default, the same
numbers as pytorch-grad-cam. torchcam's ``FinerCAM`` subtracts γ = 0.6 times the mean of three
references: ``FinerCAM(..., weighting="mean", alpha=0.6)``. As in both references, p is not
detached, so ∂s/∂A includes the change of the softmax weights.

Targets: ``None`` (each image's top class), a class index, a ``ClassTarget``/``RankTarget``, or a
:class:`FinerTarget` with explicit comparison classes. ``Explanation.targets`` holds the resolved
:class:`FinerTarget` of each image (``.category``, ``.comparisons``).
Shapes: as the base method's; the target is one scalar per image.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from torch import Tensor, nn

from ..core.base import BaseCAM, Explanation
from ..core.capture import Capture, ReshapeTransform, check_input
from ..core.errors import CamlensError, TargetError
from ..core.layers import LayersSpec
from ..targets import ClassTarget, RankTarget
from ..targets.finer import DEFAULT_RANKS as DEFAULT_RANKS  # re-exported
from ..targets.finer import FinerTarget as FinerTarget  # re-exported
from ..targets.finer import Weighting as Weighting  # re-exported
from ..targets.finer import _index
from .gradcam import GradCAM


class FinerCAM(BaseCAM):
    """Finer-CAM on top of any camlens method (``base_method``, Grad-CAM by default).

    ``alpha``, ``ranks`` and ``weighting`` apply to targets given as classes (or ``None``); a
    :class:`FinerTarget` passed as target keeps its own. Extra keyword arguments go to
    ``base_method``.

    Formula, reference and shapes: the docstring of ``camlens.methods.finercam``.

    Example:
        >>> cam = FinerCAM(model, target_layers="layer4", alpha=1.0)
        >>> maps = cam(x, targets=[ClassTarget(281)])  # 281 against its nearest classes
    """

    name = "finercam"

    shares_capture = False

    def __init__(
        self,
        model: nn.Module,
        target_layers: LayersSpec,
        reshape_transform: ReshapeTransform | None = None,
        *,
        base_method: type[BaseCAM] = GradCAM,
        alpha: float = 1.0,
        ranks: Sequence[int] = DEFAULT_RANKS,
        weighting: Weighting = "softmax",
        differentiable: bool = False,
        **base_kwargs: object,
    ) -> None:
        if differentiable:
            base_kwargs["differentiable"] = True
        self.base = base_method(model, target_layers, reshape_transform, **base_kwargs)
        self.model = model
        self.adapter = self.base.adapter
        self.differentiable = differentiable
        self.uses_gradients = self.base.uses_gradients
        self.fuse = self.base.fuse
        FinerTarget(ranks=ranks, alpha=alpha, weighting=weighting)  # validate once, here
        self.alpha, self.ranks, self.weighting = alpha, tuple(ranks), weighting

    def finer_target(self, spec: object) -> object:
        """The :class:`FinerTarget` for one target spec (a list of them for a list)."""
        if isinstance(spec, FinerTarget):
            return spec
        if spec is None:
            return self._target(rank=0)
        if isinstance(spec, Tensor) or (hasattr(spec, "tolist") and hasattr(spec, "dtype")):
            spec = spec.tolist()
        if isinstance(spec, list | tuple):
            return [self.finer_target(s) for s in spec]
        if isinstance(spec, RankTarget):
            return self._target(rank=spec.rank)
        if type(spec) is ClassTarget:
            return self._target(spec.category)
        if callable(spec):
            raise TargetError(
                f"Finer-CAM explains a class against similar classes; got the target {spec!r}. "
                "Pass class indices, ClassTarget, RankTarget or FinerTarget."
            )
        return self._target(_index(spec, "a target"))

    def _target(self, category: int | None = None, rank: int = 0) -> FinerTarget:
        return FinerTarget(
            category, ranks=self.ranks, alpha=self.alpha, weighting=self.weighting, rank=rank
        )

    def explain_targets(
        self,
        input_tensor: Tensor,
        target_sets: Sequence[object],
        *,
        aug_smooth: bool = False,
        eigen_smooth: bool = False,
    ) -> list[Explanation]:
        sets = [self.finer_target(spec) for spec in target_sets]
        if aug_smooth:
            # Fix classes and comparisons on the un-augmented images, so that all six
            # augmentations explain the same contrast (one extra inference pass).
            logits = self.adapter.predict(check_input(self.prepare_input(input_tensor)))
            batch = logits.shape[0]
            resolved = []
            for spec in sets:
                items = spec if isinstance(spec, list) else [spec]
                if len(items) == 1:
                    items = items * batch
                if len(items) != batch:
                    raise TargetError(
                        f"got {len(items)} targets for a batch of {batch} images; give one "
                        f"target for the whole batch or exactly {batch}."
                    )
                resolved.append([t.resolve(logits[i]) for i, t in enumerate(items)])
            sets = resolved
        return super().explain_targets(
            input_tensor, sets, aug_smooth=aug_smooth, eigen_smooth=eigen_smooth
        )

    def explanations(self, capture: Capture, *, eigen_smooth: bool = False) -> list[Explanation]:
        if not all(isinstance(t, FinerTarget) for ts in capture.targets for t in ts):
            raise CamlensError(
                "Finer-CAM needs the gradients of its contrastive score, not of the targets of a "
                "capture shared with other methods; call FinerCAM on its own."
            )
        outputs = capture.outputs.detach()
        targets = [[t.resolve(outputs[i]) for i, t in enumerate(ts)] for ts in capture.targets]
        return self.base.explanations(replace(capture, targets=targets), eigen_smooth=eigen_smooth)
