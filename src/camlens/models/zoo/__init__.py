"""Trained models ready to explain: the shapes-benchmark CNNs (shipped) and CIFAR-10 ResNets.

from camlens import zoo
m = zoo.load("benchmark-biased")            # ZooModel: model, categories, preprocess, …
x = m.preprocess(image)[None]               # (1, 3, 64, 64)
"""

from __future__ import annotations

from .benchmark_cnn import BenchmarkCNN
from .benchmark_vit import BenchmarkCLIP, BenchmarkViT
from .cifar10 import DataNotFoundError, cifar10_test, cifar10_test_root
from .cifar_resnet import CifarResNet, cifar_resnet
from .paths import shared_data_dir
from .registry import (
    CIFAR10_CLASSES,
    Preprocess,
    UnknownModelError,
    ZooModel,
    benchmark_record,
    cifar_checkpoint,
    load,
    names,
    transformer_record,
)

__all__ = [
    "CIFAR10_CLASSES",
    "BenchmarkCLIP",
    "BenchmarkCNN",
    "BenchmarkViT",
    "CifarResNet",
    "DataNotFoundError",
    "Preprocess",
    "UnknownModelError",
    "ZooModel",
    "benchmark_record",
    "cifar10_test",
    "cifar10_test_root",
    "cifar_checkpoint",
    "cifar_resnet",
    "load",
    "names",
    "shared_data_dir",
    "transformer_record",
]
