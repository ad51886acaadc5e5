"""Embedding targets: explain how similar an image's embedding is to a reference embedding.

For models that output an embedding ``(B, D)`` (a classifier without its head, e.g. a ResNet whose
``fc`` is ``nn.Identity()``, CLIP's image tower, a re-identification or retrieval network).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ..errors import TargetError

__all__ = ["SimilarityTarget"]


class SimilarityTarget:
    """``cos(e, r) = e·r / (‖e‖·‖r‖)``: the cosine similarity of the image's embedding ``e`` (its
    output, flattened) with the reference ``r`` (``torch.nn.functional.cosine_similarity``, whose
    ``eps`` guards zero norms).

    The ``SimilarityToConceptTarget`` of pytorch-grad-cam's tutorials (not part of its package;
    ``nn.CosineSimilarity(dim=0)``, ``eps=1e-8``) gives the same number. The reference is typically
    the embedding of another image or the mean embedding of a concept's images.

    Note: against the image's *own* embedding the similarity is 1, its maximum, so its gradient
    is zero and gradient maps (Grad-CAM & co.) come out zero up to rounding (which min-max
    normalisation then stretches to [0, 1]); compare with another embedding.

    Args:
        reference: ``(D,)`` (any shape with D elements), numpy or torch; detached.
        eps: the guard against zero norms of ``torch.nn.functional.cosine_similarity``.

    Shapes: one image's embedding (``D`` elements, any shape) -> a scalar ``()`` in [-1, 1].

    Example:
        >>> import torch
        >>> SimilarityTarget(torch.tensor([1.0, 0.0]))(torch.tensor([1.0, 1.0]))
        tensor(0.7071)
    """

    def __init__(self, reference: Tensor | Any, *, eps: float = 1e-8) -> None:
        tensor = reference if isinstance(reference, Tensor) else torch.as_tensor(reference)
        if not tensor.is_floating_point():
            tensor = tensor.float()
        if tensor.numel() == 0:
            raise TargetError("the reference embedding is empty.")
        self.reference = tensor.detach().reshape(-1)
        self.eps = float(eps)

    def __call__(self, output: Tensor) -> Tensor:
        if not isinstance(output, Tensor):
            raise TargetError(
                f"SimilarityTarget needs one image's embedding tensor, not {type(output).__name__}."
            )
        embedding = output.reshape(-1)
        if embedding.numel() != self.reference.numel():
            raise TargetError(
                f"the model's embedding has {embedding.numel()} values but the reference has "
                f"{self.reference.numel()}; compute the reference with the same model."
            )
        reference = self.reference.to(device=embedding.device, dtype=embedding.dtype)
        return torch.nn.functional.cosine_similarity(embedding, reference, dim=0, eps=self.eps)

    def __repr__(self) -> str:
        return f"SimilarityTarget(reference of {self.reference.numel()} values)"
