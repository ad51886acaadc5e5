"""Ablation-CAM — Desai & Ramaswamy, "Ablation-CAM: Visual Explanations for Deep Convolutional
Network via Gradient-free Localization", WACV 2020. No gradients.

    y^c_k = f^c(x with channel k of the target layer set to 0)
    w^c_k = (y^c − y^c_k) / y^c                    (the relative drop of the score)
    L^c   = ReLU(Σ_k w^c_k A^k)

Shapes: A ``(B, C, *spatial)``; ``B·C`` ablated copies of the layer's output, scored in chunks;
w ``(B, C)``.

Only the part of the network after the target layer runs for the ablated copies ("tail" path):
each image goes through the layers before it once per chunk, and the layer's output is replaced
by the chunk's ablated copies (``TorchAdapter.predict_with_layer_output``). When the model's
structure does not allow a larger batch after the layer — a tensor from before the layer is
concatenated with the layer's output (DenseNet-style), say — the whole network runs on copies of
the image with the layer's output ablated in each ("full" path, pytorch-grad-cam's cost).
When the network after the layer and the target's score are affine in the layer's output A
(ResNet's avgpool + flatten + fc, a class logit), no copy needs to run ("affine" path): one pass
of the unablated copy with autograd on gives G = ∂y^c/∂A, checked operation by operation to be
affine (:class:`camlens.core.affine.AffineCheck`), and then exactly

    y^c_k = y^c − Σ_ij G_kij (A_kij − v_k)           (v_k: the ablation value of channel k)

for every k at once; two ablated copies are still scored as a check. ``affine=False`` scores
every copy. ``last_path`` (and ``paths`` per layer) tells which path the last call took.

Near-zero scores. The paper divides by y^c. camlens divides by ``|y^c|`` (so a positive weight
always means "ablating the channel lowered the score", also when y^c < 0), clamped below at
``rel_eps`` (1e-3) times the image's score scale ``max(|y^c|, max_k |y^c_k|)``; when the clamp
applies a :class:`NearZeroScoreWarning` says so (the map is still finite; a positive factor per
image does not change the normalised map). ``denominator="plain"`` divides by y^c as the paper
and pytorch-grad-cam do.

pytorch-grad-cam 1.5.7 (``AblationCAM``, ``AblationLayer``): ablates with 0 when the minimum of
the image's layer output is 0, otherwise with ``min − 1e7`` — and, because it ablates the copies of
a batch one after the other and re-reads the minimum each time, the j-th copy of a chunk gets
``min − (j + 1)·1e7``; chunks of ``batch_size`` = 32; plain division. ``ablation_value=
"pytorch-grad-cam", denominator="plain", batch_size=32`` reproduces it.
``ratio_channels_to_ablate < 1`` ablates only the channels pytorch-grad-cam's heuristic picks
(the ``ratio·C`` best and the ``ratio·C`` worst by overlap with the activations' first principal
component, without duplicates); the others get weight 0.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable
from typing import Literal

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils._pytree import tree_map_only

from ..core.affine import AffineCheck
from ..core.base import BaseCAM, Explanation, LayerContext
from ..core.capture import Capture, ReshapeTransform, frozen_parameters
from ..core.layers import LayersSpec
from ..core.reshape import auto_reshape
from ..errors import LayerOutputError, NearZeroScoreWarning, OptionError
from ..targets import score_targets
from . import _perturb

#: pytorch-grad-cam's ``AblationLayer.ABLATION_VALUE``.
PGC_ABLATION_OFFSET = 1e7


class AblationCAM(BaseCAM):
    """Ablation-CAM. Keyword options:

    batch_size: ablated copies per forward pass (read at call time); max_memory: byte budget
        for one chunk instead (default 512 MiB; see :mod:`camlens.methods._perturb`).
    ablation_value: what an ablated channel is set to: a number (paper: 0) or
        ``"pytorch-grad-cam"``.
    denominator: ``"abs"`` (camlens: ``max(|y^c|, rel_eps·scale)``) or ``"plain"`` (``y^c``).
    ratio_channels_to_ablate: fraction for pytorch-grad-cam's channel-selection heuristic.
    tail: try the tail-only path (``False`` always re-runs the whole network).
    affine: when the network after the layer is provably affine in its output, take every
        ablated score from one gradient (``last_path == "affine"``; ``False``: score copies).
    progress: show a tqdm bar of the ablated copies scored.

    Formula, reference and shapes: the docstring of ``camlens.methods.ablationcam``.

    Example:
        >>> cam = AblationCAM(model, target_layers="layer4", batch_size=64)
        >>> maps = cam(x, targets=[ClassTarget(281)])  # (B, H, W) in [0, 1]
    """

    name = "ablationcam"
    aliases = ("ablation",)

    uses_gradients = False
    #: With ``ablation_value="pytorch-grad-cam"``: the values restart every this many copies of
    #: a forward chunk (pytorch-grad-cam's ``batch_size``), so chunks of several of its batches
    #: get its numbers; ``None``: the chunk is one such batch.
    value_period: int | None = None

    def __init__(
        self,
        model: nn.Module,
        target_layers: LayersSpec,
        reshape_transform: ReshapeTransform | None = None,
        *,
        batch_size: int | None = None,
        max_memory: int | str | None = None,
        ablation_value: float | Literal["pytorch-grad-cam"] = 0.0,
        denominator: Literal["abs", "plain"] = "abs",
        rel_eps: float = 1e-3,
        ratio_channels_to_ablate: float = 1.0,
        tail: bool = True,
        affine: bool = True,
        progress: bool = False,
        differentiable: bool = False,
    ) -> None:
        super().__init__(model, target_layers, reshape_transform, differentiable=differentiable)
        self.batch_size = _perturb.check_batch_size(batch_size)
        self.max_memory = None if max_memory is None else _perturb.parse_memory(max_memory)
        if not (ablation_value == "pytorch-grad-cam" or isinstance(ablation_value, int | float)):
            raise OptionError(
                f"ablation_value must be a number or 'pytorch-grad-cam', got {ablation_value!r}."
            )
        if denominator not in ("abs", "plain"):
            raise OptionError(f"denominator must be 'abs' or 'plain', got {denominator!r}.")
        if not 0.0 < ratio_channels_to_ablate <= 1.0:
            raise OptionError(
                f"ratio_channels_to_ablate must be in (0, 1], got {ratio_channels_to_ablate}."
            )
        self.ablation_value = ablation_value
        self.denominator = denominator
        self.rel_eps = float(rel_eps)
        self.ratio_channels_to_ablate = float(ratio_channels_to_ablate)
        self.tail = tail
        self.affine = affine
        self.progress = progress
        #: "affine", "head-once", "tail" or "full": the path the last call took (for its last
        #: layer); per layer in paths.
        self.last_path: str | None = None
        self.paths: dict[str, str] = {}
        self._no_tail: set[tuple] = set()
        self._probe_cache: dict[tuple, int] = {}
        self._positions: dict[tuple, Tensor] = {}
        if tail and hasattr(self.adapter, "record_head"):
            self.adapter.record_head = True  # the capture keeps what ran before the layer

    def explanations(self, capture: Capture, *, eigen_smooth: bool = False) -> list[Explanation]:
        try:
            return super().explanations(capture, eigen_smooth=eigen_smooth)
        finally:
            release = getattr(capture.adapter, "release_head", None)
            if release is not None:
                release()  # the recorded outputs of the layers before the target

    # --- weights ---------------------------------------------------------------------------
    def channel_weights(
        self, activations: Tensor, gradients: Tensor | None, ctx: LayerContext
    ) -> Tensor:
        y = ctx.scores.detach().float()
        ablated = self.ablated_scores(activations, ctx)  # (B, C)
        drop = y[:, None] - ablated
        if self.denominator == "plain":
            return (drop / y[:, None]).to(activations.dtype)
        scale = torch.maximum(y.abs(), ablated.abs().amax(dim=1))
        floor = self.rel_eps * scale
        near = y.abs() < floor
        if bool(near.any()):
            images = near.nonzero().squeeze(1).tolist()
            warnings.warn(
                f"Ablation-CAM: the target score of image(s) {images} is near zero "
                f"({y[near].tolist()}) relative to the ablated scores; the division was clamped "
                f"at {self.rel_eps:g} x the score scale. The map shows which channels lower the "
                "score, but the score itself is too small to speak of a relative drop.",
                NearZeroScoreWarning,
                stacklevel=2,
            )
        denom = torch.maximum(y.abs(), floor)
        denom = torch.where(denom > 0, denom, torch.ones_like(denom))  # all scores 0: drop is 0
        return (drop / denom[:, None]).to(activations.dtype)

    # --- ablated scores --------------------------------------------------------------------
    def channels_to_ablate(self, activations: Tensor) -> Tensor:
        """Channels of one image ``(C, *spatial)`` to ablate, in the order they are run."""
        channels = activations.shape[0]
        if self.ratio_channels_to_ablate >= 1.0:
            return torch.arange(channels)
        return torch.as_tensor(
            _pgc_channel_selection(activations, self.ratio_channels_to_ablate), dtype=torch.long
        )

    def ablated_scores(self, activations: Tensor, ctx: LayerContext) -> Tensor:
        """``(B, C)`` target scores with each channel ablated (``y^c`` where not ablated)."""
        x = ctx.input.detach()
        batch, channels = activations.shape[:2]
        scores = ctx.scores.detach().float()[:, None].repeat(1, channels)
        plan_channels = [self.channels_to_ablate(activations[b].detach()) for b in range(batch)]
        total = sum(p.numel() for p in plan_channels)
        key = (ctx.layer_name, tuple(x.shape[1:]))
        head_for = getattr(self.adapter, "head_for", None)
        plan = None if head_for is None else head_for(ctx.input, ctx.layer_index)
        if not self.tail or key in self._no_tail:
            path = "full"
        else:
            path = "head-once" if plan is not None else "tail"
        if path == "head-once" and self.affine and isinstance(ctx.outputs, Tensor):
            path = "affine"
        with _perturb.progress_bar(
            self.progress, total, f"{type(self).__name__} {ctx.layer_name}"
        ) as bar:
            for b in range(batch):
                todo = plan_channels[b]
                with contextlib.ExitStack() as stack:
                    run = None
                    if path in ("affine", "head-once"):
                        try:
                            run = stack.enter_context(self.adapter.from_head(plan, b, x[b : b + 1]))
                            self._check_head(run, ctx, b)
                        except LayerOutputError:
                            path = "tail"  # the model-agnostic way: run the network again
                    if path == "affine":
                        result = self._affine_scores(run, ctx, b, todo)
                        if result is not None:
                            scores[b, todo.to(scores.device)] = result
                            bar.update(todo.numel())
                            continue
                        path = "head-once"  # the probe disagreed: score every copy
                    chunk = self._chunk(ctx, path, todo.numel())
                    start = 0
                    while start < todo.numel():
                        part = todo[start : start + chunk]
                        if path == "head-once":
                            try:
                                result = self._score_head(run, ctx, b, part)
                            except LayerOutputError:
                                path = "tail"
                                continue
                        elif path == "tail":
                            try:
                                result = self._score_tail(x[b : b + 1], ctx, b, part)
                            except LayerOutputError:
                                path = "full"
                                self._no_tail.add(key)
                                chunk = self._chunk(ctx, path, todo.numel())
                                continue
                        else:
                            result = self._score_full(x[b : b + 1], ctx, b, part)
                        scores[b, part.to(scores.device)] = result
                        bar.update(part.numel())
                        start += part.numel()
        self.paths[ctx.layer_name] = path
        self.last_path = path
        return scores

    def _affine_scores(
        self,
        run: Callable[..., Tensor],
        ctx: LayerContext,
        b: int,
        channels: Tensor,
    ) -> Tensor | None:
        """All ablated scores of image ``b`` from one gradient, when the network after the layer
        and the target's score are affine in the layer's output A: one pass of the unablated
        copy with autograd on, under :class:`camlens.core.affine.AffineCheck` (every operation
        that took a tensor derived from A was affine in it), gives G = ∂y/∂A, and then

            y_k = y − Σ_{ij} G_kij (A_kij − v_k)        (v_k: the value channel k is set to)

        is what copy k would score, up to rounding. The copies of two channels (the largest and
        the smallest predicted drop) are also scored; ``None`` (every copy is then scored) when
        the pass was not affine, or when they differ from the prediction by more than 1e-4 of
        the scores' scale."""
        check = AffineCheck()
        leaf: list[Tensor] = []

        entered: list[bool] = []

        def replace(output: Tensor) -> Tensor:
            leaf.append(output.detach().clone().requires_grad_(True))
            # The check starts at the layer: the modules before it return their recorded
            # outputs outside it (slicing them under a dispatch mode crashed the process).
            check.__enter__()
            entered.append(True)
            return check.track(leaf[0]).clone()  # not the leaf: the tail may work in place

        with frozen_parameters(self.model):
            try:
                logits = run(replace, grad=True)
                score = score_targets([ctx.targets[b]], logits)[0]
            except LayerOutputError:
                return None
            finally:
                if entered:
                    check.__exit__(None, None, None)
            if not check.affine or len(leaf) != 1 or not check.derives(score):
                return None
            if not score.requires_grad:
                return None
            (grad,) = torch.autograd.grad(score, leaf[0], allow_unused=True)
        if grad is None:
            return None
        a = leaf[0].detach()
        index = self._channel_positions(a, ctx)[channels.to(a.device)]  # (n, S)
        flat_a, flat_g = a.reshape(-1).double(), grad.reshape(-1).double()
        values = self._values_in_order(a, ctx, channels.numel()).to(a.device)
        drop = (flat_g[index] * (flat_a[index] - values[:, None])).sum(1)
        y = float(ctx.scores[b])
        probe = torch.unique(torch.stack([drop.argmax(), drop.argmin()]))
        exact = self._score_head(run, ctx, b, channels[probe]).double()  # copies 0, 1 of a chunk
        first = self._values(a, probe.numel()).double()
        expected = y - (flat_g[index[probe]] * (flat_a[index[probe]] - first[:, None])).sum(1)
        scale = max(abs(y), float(exact.abs().max()), float(expected.abs().max()))
        if float((exact - expected).abs().max()) > 1e-4 * scale + 1e-7:
            return None
        return (y - drop).float()

    def _values_in_order(self, a: Tensor, ctx: LayerContext, total: int) -> Tensor:
        """The ablation value of every copy, in the order and chunks the copies would run."""
        if self.ablation_value != "pytorch-grad-cam":
            return torch.full((total,), float(self.ablation_value), dtype=torch.float64)
        chunk = self._chunk(ctx, "head-once", total)
        sizes = [min(chunk, total - start) for start in range(0, total, chunk)]
        return torch.cat([self._values(a, n) for n in sizes]).double()

    def _chunk(self, ctx: LayerContext, path: str, total: int) -> int:
        probe = "full" if path == "full" else "tail"  # head-once: the tail's cost per copy
        return _perturb.chunk_size(
            self.batch_size,
            self.max_memory,
            lambda: self.copy_bytes(ctx.input, ctx.layer_index, probe),
            total,
        )

    def copy_bytes(self, x: Tensor, layer_index: int, path: str) -> int:
        """Estimated bytes one more ablated copy costs in a chunk: the probed activation memory
        of one image (``"tail"``: from the layer's output on) × ``WORKSPACE_FACTOR`` (``"full"``:
        plus the input copy)."""
        key = (path, layer_index, tuple(x.shape[1:]), x.dtype, x.device)
        if key not in self._probe_cache:
            layer = self.adapter.layers[layer_index][1]
            if path == "tail":
                peak = _perturb.probe_cost(self.adapter, self.model, x[:1], start=layer)
                extra = 0
            else:
                peak = _perturb.probe_cost(self.adapter, self.model, x[:1])
                extra = x[0].numel() * x.element_size()
            self._probe_cache[key] = int(_perturb.WORKSPACE_FACTOR * peak) + extra
        return self._probe_cache[key]

    def _score_tail(self, x1: Tensor, ctx: LayerContext, b: int, channels: Tensor) -> Tensor:
        n = channels.numel()

        def replace(output: Tensor) -> Tensor:
            copies = output.expand(n, *output.shape[1:]).clone()
            return self._ablate(copies, ctx, channels)

        logits = self.adapter.predict_with_layer_output(x1, ctx.layer_index, replace)
        return score_targets([ctx.targets[b]] * n, logits).float()

    def _score_head(
        self,
        run: Callable[[Callable[[Tensor], Tensor]], Tensor],
        ctx: LayerContext,
        b: int,
        channels: Tensor,
    ) -> Tensor:
        """Scores of the ablated copies from the outputs recorded before the layer in the
        capture pass (nothing before the layer runs again)."""
        n = channels.numel()

        def replace(output: Tensor) -> Tensor:
            copies = output.expand(n, *output.shape[1:]).clone()
            return self._ablate(copies, ctx, channels)

        return score_targets([ctx.targets[b]] * n, run(replace)).float()

    def _check_head(
        self, run: Callable[[Callable[[Tensor], Tensor]], Tensor], ctx: LayerContext, b: int
    ) -> None:
        """One pass of one unablated copy through the tail: its logits must be the capture's
        (else the recorded outputs do not stand for the network: :class:`LayerOutputError`).
        When the chunk size comes from a memory budget, the same pass is the probe of what one
        more copy costs (the tail's activation memory), so no extra forward pass is needed."""
        x = ctx.input
        key = ("tail", ctx.layer_index, tuple(x.shape[1:]), x.dtype, x.device)
        probe = key not in self._probe_cache
        live = (
            _perturb._LiveTensors(self.model, start=self.adapter.layers[ctx.layer_index][1])
            if probe
            else contextlib.nullcontext()
        )
        with live:
            logits = run(lambda output: output.clone())  # the tail may change it in place
        self._check_unablated(logits, ctx, b)
        if probe:
            self._probe_cache[key] = int(_perturb.WORKSPACE_FACTOR * live.peak)

    @staticmethod
    def _check_unablated(logits: Tensor, ctx: LayerContext, b: int) -> None:
        outputs = ctx.outputs
        if isinstance(outputs, Tensor) and isinstance(logits, Tensor):
            ref, got = outputs[b : b + 1].detach().float(), logits.float()
        else:
            ref = ctx.scores[b : b + 1].detach().float()
            got = score_targets([ctx.targets[b]], logits).float()
        if ref.shape != got.shape:
            raise LayerOutputError("the network's output changed shape from recorded outputs.")
        scale = float(ref.abs().max()) if ref.numel() else 0.0
        if float((ref - got).abs().max()) > 1e-4 * scale + 1e-6:
            raise LayerOutputError("the recorded outputs do not reproduce the model's output.")

    def _score_full(self, x1: Tensor, ctx: LayerContext, b: int, channels: Tensor) -> Tensor:
        n = channels.numel()

        def replace(output: Tensor) -> Tensor:
            return self._ablate(tree_map_only(Tensor, torch.clone, output), ctx, channels)

        copies = x1.expand(n, *x1.shape[1:])
        logits = self.adapter.predict_with_layer_output(copies, ctx.layer_index, replace)
        return score_targets([ctx.targets[b]] * n, logits).float()

    def _ablate(self, copies: Tensor, ctx: LayerContext, channels: Tensor) -> Tensor:
        """Set channel ``channels[j]`` of copy ``j`` to the ablation value, in place."""
        if not isinstance(copies, Tensor):
            raise LayerOutputError(
                f"Ablation-CAM ablates channels of a layer that returns a tensor; layer "
                f"{ctx.layer_name!r} returned {type(copies).__name__}. Pick a layer inside it "
                "(e.g. one FPN level), or for a detector's FPN dict use "
                "camlens.compat.pytorch_grad_cam.AblationCAM with AblationLayerFasterRCNN()."
            )
        copies = copies.contiguous()
        n = copies.shape[0]
        positions = self._channel_positions(copies, ctx)  # (C, S) flat positions in one copy
        index = positions[channels.to(positions.device)]  # (n, S)
        values = self._values(copies, n).to(copies.dtype)  # (n,)
        flat = copies.view(n, -1)
        flat.scatter_(1, index, values[:, None].expand(n, index.shape[1]))
        return copies

    def _values(self, copies: Tensor, n: int) -> Tensor:
        if self.ablation_value != "pytorch-grad-cam":
            return torch.full((n,), float(self.ablation_value), device=copies.device)
        low = copies[:1].min()  # every copy is the same image's output before ablation
        if bool(low == 0):
            return torch.zeros(n, device=copies.device, dtype=copies.dtype)
        period = min(n, self.value_period or n)
        values = []
        current = low
        for _ in range(period):  # pytorch-grad-cam re-reads the minimum after each ablation
            current = current - PGC_ABLATION_OFFSET
            values.append(current)
        values = torch.stack(values)
        return values if period == n else values.repeat(-(-n // period))[:n]

    def _channel_positions(self, copies: Tensor, ctx: LayerContext) -> Tensor:
        """``(C, S)``: where each channel of the (reshaped) activations lies in one raw copy:
        the reshape the capture applied (the user's ``reshape_transform``, else the automatic
        one: a ViT's grid tokens, channels last) run on the positions' indices."""
        shape = tuple(copies.shape[1:])
        key = (ctx.layer_index, shape, copies.device)
        if key not in self._positions:
            numel = int(np.prod(shape))
            ids = torch.arange(numel, dtype=torch.float64, device=copies.device).view(1, *shape)
            transform = self.adapter.reshape_transform
            if transform is None:  # a channels-first grid passes unchanged
                ids = auto_reshape(ids, (1, *ctx.input.shape[1:]), ctx.layer_name)
            else:
                try:
                    ids = transform(ids)
                except Exception as error:
                    raise LayerOutputError(
                        "Ablation-CAM maps channels back to the layer's raw output by applying "
                        "reshape_transform to a float64 index tensor of batch 1, which failed: "
                        f"{error}. Use a reshape_transform made of reshapes and permutations."
                    ) from error
            self._positions[key] = ids[0].reshape(ids.shape[1], -1).round().long()
        return self._positions[key]


def _pgc_channel_selection(activations: Tensor, ratio: float) -> np.ndarray:
    """pytorch-grad-cam's ``AblationLayer.activations_to_be_ablated`` (in numpy, as it is),
    duplicates removed: the ``int(C·ratio)`` highest- and lowest-scoring channels."""
    acts = activations.detach().float().cpu().numpy()
    flat = acts.reshape(acts.shape[0], -1).transpose()
    flat = np.nan_to_num(flat - flat.mean(axis=0))
    _, _, vt = np.linalg.svd(flat, full_matrices=True)
    projection = np.abs(flat @ vt[0, :])
    projection = projection - projection.min()
    projection = (projection / projection.max()) > 0.01
    scores = []
    with np.errstate(invalid="ignore", divide="ignore"):
        for channel in acts.reshape(acts.shape[0], -1):
            normalized = np.abs(channel)
            normalized = normalized - normalized.min()
            normalized = normalized / np.max(normalized)
            scores.append((projection * normalized).sum() / normalized.sum())
    order = list(np.argsort(np.float32(scores)))
    count = int(len(order) * ratio)
    picked = order[::-1][:count] + order[:count]
    return np.array(list(dict.fromkeys(int(i) for i in picked)), dtype=np.int64)
