"""RISE and occlusion as map methods (``"rise"``, ``"occlusion"`` in ``camlens.METHODS``), so the
CLI, ``camlens.evaluate``, the metrics and the web app take them beside the CAMs.

    map = normalise(A[:, 0])       A the pixel method's (B, C, H, W) attributions (equal over
                                   channels), min-max normalised per image to [0, 1]

The methods need the model's scores only (``requires`` is empty): any adapter runs them through
``predict`` — PyTorch, Keras, ONNX Runtime. ``target_layers`` is accepted and ignored (they look
at the input, not at a layer); keyword options go to :class:`camlens.pixel.RISE` /
:class:`camlens.pixel.Occlusion` (e.g. ``n_masks=2000, seed=0`` or ``patch_size=32``).
Shapes: input ``(B, C, H, W)`` -> maps ``(B, H, W)``; ``raw`` holds the unnormalised map under
the key ``"input"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from torch import Tensor, nn

from ..core.base import BaseCAM, Explanation
from ..core.contract import ReshapeTransform
from ..core.layers import LayersSpec
from ..core.postprocess import normalize
from ..pixel._base import PixelAttribution
from ..pixel.occlusion import Occlusion
from ..pixel.rise import RISE


class PixelMapMethod(BaseCAM):
    """A pixel-space black-box method as a map method (see the module docstring)."""

    uses_gradients: ClassVar[bool] = False
    requires: ClassVar[frozenset[str] | None] = frozenset()
    shares_capture: ClassVar[bool] = False
    pixel_class: ClassVar[type[PixelAttribution]]

    def __init__(
        self,
        model: nn.Module,
        target_layers: LayersSpec | None = None,
        reshape_transform: ReshapeTransform | None = None,
        *,
        differentiable: bool = False,
        **options: Any,
    ) -> None:
        super().__init__(model, None, reshape_transform, differentiable=differentiable)
        runner = model if isinstance(model, nn.Module) else self.adapter  # one adapter, shared
        self.method = self.pixel_class(runner, **options)

    def explain_targets(
        self,
        input_tensor: Tensor,
        target_sets: Sequence[object],
        *,
        aug_smooth: bool = False,
        eigen_smooth: bool = False,
    ) -> list[Explanation]:
        x = self.prepare_input(input_tensor)
        results = []
        for targets in target_sets:
            found = self.method.explain(x, targets)
            raw = found.attributions[:, 0].float()
            maps = normalize(raw)
            results.append(
                Explanation(
                    maps=maps,
                    per_layer={"input": maps},
                    raw={"input": raw},
                    outputs=found.outputs,
                    scores=found.scores,
                    targets=list(found.targets),
                )
            )
        return results


class RISEMap(PixelMapMethod):
    """RISE (Petsiuk et al., BMVC 2018) as a map: see :class:`camlens.pixel.RISE`."""

    name = "rise"

    pixel_class = RISE


class OcclusionMap(PixelMapMethod):
    """Occlusion (Zeiler & Fergus, ECCV 2014) as a map: see :class:`camlens.pixel.Occlusion`."""

    name = "occlusion"

    pixel_class = Occlusion
