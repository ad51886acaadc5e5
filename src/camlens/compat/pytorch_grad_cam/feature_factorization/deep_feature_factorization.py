"""Mirror of ``pytorch_grad_cam.feature_factorization.deep_feature_factorization``.

The NMF is camlens' torch port of scikit-learn's coordinate-descent solver (same random start,
same updates, same stopping rule), on the activations' device; scikit-learn is not needed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ....core.capture import ReshapeTransform
from ....core.layers import LayerSpec
from ....methods.dff import DeepFeatureFactorization as _DeepFeatureFactorization
from ....methods.dff import nmf
from ..base_cam import as_is

__all__ = ["DeepFeatureFactorization", "dff", "run_dff_on_image"]


def dff(activations: np.ndarray, n_components: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Deep Feature Factorization of ``(B, C, h, w)`` activations.

    Returns the concepts ``(C, n_components)`` (NMF's W plus each channel's offset) and the
    concept maps ``(B, n_components, h, w)`` (the rows of H), as numpy arrays.
    """
    x = torch.nan_to_num(torch.as_tensor(np.asarray(activations)), nan=0.0)
    if x.ndim != 4:
        raise ValueError(f"activations must be (B, C, h, w), got shape {tuple(x.shape)}.")
    batch, channels, h, w = x.shape
    matrix = x.transpose(0, 1).reshape(channels, -1)
    offset = matrix.min(dim=1, keepdim=True).values
    weights, components, _ = nmf(matrix - offset, int(n_components))
    concepts = weights + offset
    explanations = components.reshape(int(n_components), batch, h, w).transpose(0, 1)
    return concepts.numpy(), explanations.numpy()


class DeepFeatureFactorization(_DeepFeatureFactorization):
    """Deep Feature Factorization of one layer, pytorch-grad-cam's call and results.

    ``dff(input_tensor, n_components=16)`` returns ``(concepts, explanations)``, or
    ``(concepts, explanations, concept_outputs)`` with ``computation_on_concepts``:
    concepts ``(C, k)``, explanations a list of one ``(k, H, W)`` float32 array per image (each
    map scaled to [0, 1] by ``max + 1e-7``, then resized to the input), concept_outputs
    ``computation_on_concepts`` of the ``(k, C)`` concept embeddings.
    """

    def __init__(
        self,
        model: nn.Module,
        target_layer: LayerSpec,
        reshape_transform: ReshapeTransform | None = None,
        computation_on_concepts: Callable[[Tensor], Tensor] | None = None,
    ) -> None:
        super().__init__(
            model,
            target_layer,
            reshape_transform or as_is,
            computation_on_concepts,
            normalization="pytorch-grad-cam",
        )
        self.reshape_transform = reshape_transform

    def __call__(  # type: ignore[override]
        self, input_tensor: Tensor, n_components: int = 16
    ) -> tuple[np.ndarray, list[np.ndarray]] | tuple[np.ndarray, list[np.ndarray], np.ndarray]:
        factorization = super().__call__(input_tensor, n_components)
        concepts = factorization.concepts.detach().cpu().numpy()
        explanations = list(factorization.maps.detach().cpu().numpy())
        if factorization.scores is None:
            return concepts, explanations
        return concepts, explanations, factorization.scores.detach().cpu().numpy()

    def __enter__(self) -> DeepFeatureFactorization:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def run_dff_on_image(
    model: nn.Module,
    target_layer: LayerSpec,
    classifier: Callable[[Tensor], Tensor],
    img_pil: Any,
    img_tensor: Tensor,
    reshape_transform: ReshapeTransform | None = None,
    n_components: int = 5,
    top_k: int = 2,
) -> np.ndarray:
    """The image next to its concepts drawn on it with a legend of each concept's ``top_k``
    classes: ``(H, 3W, 3)`` uint8. Class names come from ``model.config.id2label`` (Hugging Face
    models), as in pytorch-grad-cam; ``img_tensor`` is one ``(C, H, W)`` image.
    """
    from ..utils.image import create_labels_legend, show_factorization_on_image

    labels: Mapping[int, str] | Sequence[str] = model.config.id2label  # type: ignore[union-attr]
    rgb_img_float = np.array(img_pil) / 255
    factorization = DeepFeatureFactorization(
        model=model,
        reshape_transform=reshape_transform,
        target_layer=target_layer,
        computation_on_concepts=classifier,
    )
    _, batch_explanations, concept_outputs = factorization(img_tensor[None, :], n_components)
    concept_outputs = torch.softmax(torch.from_numpy(concept_outputs), dim=-1).numpy()
    concept_label_strings = create_labels_legend(concept_outputs, labels=labels, top_k=top_k)
    visualization = show_factorization_on_image(
        rgb_img_float,
        batch_explanations[0],
        image_weight=0.3,
        concept_labels=concept_label_strings,
    )
    return np.hstack((np.array(img_pil), visualization))
