"""Named, trained models with their preprocessing and Grad-CAM layer: ``zoo.load(name)``.

- ``benchmark-clean`` / ``benchmark-biased``:
  :class:`~camlens.models.zoo.benchmark_cnn.BenchmarkCNN` trained on the shapes benchmark
  (:mod:`camlens.datasets`) without / with the spurious watermark on the "triangle" class;
  shipped inside the package (``models/zoo/weights/``), SHA-256 recorded in
  ``models/zoo/weights/benchmark.json`` and checked at load.
- ``benchmark-vit-clean`` / ``benchmark-vit-biased``: the same two for a small ViT
  (:class:`~camlens.models.zoo.benchmark_vit.BenchmarkViT`), and ``benchmark-clip``: a tiny
  CLIP-style dual encoder (:class:`~camlens.models.zoo.benchmark_vit.BenchmarkCLIP`) trained on
  captioned one- and two-shape scenes (:func:`camlens.datasets.scenes.make_scenes`); record
  ``models/zoo/weights/benchmark-vit.json`` (``scripts/train_benchmark_vit.py``).
- ``cifar10-resnet20/32/44/56``: the classic CIFAR ResNets; checkpoints (akamaster's
  ``resnet20-12fca82f.th`` …) are read from ``$CAMLENS_SHARED_DATA/cifar10-resnet/`` or
  ``../shared/data/cifar10-resnet/`` or an explicit ``weights=`` path, SHA-256 checked.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from ...datasets.shapes import CLASSES
from ...errors import UnknownModelError as UnknownModelError
from ...errors import WeightsChecksumError, WeightsNotFoundError
from .._weights import sha256_of
from ..transforms import IMAGENET_MEAN, IMAGENET_STD
from ..transforms import Preprocess as Preprocess  # re-exported (camlens.models.zoo.Preprocess)
from . import benchmark_cnn, benchmark_vit
from .benchmark_cnn import BenchmarkCNN
from .cifar_resnet import cifar_resnet
from .paths import ENV_VAR, shared_data_candidates, shared_data_dir

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
BENCHMARK_RECORD = WEIGHTS_DIR / "benchmark.json"
TRANSFORMER_RECORD = WEIGHTS_DIR / "benchmark-vit.json"
TRANSFORMERS = ("benchmark-vit-clean", "benchmark-vit-biased", "benchmark-clip")
BENCHMARK_CLASSES = list(CLASSES)  # the shapes benchmark's classes, in label order
CIFAR10_CLASSES = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
]
# akamaster/pytorch_resnet_cifar10 checkpoints: file name and SHA-256 (its first 8 hex digits
# are in the name, torch.hub's convention).
CIFAR_CHECKPOINTS: dict[int, tuple[str, str]] = {
    20: (
        "resnet20-12fca82f.th",
        "12fca82f0bebc4135bf1f32f6e3710e61d5108578464b84fd6d7f5c1b04036c8",
    ),
    32: (
        "resnet32-d509ac18.th",
        "d509ac1820d7f25398913559d7e81a13229b1e7adc5648e3bfa5e22dc137f850",
    ),
    44: (
        "resnet44-014dd654.th",
        "014dd6541728a1c700b1642ab640e211dc6eb8ed507d70697458dc8f8a0ae2e4",
    ),
    56: (
        "resnet56-4bfd9763.th",
        "4bfd97631478d6b638d2764fd2baff3edb1d7d82252d54439343b6596b9b5367",
    ),
}


@dataclass
class ZooModel:
    """A loaded zoo model: everything needed to explain it.

    model (eval mode, on ``device``), categories (class names in logit order), preprocess
    (see :class:`Preprocess`), input_size (pixels), target_layer (dotted name of the natural
    Grad-CAM layer), weights_path, weights_sha256, name, info (the model's record, e.g. the
    accuracies in ``benchmark.json``).

    Example:
        >>> from camlens.zoo import load
        >>> zoo_model = load("benchmark-clean")  # the shipped benchmark CNN
        >>> zoo_model.input_size, zoo_model.target_layer, len(zoo_model.categories)
        (64, 'block4', 5)
    """

    name: str
    model: nn.Module
    categories: list[str]
    preprocess: Callable[[Any], Tensor]
    input_size: int
    target_layer: str
    weights_path: Path
    weights_sha256: str
    info: dict[str, Any] = field(default_factory=dict)


def names() -> list[str]:
    """Every name :func:`load` accepts."""
    return ["benchmark-clean", "benchmark-biased", *TRANSFORMERS] + [
        f"cifar10-resnet{d}" for d in sorted(CIFAR_CHECKPOINTS)
    ]


def benchmark_record() -> dict[str, Any]:
    """The training record ``zoo/weights/benchmark.json`` (accuracies, seeds, SHA-256s)."""
    if not BENCHMARK_RECORD.is_file():
        raise WeightsNotFoundError(
            f"{BENCHMARK_RECORD} is missing: the benchmark checkpoints are not built yet. "
            "Run `python scripts/train_benchmark.py` from the repository root."
        )
    return json.loads(BENCHMARK_RECORD.read_text())


def transformer_record() -> dict[str, Any]:
    """The training record ``zoo/weights/benchmark-vit.json`` of the ViTs and the CLIP."""
    if not TRANSFORMER_RECORD.is_file():
        raise WeightsNotFoundError(
            f"{TRANSFORMER_RECORD} is missing: the benchmark transformers are not built yet. "
            "Run `python scripts/train_benchmark_vit.py` from the repository root."
        )
    return json.loads(TRANSFORMER_RECORD.read_text())


def _load_transformer(name: str, weights: str | PathLike[str] | None) -> ZooModel:
    variant = name.removeprefix("benchmark-")
    record = transformer_record()
    if variant not in record["models"]:
        raise WeightsNotFoundError(
            f"{TRANSFORMER_RECORD} has no {variant!r} entry; rerun "
            f"`python scripts/train_benchmark_vit.py --variants {variant}`."
        )
    entry = record["models"][variant]
    path = Path(weights) if weights is not None else WEIGHTS_DIR / entry["file"]
    how = "Reinstall camlens or rerun scripts/train_benchmark_vit.py."
    if not path.is_file():
        raise WeightsNotFoundError(f"{path} is missing. {how}")
    sha = sha256_of(path) if weights is not None else _verify(path, entry["sha256"], how)
    clip = variant == "clip"
    model = (
        benchmark_vit.BenchmarkCLIP()
        if clip
        else benchmark_vit.BenchmarkViT(num_classes=len(BENCHMARK_CLASSES))
    )
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True), strict=True)
    return ZooModel(
        name=name,
        model=model,
        # the CLIP's output is an embedding: no classes (explain it with text prompts)
        categories=[] if clip else list(record.get("classes", BENCHMARK_CLASSES)),
        preprocess=Preprocess(benchmark_vit.INPUT_SIZE, benchmark_vit.MEAN, benchmark_vit.STD),
        input_size=benchmark_vit.INPUT_SIZE,
        # the layer in the model CAM methods explain: the ViT, or the CLIP's image tower
        target_layer=benchmark_vit.CLIP_TARGET_LAYER if clip else benchmark_vit.TARGET_LAYER,
        weights_path=path,
        weights_sha256=sha,
        info={**entry, "biased_class": BENCHMARK_CLASSES.index("triangle")},
    )


def _verify(path: Path, expected: str, how: str) -> str:
    actual = sha256_of(path)
    if actual != expected:
        raise WeightsChecksumError(
            f"{path} has SHA-256 {actual}, expected {expected}: the file is corrupt or another "
            f"checkpoint. {how}"
        )
    return actual


def _load_benchmark(name: str, weights: str | PathLike[str] | None) -> ZooModel:
    variant = name.removeprefix("benchmark-")
    record = benchmark_record()
    entry = record["models"][variant]
    path = Path(weights) if weights is not None else WEIGHTS_DIR / entry["file"]
    if not path.is_file():
        raise WeightsNotFoundError(
            f"{path} is missing. Reinstall camlens, or rebuild it with "
            "`python scripts/train_benchmark.py` from the repository root."
        )
    sha = (
        sha256_of(path)
        if weights is not None
        else _verify(
            path, entry["sha256"], "Reinstall camlens or rerun scripts/train_benchmark.py."
        )
    )
    model = BenchmarkCNN(num_classes=len(BENCHMARK_CLASSES))
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True), strict=True)
    return ZooModel(
        name=name,
        model=model,
        categories=list(record.get("classes", BENCHMARK_CLASSES)),
        preprocess=Preprocess(benchmark_cnn.INPUT_SIZE, benchmark_cnn.MEAN, benchmark_cnn.STD),
        input_size=benchmark_cnn.INPUT_SIZE,
        target_layer=benchmark_cnn.TARGET_LAYER,
        weights_path=path,
        weights_sha256=sha,
        info={**entry, "biased_class": record.get("biased_class")},
    )


def cifar_checkpoint(depth: int) -> Path:
    """The path of the CIFAR ResNet-``depth`` checkpoint in the shared data folder.

    Raises :class:`WeightsNotFoundError` naming the file and the folders searched.
    """
    filename = CIFAR_CHECKPOINTS[depth][0]
    folder = shared_data_dir("cifar10-resnet")
    if folder is not None and (folder / filename).is_file():
        return folder / filename
    searched = ", ".join(str(p / "cifar10-resnet") for p in shared_data_candidates())
    raise WeightsNotFoundError(
        f"cifar10-resnet{depth} needs {filename} (akamaster/pytorch_resnet_cifar10). Put it in "
        f"$CAMLENS_SHARED_DATA/cifar10-resnet/ (set {ENV_VAR}) or ../shared/data/cifar10-resnet/ "
        f"beside the repository, or pass weights='path/to/{filename}'. Searched: {searched}."
    )


def _load_cifar(name: str, depth: int, weights: str | PathLike[str] | None) -> ZooModel:
    filename, expected = CIFAR_CHECKPOINTS[depth]
    if weights is None:
        path = cifar_checkpoint(depth)
    else:
        path = Path(weights)
        if not path.is_file():
            raise WeightsNotFoundError(f"{path} does not exist: pass the path to {filename}.")
    sha = _verify(path, expected, f"Provide akamaster's original {filename}.")
    checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    state = checkpoint.get("state_dict", checkpoint) if isinstance(checkpoint, dict) else None
    if state is None:
        raise WeightsNotFoundError(f"{path} holds no state dict.")
    state = {k.removeprefix("module."): v for k, v in state.items()}
    model = cifar_resnet(depth, num_classes=10)
    model.load_state_dict(state, strict=True)
    info = {"best_prec1": float(checkpoint.get("best_prec1", float("nan"))), "file": filename}
    return ZooModel(
        name=name,
        model=model,
        categories=list(CIFAR10_CLASSES),
        preprocess=Preprocess(32, IMAGENET_MEAN, IMAGENET_STD),
        input_size=32,
        target_layer="layer3",
        weights_path=path,
        weights_sha256=sha,
        info=info,
    )


def load(
    name: str,
    device: str | torch.device = "cpu",
    weights: str | PathLike[str] | None = None,
) -> ZooModel:
    """Load zoo model ``name`` (see :func:`names`) in eval mode on ``device``.

    weights: an explicit checkpoint path (default: the shipped / shared one). Shipped and
    known checkpoints are SHA-256 checked; a benchmark checkpoint given by path is not.
    """
    depth = name.removeprefix("cifar10-resnet")
    if name in ("benchmark-clean", "benchmark-biased"):
        zm = _load_benchmark(name, weights)
    elif name in TRANSFORMERS:
        zm = _load_transformer(name, weights)
    elif name.startswith("cifar10-resnet") and depth.isdigit() and int(depth) in CIFAR_CHECKPOINTS:
        zm = _load_cifar(name, int(depth), weights)
    else:
        raise UnknownModelError(f"unknown zoo model {name!r}; choose one of {names()}.")
    zm.model.to(device).eval()
    return zm
