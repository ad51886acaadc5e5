"""Helpers shared by the audit tests and the scripts they run in subprocesses."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for tiny_models

from tiny_models import SmallCNN

from camlens.loading import LoadedModel
from camlens.zoo import Preprocess

CLASSES = ["apple", "bean", "corn"]


def make_folder(root: Path, per_class: int = 8, size: int = 32, corrupt: bool = False) -> Path:
    """An ImageFolder tree of random RGB images (seeded), optionally with one corrupt file."""
    rng = np.random.default_rng(0)
    for name in CLASSES:
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i:03d}.png")
    if corrupt:
        good = (root / CLASSES[1] / "000.png").read_bytes()
        (root / CLASSES[1] / "broken.png").write_bytes(good[: len(good) // 3])  # truncated
    return root


class Slow(nn.Module):
    """A model that sleeps in its forward, so a test can kill the run mid-way; with ``marker``
    it appends a line to that file as each forward starts (so the test knows which batch runs)."""

    def __init__(self, net: nn.Module, delay: float, marker: str | None = None) -> None:
        super().__init__()
        self.net, self.delay, self.marker = net, delay, marker

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.marker:
            with open(self.marker, "a") as handle:
                handle.write(f"{x.shape[0]} {os.getpid()}\n")
        time.sleep(self.delay)
        return self.net(x)


def make_loaded(
    delay: float | None = None, size: int = 32, marker: str | None = None
) -> LoadedModel:
    """A seeded random SmallCNN (10 classes, the first three named as the folder's classes);
    wrapped in :class:`Slow` when ``delay`` is given (its layer is then ``net.relu3``)."""
    torch.manual_seed(0)
    net: nn.Module = SmallCNN().eval()
    layer = "relu3"
    if delay is not None:
        net, layer = Slow(net, delay, marker).eval(), "net.relu3"
    names = CLASSES + [f"other{i}" for i in range(7)]
    preprocess = Preprocess(size, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25))
    return LoadedModel(
        net, "small-cnn", names, preprocess, size, torch.device("cpu"), None, None, layer
    )
