"""The CIFAR-10 test set from the shared data folder, as a torchvision ``ImageFolder``."""

from __future__ import annotations

from os import PathLike
from pathlib import Path
from typing import Any

from ...errors import DataNotFoundError as DataNotFoundError
from ..transforms import IMAGENET_MEAN, IMAGENET_STD
from .paths import ENV_VAR, shared_data_candidates, shared_data_dir


def cifar10_test_root(root: str | PathLike[str] | None = None) -> Path:
    """The ImageFolder root of the CIFAR-10 test set (``cifar10-test/`` in the shared data)."""
    if root is not None:
        path = Path(root)
        if not path.is_dir():
            raise DataNotFoundError(f"{path} is not a folder: pass the CIFAR-10 ImageFolder root.")
        return path
    found = shared_data_dir("cifar10-test")
    if found is None:
        searched = ", ".join(str(p / "cifar10-test") for p in shared_data_candidates())
        raise DataNotFoundError(
            "The CIFAR-10 test set (an ImageFolder tree airplane/ … truck/) was not found; set "
            f"{ENV_VAR} to the folder holding cifar10-test/, or pass root=. Searched: {searched}."
        )
    return found


def cifar10_test(root: str | PathLike[str] | None = None, normalize: bool = True) -> Any:
    """``torchvision.datasets.ImageFolder`` of the CIFAR-10 test set; items are
    ``(tensor (3, 32, 32), label)``, ImageNet-normalised unless ``normalize=False`` (then in
    [0, 1]). Class order is alphabetical, which is CIFAR-10's own order. Needs torchvision."""
    from torchvision import datasets, transforms

    steps: list[Any] = [transforms.ToTensor()]
    if normalize:
        steps.append(transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD))
    return datasets.ImageFolder(str(cifar10_test_root(root)), transform=transforms.Compose(steps))
