"""Score-CAM — Wang et al., "Score-CAM: Score-Weighted Visual Explanations for Convolutional
Neural Networks", CVPR Workshops 2020 (arXiv:1910.01279). No gradients.

    H^k   = s(Up(A^k))                    each channel upsampled to the input, min-max normalised
    S^c_k = f^c(X ∘ H^k)                  the target score of the input masked by H^k
    w^c   = softmax_k(S^c)                weights: softmax over the channels
    L^c   = ReLU(Σ_k w^c_k A^k)

(Subtracting a baseline score f^c(X_b), as torchcam and the paper's "increase of confidence"
do, changes nothing: the softmax over channels is shift-invariant.)

Shapes: A ``(B, C, *spatial)``; the ``B·C`` masked inputs ``(C_in, *input_spatial)`` are built
chunk by chunk — never all at once — and scored under ``torch.inference_mode``; w ``(B, C)``.

Chunks: ``batch_size`` masked images per forward pass, or as many as fit in ``max_memory``
(bytes or ``"512MB"``; estimated from a one-image probe, see :mod:`camlens.methods._perturb`);
the default is a 512 MiB budget. A channel whose map is constant carries no spatial information:
its mask is zero, and all such channels share one forward pass of a zero image
(``skip_constant=True``). Computed literally, upsampling in float32 can turn a constant map into
rounding noise that the min-max normalisation blows up into a 0..1 pattern (pytorch-grad-cam
does that); ``skip_constant="zero"`` shortcuts only all-zero maps (exact under every convention),
``False`` none.

pytorch-grad-cam 1.5.7 upsamples with ``UpsamplingBilinear2d`` (``align_corners=True``) and
divides by ``max - min + 1e-8``: ``align_corners=True, mask_eps=1e-8``. torchcam 0.5 normalises
the low-resolution map first, then upsamples without corner alignment: ``normalize_first=True,
mask_eps=1e-8``. The default follows the paper's ``s(Up(A))`` with camlens' upsampling
(``align_corners=False``) and a constant map giving a zero mask (``mask_eps=0``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
from torch import Tensor, nn

from ..core.base import BaseCAM, LayerContext
from ..core.contract import TORCH_MODULES, ReshapeTransform, model_logits
from ..core.layers import LayersSpec
from ..core.torch_adapter import TorchAdapter
from ..errors import OptionError
from ..targets import score_targets
from . import _perturb


class ScoreCAM(BaseCAM):
    """Score-CAM. Keyword options:

    batch_size: masked images per forward pass (overrides the memory estimate; with
        ``max_memory`` too, the smaller chunk wins). Read at call time, so
        ``cam.batch_size = 64`` works as in pytorch-grad-cam.
    max_memory: byte budget for one chunk (int or ``"512MB"``, ``"2GiB"``); default 512 MiB.
    align_corners, mask_eps, normalize_first: the mask's upsampling and normalisation (see the
        module docstring for the settings that reproduce pytorch-grad-cam and torchcam).
    skip_constant: ``True``: constant maps get the zero mask and share one forward pass of a zero
        image; ``"zero"``: only all-zero maps do; ``False``: every mask as computed.
    channels_last: feed the masked images in channels-last layout (faster convolutions on CPU;
        the numbers are the same up to float rounding). ``None``: on for 4-D inputs on CPU.
    fold_batchnorm: score the masked images with an eval-mode copy of the model whose
        BatchNorms are folded into the convolutions before them (see
        :class:`camlens.methods._perturb.FoldedBatchNorm`; same scores up to float rounding). The
        copy's folded weights count against ``max_memory``; it is skipped when the budget cannot
        hold them and four masked images, and in training mode. It is made again from the
        model's current weights on every call, so edits to the weights (``.data``, ``copy_``,
        ``load_state_dict``) are always seen.
    progress: show a tqdm bar of the masked images scored.

    Formula, reference and shapes: the docstring of ``camlens.methods.scorecam``.

    Example:
        >>> cam = ScoreCAM(model, target_layers="layer4", max_memory="1GB")
        >>> maps = cam(x, targets=[ClassTarget(281)])  # (B, H, W) in [0, 1]
    """

    name = "scorecam"
    aliases = ("score",)

    uses_gradients = False

    def __init__(
        self,
        model: nn.Module,
        target_layers: LayersSpec,
        reshape_transform: ReshapeTransform | None = None,
        *,
        batch_size: int | None = None,
        max_memory: int | str | None = None,
        align_corners: bool = False,
        mask_eps: float = 0.0,
        normalize_first: bool = False,
        skip_constant: bool | Literal["zero"] = True,
        channels_last: bool | None = None,
        fold_batchnorm: bool = True,
        progress: bool = False,
        differentiable: bool = False,
    ) -> None:
        super().__init__(model, target_layers, reshape_transform, differentiable=differentiable)
        self.batch_size = _perturb.check_batch_size(batch_size)
        self.max_memory = None if max_memory is None else _perturb.parse_memory(max_memory)
        if mask_eps < 0:
            raise OptionError(f"mask_eps must be >= 0, got {mask_eps}.")
        self.align_corners = align_corners
        self.mask_eps = float(mask_eps)
        self.normalize_first = normalize_first
        if skip_constant not in (True, False, "zero"):
            raise OptionError(
                f"skip_constant must be True, False or 'zero', got {skip_constant!r}."
            )
        self.skip_constant = skip_constant
        self.channels_last = channels_last
        self.fold_batchnorm = fold_batchnorm
        self._folded = _perturb.FoldedBatchNorm()
        self.progress = progress
        self._probe_cache: dict[tuple, int] = {}
        #: What the last call did, per layer: forwards, masked images, chunk size, skipped maps.
        self.last_stats: dict[str, dict[str, int]] = {}

    # --- what a subclass changes ------------------------------------------------------------
    num_samples: int = 1

    def perturb(self, masks: Tensor, sample: int, flat_index: Tensor) -> Tensor:
        """The masks of sample ``sample`` (SS-CAM adds noise); ``(n, *input_spatial)``."""
        return masks

    def input_scale(self, sample: int) -> float:
        """The factor on the masked input of sample ``sample`` (IS-CAM integrates)."""
        return 1.0

    def constant_shortcut(self) -> bool:
        """Whether all-zero masks stay all-zero in every sample (not so with added noise)."""
        return self.skip_constant is not False

    def chunk_multiple(self, spatial: int) -> int:
        """Chunks are a multiple of this many masked images (SS-CAM: noise alignment)."""
        return 1

    # --- the method ------------------------------------------------------------------------
    def channel_weights(
        self, activations: Tensor, gradients: Tensor | None, ctx: LayerContext
    ) -> Tensor:
        scores = self.channel_scores(activations, ctx)
        return torch.softmax(scores.float(), dim=1).to(activations.dtype)

    def _use_channels_last(self, x: Tensor) -> bool:
        if self.channels_last is None:  # torch convolutions only (an ONNX session copies it back)
            torch_model = TORCH_MODULES in getattr(self.adapter, "capabilities", {TORCH_MODULES})
            return x.ndim == 4 and x.device.type == "cpu" and torch_model
        return bool(self.channels_last) and x.ndim == 4

    def masked_image_bytes(self, x: Tensor) -> int:
        """Estimated bytes one more masked image of ``x``'s shape costs in a chunk: the probed
        activation memory of one image × ``WORKSPACE_FACTOR``, plus the image and its mask."""
        key = (tuple(x.shape[1:]), x.dtype, x.device, id(self.model))
        if key not in self._probe_cache:
            peak = _perturb.probe_cost(self.adapter, self.model, x[:1])
            spatial = x[0, 0].numel()
            self._probe_cache[key] = int(
                _perturb.WORKSPACE_FACTOR * peak + x[0].numel() * x.element_size() + 4 * spatial
            )
        return self._probe_cache[key]

    def _scorer(
        self, x: Tensor, per_item: Callable[[], int]
    ) -> tuple[Callable[[Tensor], Tensor], int | None]:
        """The function that scores masked images, and the chunk budget left for them. The
        BatchNorm-folded copy is made again for each call from the model's current weights."""
        # Only where the adapter runs the model itself (not a Keras model behind a wrapper).
        use_fold = (
            self.fold_batchnorm
            and isinstance(self.model, nn.Module)
            and isinstance(self.adapter, TorchAdapter)
            and self.adapter.model is self.model
        )
        folded = self._folded.get(self.model, x[:1]) if use_fold else self.model
        extra = _perturb.folded_bytes(folded, self.model) if use_fold else 0
        if not extra:
            return self.adapter.predict, self.max_memory
        budget = _perturb.DEFAULT_MAX_MEMORY if self.max_memory is None else self.max_memory
        if self.batch_size is not None and self.max_memory is None:
            budget = None  # the user chose chunks by count
        elif budget - extra < 4 * per_item():
            return self.adapter.predict, self.max_memory
        else:
            budget -= extra

        def predict(x: Tensor) -> Tensor:
            with torch.inference_mode():
                return model_logits(folded(x))

        return predict, budget

    def channel_scores(self, activations: Tensor, ctx: LayerContext) -> Tensor:
        """``(B, C)``: each channel's target score of the masked input, averaged over samples."""
        x = ctx.input.detach()
        batch, channels = activations.shape[:2]
        size = x.shape[2:]
        flat = activations.detach().flatten(0, 1)  # (B·C, *spatial), image-major
        total = flat.shape[0]
        owner = torch.arange(total, device=flat.device) // channels
        scores = torch.zeros(total, dtype=torch.float32, device=x.device)
        todo = torch.arange(total, device=flat.device)
        forwards = skipped = 0
        predict, max_memory = self._scorer(x, lambda: self.masked_image_bytes(x))
        if self.constant_shortcut():
            constant = _perturb.constant_maps(flat, zero_only=self.skip_constant == "zero")
            if bool(constant.any()):
                const_idx = constant.nonzero().squeeze(1)
                logits = predict(torch.zeros_like(x[:1]))
                owners = owner[const_idx].tolist()
                zero_scores = score_targets(
                    [ctx.targets[b] for b in owners], logits.expand(len(owners), *logits.shape[1:])
                )
                scores[const_idx.to(x.device)] = zero_scores.float() * self.num_samples
                todo = (~constant).nonzero().squeeze(1)
                forwards, skipped = 1, len(owners)
        n_todo = todo.numel()
        chunk = _perturb.chunk_size(
            self.batch_size, max_memory, lambda: self.masked_image_bytes(x), max(1, n_todo)
        )
        multiple = self.chunk_multiple(size.numel())
        if chunk >= multiple and chunk < n_todo:
            chunk -= chunk % multiple
        channels_last = self._use_channels_last(x)
        desc = f"{type(self).__name__} {ctx.layer_name}"
        with _perturb.progress_bar(self.progress, n_todo * self.num_samples, desc) as bar:
            for sample in range(self.num_samples):
                scale = self.input_scale(sample)
                for start in range(0, n_todo, chunk):
                    idx = todo[start : start + chunk]
                    masks = _perturb.channel_masks(
                        flat[idx],
                        size,
                        align_corners=self.align_corners,
                        eps=self.mask_eps,
                        normalize_first=self.normalize_first,
                        zero_constant=self.skip_constant is True,
                    ).to(device=x.device, dtype=x.dtype)
                    masks = self.perturb(masks, sample, idx)
                    images = owner[idx].to(x.device)
                    masked = x[images] * masks[:, None]
                    if scale != 1.0:
                        masked = scale * masked
                    if channels_last:
                        masked = masked.contiguous(memory_format=torch.channels_last)
                    logits = predict(masked)
                    targets = [ctx.targets[b] for b in images.tolist()]
                    scores[idx.to(x.device)] += score_targets(targets, logits).float()
                    forwards += 1
                    bar.update(idx.numel())
                    del masks, masked, logits
        self.last_stats[ctx.layer_name] = {
            "forwards": forwards,
            "masked_images": n_todo * self.num_samples,
            "chunk": chunk,
            "skipped_constant": skipped,
        }
        return (scores / self.num_samples).view(batch, channels)
