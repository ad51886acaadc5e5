"""Deep Feature Factorization — Collins, Achanta & Süsstrunk, "Deep Feature Factorization For
Concept Discovery", ECCV 2018 (arXiv:1806.10206). Gradient-free and class-free.

The activations of the whole batch, A ``(B, C, h, w)``, as a non-negative ``(C, B·h·w)`` matrix
(each channel shifted by its minimum o_c so that it is ≥ 0), are factorised into k concepts:

    A − o ≈ W H,   W ≥ 0 ``(C, k)``,  H ≥ 0 ``(k, B·h·w)``,  minimising ‖A − o − W H‖²_F

Row j of H, reshaped to ``(B, h, w)``, is where concept j is in every image (its heat map); column j
of W + o is the concept's embedding in the layer's channel space. Passing the embeddings through
the classifier head (``computation_on_concepts``, e.g. ``model.fc``) scores each concept per class.

NMF as scikit-learn's ``NMF(init="random", random_state=seed, solver="cd")``, which
pytorch-grad-cam's ``DeepFeatureFactorization`` runs: the same random start (drawn with numpy's
``RandomState(seed)``, the only numpy in the path), then cyclic coordinate descent, for each
component t of W (then of Hᵀ):

    W[:, t] ← max(0, W[:, t] − ((W HHᵀ)[:, t] − (XHᵀ)[:, t]) / HHᵀ[t, t])

vectorised over rows in torch on the activations' device, stopping when the projected-gradient
violation falls below ``tol`` times the first iteration's, or after ``max_iter`` sweeps.
``solver="sklearn"`` calls scikit-learn itself. Maps: each concept map is normalised to [0, 1] and
upsampled to the input; camlens upsamples then normalises, ``normalization="pytorch-grad-cam"``
normalises (by max + 1e-7) then upsamples, as pytorch-grad-cam's ``scale_cam_image``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import Tensor, nn

from ..core.adapters import require_torch_model
from ..core.capture import ReshapeTransform, TorchAdapter
from ..core.errors import InvalidInputError
from ..core.layers import LayerSpec
from ..core.postprocess import normalize, upsample
from ..errors import OptionError

Normalization = Literal["paper", "pytorch-grad-cam"]


@dataclass
class Factorization:
    """The result of a Deep Feature Factorization of a batch.

    concepts: ``(C, k)`` the concept embeddings (columns of W + the channel offsets).
    maps:     ``(B, k, *input_spatial)`` in [0, 1]: where each concept is in each image.
    raw:      ``(B, k, *layer_spatial)``: the rows of H, before normalising and upsampling.
    scores:   ``(k, classes)`` ``computation_on_concepts`` of the embeddings, or ``None``.
    outputs:  ``(B, ...)`` the model's output for the batch.
    n_iter:   coordinate-descent sweeps the NMF took.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
        ...                       nn.Flatten(), nn.Linear(4, 3)).eval()
        >>> x = torch.rand(2, 3, 8, 8)
        >>> from camlens import DeepFeatureFactorization
        >>> factorization = DeepFeatureFactorization(model, "0")(x, n_components=2)
        >>> factorization.concepts.shape, factorization.maps.shape
        (torch.Size([4, 2]), torch.Size([2, 2, 8, 8]))
    """

    concepts: Tensor
    maps: Tensor
    raw: Tensor
    scores: Tensor | None
    outputs: Tensor
    n_iter: int


def _random_init(x: Tensor, k: int, seed: int | None) -> tuple[Tensor, Tensor]:
    """scikit-learn's ``init="random"``: |N(0, 1)| · √(mean(X)/k), H drawn before W."""
    rows, cols = x.shape
    dtype = np.float32 if x.dtype == torch.float32 else np.float64
    avg = np.sqrt(np.asarray(x.mean().item(), dtype=dtype) / k)
    rng = np.random.RandomState(seed)
    h = np.abs(avg * rng.standard_normal(size=(k, cols)).astype(dtype, copy=False))
    w = np.abs(avg * rng.standard_normal(size=(rows, k)).astype(dtype, copy=False))
    return (
        torch.from_numpy(w).to(device=x.device, dtype=x.dtype),
        torch.from_numpy(h).to(device=x.device, dtype=x.dtype),
    )


def _sweep(w: Tensor, hht: Tensor, xht: Tensor) -> Tensor:
    """One coordinate-descent pass over the columns of ``w`` (in place); the violation."""
    violation = w.new_zeros(())
    for t in range(w.shape[1]):
        grad = w @ hht[:, t] - xht[:, t]
        projected = torch.where(w[:, t] == 0, grad.clamp_max(0), grad)
        violation = violation + projected.abs().sum()
        hess = hht[t, t]
        if hess != 0:
            w[:, t] = (w[:, t] - grad / hess).clamp_min(0)
    return violation


