"""The ordered registry of model sources: the default order, and adding a source."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from camlens.errors import InvalidInputError
from camlens.models import (
    SOURCES,
    LoadedModel,
    find_source,
    load_model,
    register_source,
    unregister_source,
)
from camlens.models._registry import ModelSource, known_names


def test_default_order_is_file_demo_zoo_torchvision_timm():
    assert [s.name for s in SOURCES] == ["file", "demo", "zoo", "torchvision", "timm"]
    assert all(isinstance(s, ModelSource) for s in SOURCES)


def test_first_claimant_wins():
    pytest.importorskip("timm")
    # resnet18 is both a torchvision and a timm model: torchvision comes first
    assert find_source("resnet18").name == "torchvision"
    assert find_source("timm:resnet18").name == "timm"
    # mobilenet_v2 without weights is the bundled demo, with weights torchvision's
    assert find_source("mobilenet_v2").name == "demo"
    assert find_source("mobilenet_v2", "random").name == "torchvision"
    assert find_source("benchmark-biased").name == "zoo"
    assert find_source("./no/such/model.pt").name == "file"
    assert find_source("surely-not-a-model") is None


def test_known_names_follow_the_order():
    names = known_names()
    assert names[0] == "demo"  # the file source knows no names
    assert names.index("benchmark-biased") < names.index("resnet18")


class _Constant:
    """A source of one model, ``constant``: a 1x1 convolution."""

    name = "constant"

    def claims(self, spec: str, weights: str | None) -> bool:
        return spec == "constant" or spec == "resnet18"

    def names(self) -> list[str]:
        return ["constant"]

    def load(self, spec, weights, device, input_size) -> LoadedModel:
        model = nn.Conv2d(3, 2, 1)
        return LoadedModel(
            model=model, name=spec, categories=["a", "b"], preprocess=lambda image: image,
            input_size=None, device=device, weights=weights, weights_sha256=None,
            target_layer=None,
        )  # fmt: skip


@pytest.fixture
def constant():
    source = _Constant()
    yield source
    if source in SOURCES:
        unregister_source("constant")


def test_a_registered_source_is_asked_last_by_default(constant):
    register_source(constant)
    assert SOURCES[-1] is constant
    loaded = load_model("constant")
    assert loaded.name == "constant" and loaded.categories == ["a", "b"]
    assert not loaded.model.training and loaded.device == torch.device("cpu")
    assert find_source("resnet18").name == "torchvision"  # earlier sources still win


def test_before_puts_a_source_ahead(constant):
    register_source(constant, before="torchvision")
    assert [s.name for s in SOURCES].index("constant") == 3
    assert find_source("resnet18") is constant
    unregister_source("constant")
    assert find_source("resnet18").name == "torchvision"


def test_duplicate_and_unknown_names_are_refused(constant):
    register_source(constant)
    with pytest.raises(InvalidInputError, match="registered already"):
        register_source(_Constant())
    with pytest.raises(InvalidInputError, match="no model source named 'nope'"):
        register_source(type("Other", (_Constant,), {"name": "other"})(), before="nope")
    with pytest.raises(InvalidInputError, match="no model source named 'nope'"):
        unregister_source("nope")
