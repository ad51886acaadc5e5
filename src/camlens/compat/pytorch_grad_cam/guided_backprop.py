"""Mirror of ``pytorch_grad_cam.guided_backprop``."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from ...pixel.guided_backprop import GuidedBackprop
from .base_cam import model_device

__all__ = ["GuidedBackpropReLUModel"]


class GuidedBackpropReLUModel:
    """Guided backpropagation of the FIRST image, as pytorch-grad-cam returns it.

    ``GuidedBackpropReLUModel(model, device=None)`` puts the model in ``eval()`` mode (and on
    ``device`` if given); ``gb(input_img, target_category=None)`` returns the guided gradient of
    ``input_img[0]`` as an ``(H, W, C)`` numpy array (the input's dtype), for class
    ``target_category`` or, when ``None``, the image's top class. Turn it into a picture with
    ``utils.image.deprocess_image``.

    No module is swapped: ReLU modules and ``F.relu`` calls are guided during the call
    (pytorch-grad-cam swaps ``nn.ReLU`` modules and puts back non-in-place ones). For every image
    of a batch at once, use ``camlens.pixel.GuidedBackprop``.
    """

    def __init__(self, model: nn.Module, device: str | torch.device | None = None) -> None:
        self.model = model
        self.model.eval()
        if device is None:
            self.device = model_device(model)
        else:
            self.device = torch.device(device)
            self.model = self.model.to(self.device)

    def forward(self, input_img: Tensor) -> Tensor:
        return self.model(input_img)

    def __call__(self, input_img: Tensor, target_category: int | None = None) -> np.ndarray:
        x = input_img if self.device is None else input_img.to(self.device)
        targets = None if target_category is None else [target_category]
        attributions = GuidedBackprop(self.model)(x[:1], targets)
        return attributions[0].permute(1, 2, 0).detach().cpu().numpy()