def nmf(
    x: Tensor, k: int, *, max_iter: int = 200, tol: float = 1e-4, seed: int | None = 0
) -> tuple[Tensor, Tensor, int]:
    """``(W, H, n_iter)`` with ``x ≈ W @ H``, W ``(m, k)``, H ``(k, n)`` non-negative.

    scikit-learn's coordinate-descent NMF (Frobenius loss, no regularisation, no shuffling).
    """
    if x.ndim != 2:
        raise InvalidInputError(f"nmf needs a 2-D matrix, got shape {tuple(x.shape)}.")
    if bool((x < 0).any()):
        raise InvalidInputError("nmf needs a non-negative matrix.")
    w, h = _random_init(x, k, seed)
    ht = h.T.contiguous()
    xt = x.T.contiguous()
    violation_init = None
    n_iter = 0
    for n_iter in range(1, max_iter + 1):  # noqa: B007
        # Products as (k, ·) @ (·, ·)ᵀ: some BLAS builds are very slow on the other layouts.
        violation = _sweep(w, ht.T @ ht, (ht.T @ xt).T)
        violation = violation + _sweep(ht, w.T @ w, (w.T @ x).T)
        if violation_init is None:
            violation_init = violation
        if violation_init == 0 or violation / violation_init <= tol:
            break
    return w, ht.T, n_iter


def _sklearn_nmf(x: Tensor, k: int, max_iter: int, tol: float, seed: int | None):
    from sklearn.decomposition import NMF

    model = NMF(n_components=k, init="random", random_state=seed, max_iter=max_iter, tol=tol)
    data = x.detach().cpu().numpy()
    w = model.fit_transform(data)
    h = model.components_
    to = {"device": x.device, "dtype": x.dtype}
    return torch.from_numpy(w).to(**to), torch.from_numpy(h).to(**to), int(model.n_iter_)


class DeepFeatureFactorization:
    """Deep Feature Factorization of one layer: ``dff(x, n_components) -> Factorization``.

    Args:
        model: the model (left as it is: call ``model.eval()`` first).
        target_layer: the layer whose activations are factorised (module or dotted name;
            ``None`` picks one on the first call, as the CAM methods do).
        reshape_transform: maps the layer's output to ``(B, C, h, w)`` (ViT tokens).
        computation_on_concepts: maps ``(k, C)`` concept embeddings to ``(k, classes)`` scores,
            typically the classifier head after global pooling (``model.fc``).
        solver: ``"torch"`` (camlens, on the activations' device) or ``"sklearn"``.
        normalization: ``"paper"`` (upsample, then min-max) or ``"pytorch-grad-cam"``.

    Formula, reference and shapes: the docstring of ``camlens.methods.dff``.

    Example:
        >>> dff = DeepFeatureFactorization(model, "layer4")
        >>> factorization = dff(x, n_components=4)  # .maps: 4 concept maps per image
    """

    def __init__(
        self,
        model: nn.Module,
        target_layer: LayerSpec | None,
        reshape_transform: ReshapeTransform | None = None,
        computation_on_concepts: Callable[[Tensor], Tensor] | None = None,
        *,
        max_iter: int = 200,
        tol: float = 1e-4,
        seed: int | None = 0,
        solver: Literal["torch", "sklearn"] = "torch",
        normalization: Normalization = "paper",
    ) -> None:
        require_torch_model(model, "DeepFeatureFactorization")
        if solver not in ("torch", "sklearn"):
            raise OptionError(f"solver must be 'torch' or 'sklearn', got {solver!r}.")
        if normalization not in ("paper", "pytorch-grad-cam"):
            raise OptionError(
                f"normalization must be 'paper' or 'pytorch-grad-cam', got {normalization!r}."
            )
        self.model = model
        layers = None if target_layer is None else [target_layer]
        self.adapter = TorchAdapter(model, layers, reshape_transform)
        self.computation_on_concepts = computation_on_concepts
        self.max_iter, self.tol, self.seed = max_iter, tol, seed
        self.solver = solver
        self.normalization = normalization

    def __call__(self, input_tensor: Tensor, n_components: int = 16) -> Factorization:
        """Factorise the batch's activations into ``n_components`` concepts."""
        if int(n_components) < 1:
            raise OptionError(f"n_components must be >= 1, got {n_components}.")
        k = int(n_components)
        capture = self.adapter.capture(input_tensor, None, gradients=False)
        activations = capture.activations[0].detach()
        if activations.ndim < 3:
            raise InvalidInputError(
                f"the layer's output has shape {tuple(activations.shape)}; DFF needs "
                "(B, C, *spatial) activations (use reshape_transform for tokens)."
            )
        batch, channels, *spatial = activations.shape
        matrix = torch.nan_to_num(activations, nan=0.0).transpose(0, 1).reshape(channels, -1)
        offset = matrix.min(dim=1, keepdim=True).values
        matrix = matrix - offset
        if self.solver == "torch":
            w, h, n_iter = nmf(matrix, k, max_iter=self.max_iter, tol=self.tol, seed=self.seed)
        else:
            w, h, n_iter = _sklearn_nmf(matrix, k, self.max_iter, self.tol, self.seed)
        concepts = w + offset
        raw = h.reshape(k, batch, *spatial).transpose(0, 1)  # (B, k, *spatial)
        flat = raw.flatten(0, 1).float()
        size = input_tensor.shape[2:]
        if self.normalization == "paper":
            maps = normalize(upsample(flat, size))
        else:
            maps = upsample(normalize(flat, eps=1e-7), size)
        scores = None
        if self.computation_on_concepts is not None:
            with torch.no_grad():
                scores = self.computation_on_concepts(concepts.T.contiguous())
        return Factorization(
            concepts=concepts,
            maps=maps.view(batch, k, *size),
            raw=raw,
            scores=scores,
            outputs=capture.outputs,
            n_iter=n_iter,
        )
