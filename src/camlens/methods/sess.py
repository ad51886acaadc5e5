"""SESS — Tan, Zhao, Chai et al., "SESS: Saliency Enhancing with Scaling and Sliding", ECCV 2022
(arXiv:2207.01769), as pytorch-grad-cam's ``SESS`` implements it. A meta-method over any CAM.

The image is resized to several scales s_1 < … < s_S (shorter side; by default S = 12 scales
w, w + r, w + 2r, … with w the window = the input's shorter side and r = round(2w/7)); a w×w window
slides over every scale with stride w (the last window of a row/column is moved back inside). For
patch p with base-method map M_p (normalised, w×w) and target score π_p (the target on the patch's
softmax output, clipped at 0),

    weight  ω_p = π_p / max_q π_q                       (1 for all when every score is 0)
    paste   P_p = resize(M_p·ω_p placed at its window on a zero canvas of its scale, to H×W)
    fuse    F   = Σ_p P_p [P_p > θ] / Σ_p [P_p > θ]      (pool="mean"; pool="max": max_p P_p)
    SESS    L   = N(G_{11×11, σ=5} ⋆ F)                   (Gaussian smoothing, then min-max)

``pre_filter_ratio`` r drops the ⌊r·P⌋ lowest-scoring patches before their CAMs are computed.
Resizing is bilinear (antialiased when shrinking an image, as torchvision's ``resize``; plain
bilinear when shrinking a canvas, as OpenCV's); the blur mirrors the border without repeating the
edge (OpenCV's default). camlens runs the patches of all images of the batch together, in chunks of
``batch_size``, and takes the patch scores from the same forward pass as their CAMs
(pytorch-grad-cam runs every patch twice); ``norm_eps`` is the final normalisation's epsilon
(pytorch-grad-cam: 1e-7).
Shapes: input ``(B, C, H, W)``; patches ``(B·P, C, w, w)`` -> maps ``(B, H, W)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..core.base import BaseCAM, CaptureOptions, Explanation
from ..core.contract import Capture, ReshapeTransform, check_input, score_sets
from ..core.errors import CamlensError, InvalidInputError
from ..core.layers import LayersSpec
from ..core.postprocess import normalize
from ..errors import OptionError
from ..targets import score_targets
from .gradcam import GradCAM

Pool = Literal["mean", "max"]


def window_starts(length: int, step: int, window: int) -> list[int]:
    """Start offsets of the windows along one axis; the last one is moved back inside."""
    starts = []
    for start in range(0, length, step):
        if start + window >= length:
            starts.append(max(length - window, 0))
            break
        starts.append(start)
    return starts


def resized_size(height: int, width: int, short: int) -> tuple[int, int]:
    """The size of an image resized so that its shorter side is ``short`` (torchvision's rule)."""
    if width <= height:
        return int(short * height / width), short
    return short, int(short * width / height)


def gaussian_blur(maps: Tensor, size: int = 11, sigma: float = 5.0) -> Tensor:
    """Separable Gaussian blur of ``(N, H, W)``, mirrored border without repeating the edge."""
    half = size // 2
    offsets = torch.arange(size, dtype=torch.float64) - half
    kernel = torch.exp(-(offsets**2) / (2 * sigma**2))
    kernel = (kernel / kernel.sum()).to(device=maps.device, dtype=maps.dtype)

    def reflect(n: int) -> Tensor:
        index = torch.arange(-half, n + half)
        if n == 1:
            return torch.zeros_like(index)
        period = 2 * (n - 1)
        index = index.abs() % period
        return torch.where(index >= n, period - index, index).to(maps.device)

    rows = maps[:, reflect(maps.shape[1])]  # (N, H + 2h, W)
    rows = F.conv1d(rows.transpose(1, 2).reshape(-1, 1, rows.shape[1]), kernel.view(1, 1, -1))
    rows = rows.view(maps.shape[0], maps.shape[2], maps.shape[1]).transpose(1, 2)
    cols = rows[:, :, reflect(maps.shape[2])]
    cols = F.conv1d(cols.reshape(-1, 1, cols.shape[2]), kernel.view(1, 1, -1))
    return cols.view_as(maps)


@dataclass
class SESSCapture(Capture):
    """SESS's capture: ``maps[t] = (fused map (B, H, W), {layer: (B, H, W)})`` per target set."""

    maps: list[tuple[Tensor, dict[str, Tensor]]] = field(default_factory=list)


class SESS(BaseCAM):
    """SESS over ``base_method`` (Grad-CAM by default); extra keyword arguments go to it.

    Formula, reference and shapes: the docstring of ``camlens.methods.sess``.

    Example:
        >>> cam = SESS(model, target_layers="layer4")
        >>> maps = cam(x, targets=[ClassTarget(281)])  # (B, H, W) in [0, 1]
    """

    name = "sess"

    shares_capture = False

    def __init__(
        self,
        model: nn.Module,
        target_layers: LayersSpec,
        reshape_transform: ReshapeTransform | None = None,
        *,
        base_method: type[BaseCAM] = GradCAM,
        scales: Sequence[int] | None = None,
        num_scales: int = 12,
        scale_step_ratio: float = 2.0 / 7.0,
        window_size: int | None = None,
        step_size: int | None = None,
        pre_filter_ratio: float = 0.0,
        theta: float = 0.0,
        pool: Pool = "mean",
        smooth: bool = True,
        use_softmax_scores: bool = True,
        batch_size: int = 32,
        norm_eps: float = 0.0,
        **base_kwargs: object,
    ) -> None:
        if pool not in ("mean", "max"):
            raise OptionError(f"pool must be 'mean' or 'max', got {pool!r}.")
        if not 0.0 <= pre_filter_ratio < 1.0:
            raise OptionError(f"pre_filter_ratio must be in [0, 1), got {pre_filter_ratio}.")
        if num_scales < 1:
            raise OptionError(f"num_scales must be >= 1, got {num_scales}.")
        if batch_size < 1:
            raise OptionError(f"batch_size must be >= 1, got {batch_size}.")
        self.base = base_method(model, target_layers, reshape_transform, **base_kwargs)
        self.model = model
        self.adapter = self.base.adapter
        self.differentiable = False
        self.uses_gradients = self.base.uses_gradients
        self.scales = None if scales is None else [int(s) for s in scales]
        self.num_scales = num_scales
        self.scale_step_ratio = scale_step_ratio
        self.window_size = window_size
        self.step_size = step_size
        self.pre_filter_ratio = pre_filter_ratio
        self.theta = theta
        self.pool = pool
        self.smooth = smooth
        self.use_softmax_scores = use_softmax_scores
        self.batch_size = batch_size
        self.norm_eps = norm_eps

    def get_scales(self, window: int) -> list[int]:
        """The shorter side of each scaled image."""
        if self.scales is not None:
            return self.scales
        step = round(window * self.scale_step_ratio)
        return [window + step * i for i in range(self.num_scales)]

    def capture(
        self, x: Tensor, target_sets: Sequence[object], options: CaptureOptions
    ) -> SESSCapture:
        """One inference pass for the targets, then per target set the base method on every
        patch of every scale, merged back into maps (``eigen_smooth`` goes to the base method)."""
        x = check_input(x)
        if x.ndim != 4:
            raise InvalidInputError(f"SESS needs images (B, C, H, W), got {tuple(x.shape)}.")
        self.adapter.ensure_layers(x)
        logits = self.adapter.predict(x)
        targets, scores = score_sets(target_sets, logits, x.shape[0], options.rank_rows)
        return SESSCapture(
            inputs=x,
            outputs=logits,
            activations=[],
            targets=targets,
            scores=scores,
            layer_names=self.adapter.layer_names,
            adapter=self.adapter,
            maps=[self._sess(x, t, options.eigen_smooth) for t in targets],
        )

    def explanations(self, capture: Capture, *, eigen_smooth: bool = False) -> list[Explanation]:
        if not isinstance(capture, SESSCapture):
            raise CamlensError(
                "SESS explains patches of rescaled copies of the input and cannot use a capture "
                "shared with other methods; call SESS on its own."
            )
        return [
            Explanation(
                maps=maps,
                per_layer=per_layer,
                raw=dict(per_layer),
                outputs=capture.outputs,
                scores=capture.scores[t],
                targets=capture.targets[t],
            )
            for t, (maps, per_layer) in enumerate(capture.maps)
        ]

    def _patches(self, x: Tensor) -> tuple[list[Tensor], list[tuple[int, int, list]]]:
        """Per scale, the patches ``(B, P_s, C, w, w)`` and ``(scaled h, scaled w, [(x1, y1)])``."""
        height, width = x.shape[2:]
        window = self.window_size if self.window_size is not None else min(height, width)
        step = self.step_size if self.step_size is not None else window
        patches, layout = [], []
        for scale in self.get_scales(window):
            if scale < window:
                raise OptionError(f"every scale must be >= the window size {window}, got {scale}.")
            sh, sw = resized_size(height, width, scale)
            if (sh, sw) == (height, width):
                scaled = x
            else:
                scaled = F.interpolate(
                    x, size=(sh, sw), mode="bilinear", align_corners=False, antialias=True
                )
            corners = [
                (x1, y1)
                for y1 in window_starts(sh, step, window)
                for x1 in window_starts(sw, step, window)
            ]
            patches.append(
                torch.stack([scaled[:, :, y : y + window, c : c + window] for c, y in corners], 1)
            )
            layout.append((sh, sw, corners))
        return patches, layout

    def _scores(self, logits: Tensor, targets: list) -> Tensor:
        values = torch.softmax(logits, dim=-1) if self.use_softmax_scores else logits
        return score_targets(targets, values).detach().clamp_min(0)

    def _sess(self, x: Tensor, targets: list, eigen_smooth: bool) -> tuple[Tensor, dict]:
        batch, (height, width) = x.shape[0], x.shape[2:]
        patches, layout = self._patches(x)
        counts = [p.shape[1] for p in patches]
        flat = torch.cat(patches, dim=1).flatten(0, 1)  # (B·P, C, w, w), image-major
        total = flat.shape[0] // batch
        patch_targets = [t for t in targets for _ in range(total)]
        names = self.adapter.layer_names
        channels = 1 if len(names) == 1 else 1 + len(names)
        maps = flat.new_zeros(flat.shape[0], channels, *flat.shape[2:])
        scores = flat.new_zeros(flat.shape[0])
        keep = torch.ones(batch, total, dtype=torch.bool, device=x.device)
        if self.pre_filter_ratio > 0:
            for start in range(0, flat.shape[0], self.batch_size):
                chunk = slice(start, start + self.batch_size)
                logits = self.adapter.predict(flat[chunk])
                scores[chunk] = self._scores(logits, patch_targets[chunk])
            dropped = int(total * self.pre_filter_ratio)
            order = scores.view(batch, total).argsort(dim=1, stable=True)
            keep.scatter_(1, order[:, :dropped], False)
        kept = keep.flatten().nonzero()[:, 0]
        for start in range(0, kept.shape[0], self.batch_size):
            rows = kept[start : start + self.batch_size]
            result = self.base.explain(
                flat[rows], [patch_targets[i] for i in rows.tolist()], eigen_smooth=eigen_smooth
            )
            layer_maps = (
                [result.maps] if channels == 1 else [result.maps, *result.per_layer.values()]
            )
            maps[rows] = torch.stack(layer_maps, dim=1).detach().to(maps.dtype)
            if self.pre_filter_ratio == 0:
                scores[rows] = self._scores(
                    result.outputs, [patch_targets[i] for i in rows.tolist()]
                )
        scores = scores.view(batch, total)
        best = torch.where(keep, scores, -math.inf).amax(dim=1, keepdim=True)
        weights = torch.where(best > 0, scores / torch.where(best > 0, best, 1), 1.0)
        weights = (weights * keep).view(-1)
        maps = maps * weights.view(-1, 1, 1, 1)
        fused = self._fuse(
            maps.view(batch, total, channels, *maps.shape[2:]),
            keep,
            counts,
            layout,
            (height, width),
        )  # (B, K, H, W)
        if self.smooth:
            fused = gaussian_blur(fused.flatten(0, 1)).view_as(fused)
        final = normalize(fused[:, 0], self.norm_eps)
        per_layer = (
            {names[0]: final}
            if channels == 1
            else {n: normalize(fused[:, i + 1], self.norm_eps) for i, n in enumerate(names)}
        )
        return final, per_layer

    def _fuse(self, maps: Tensor, keep: Tensor, counts: list[int], layout: list, size) -> Tensor:
        """Paste every patch map back at its window, resize to the input, pool: ``(B, K, H, W)``."""
        batch, _, channels, window = maps.shape[:4]
        total = maps.new_zeros(batch, channels, *size)
        hits = maps.new_zeros(batch, channels, *size)
        start = 0
        for count, (sh, sw, corners) in zip(counts, layout, strict=True):
            canvas = maps.new_zeros(batch, count, channels, sh, sw)
            for p, (x1, y1) in enumerate(corners):
                canvas[:, p, :, y1 : y1 + window, x1 : x1 + window] = maps[:, start + p]
            if (sh, sw) != tuple(size):
                canvas = F.interpolate(
                    canvas.flatten(0, 2)[:, None], size=size, mode="bilinear", align_corners=False
                ).view(batch, count, channels, *size)
            kept = keep[:, start : start + count].view(batch, count, 1, 1, 1)
            if self.pool == "max":
                total = torch.maximum(total, canvas.amax(dim=1))
            else:
                mask = (canvas > self.theta) & kept
                total = total + torch.where(mask, canvas, 0).sum(dim=1)
                hits = hits + mask.sum(dim=1)
            start += count
        if self.pool == "max":
            return total
        return torch.where(hits > 0, total / torch.where(hits > 0, hits, 1), 0)
