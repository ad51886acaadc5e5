"""Tiny models and segmentations for the superpixel methods' tests (LIME, KernelSHAP)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def blocks(height: int, width: int, rows: int, cols: int) -> torch.Tensor:
    """``(H, W)`` long labels of a ``rows × cols`` grid of rectangles, row-major."""
    r = torch.arange(height) * rows // height
    c = torch.arange(width) * cols // width
    return r[:, None] * cols + c[None, :]


class SmallNet(nn.Module):
    """conv(3→4) + ReLU + conv(4→4) + ReLU + global average pool + linear(4→3): non-linear in the
    superpixels, so the regressions have something to approximate."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1)
        self.fc = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.conv2(torch.relu(self.conv1(x))))
        return self.fc(h.mean(dim=(2, 3)))


def small_net(dtype: torch.dtype = torch.float64, gain: float = 100.0) -> nn.Module:
    """A :class:`SmallNet` whose last layer is scaled by ``gain`` (scores of order 1 for the
    perturbations of a small image, so absolute tolerances mean something)."""
    torch.manual_seed(0)
    model = SmallNet()
    with torch.no_grad():
        model.fc.weight.mul_(gain)
    return model.to(dtype).eval()


class RegionReadout(nn.Module):
    """Class ``k`` scores ``bias_k + Σ_s coef[k, s] · mean of channel 0 over region s``: linear in
    the shown superpixels when the hidden ones are 0, so LIME (without the ridge penalty) and
    KernelSHAP must recover ``coef[k, s] · mean_s`` exactly."""

    def __init__(self, segments: torch.Tensor, coef: torch.Tensor, bias: torch.Tensor) -> None:
        super().__init__()
        regions = torch.stack([(segments == s).double() for s in range(coef.shape[1])])
        self.register_buffer("regions", regions / regions.flatten(1).sum(1)[:, None, None])
        self.register_buffer("coef", coef.double())
        self.register_buffer("bias", bias.double())
        self.eval()  # as a deployed model: the methods warn of training mode

    def region_means(self, x: torch.Tensor) -> torch.Tensor:
        return torch.einsum("bhw,shw->bs", x[:, 0].double(), self.regions)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.region_means(x) @ self.coef.T + self.bias


def nhwc(x: torch.Tensor) -> np.ndarray:
    return x.permute(0, 2, 3, 1).numpy()


def scores_of(model: nn.Module, images_nhwc: np.ndarray) -> np.ndarray:
    """The model's logits on a numpy NHWC batch (what the reference packages call)."""
    with torch.no_grad():
        x = torch.from_numpy(np.ascontiguousarray(images_nhwc)).permute(0, 3, 1, 2)
        return model(x.to(next(iter(model.state_dict().values())).dtype)).numpy()
