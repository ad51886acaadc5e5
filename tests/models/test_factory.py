"""load_model over the registry, labels, and the old import paths (the same objects)."""

from __future__ import annotations

import importlib

import pytest
import torch

from camlens.errors import InvalidInputError, UnknownModelError
from camlens.models import load_model, read_labels


def test_load_model_puts_the_model_in_eval_mode_with_labels(tmp_path):
    labels = tmp_path / "labels.txt"
    labels.write_text("a\nb\nc\nd\ne\n\n")
    loaded = load_model(" benchmark-clean ", labels=labels)
    assert loaded.categories == ["a", "b", "c", "d", "e"]
    assert not loaded.model.training and loaded.device == torch.device("cpu")


def test_read_labels_refuses_an_empty_file(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    with pytest.raises(InvalidInputError, match="is empty"):
        read_labels(empty)


def test_no_model_given():
    with pytest.raises(UnknownModelError, match="no model given"):
        load_model("  ")


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("camlens.pretrained", "camlens.models._pretrained"),
        ("camlens.zoo.registry", "camlens.models.zoo.registry"),
        ("camlens.zoo.paths", "camlens.models.zoo.paths"),
        ("camlens.zoo.cifar10", "camlens.models.zoo.cifar10"),
        ("camlens.zoo.cifar_resnet", "camlens.models.zoo.cifar_resnet"),
        ("camlens.zoo.benchmark_cnn", "camlens.models.zoo.benchmark_cnn"),
        ("camlens.zoo.benchmark_vit", "camlens.models.zoo.benchmark_vit"),
    ],
)
def test_old_module_paths_are_the_new_modules(old, new):
    assert importlib.import_module(old) is importlib.import_module(new)


def test_old_names_are_the_new_objects():
    import camlens
    import camlens.images
    import camlens.loading
    import camlens.models
    from camlens import zoo

    assert camlens.loading.load_model is camlens.models.load_model
    assert camlens.loading.LoadedModel is camlens.models.LoadedModel
    assert camlens.loading.load_image is camlens.images.load_image
    assert camlens.loading.check_image_size is camlens.images.check_image_size
    assert camlens.loading.resolve_device is camlens.models.resolve_device
    assert zoo.load is camlens.models.zoo.load and camlens.zoo.names() == zoo.names()
    assert camlens.loading._torchvision_names() == camlens.models._sources.torchvision_names()
    with pytest.raises(AttributeError):
        camlens.loading._never_was  # noqa: B018
