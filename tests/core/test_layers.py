"""Layer names: dotted, indexed, modules, lists; clear errors with close matches."""

import pytest
import torchvision
from torch import nn

from camlens.core.errors import LayerNotFoundError
from camlens.core.layers import resolve_layers


@pytest.fixture(scope="module")
def resnet():
    return torchvision.models.resnet18()


def test_dotted_and_indexed_names(resnet):
    assert resolve_layers(resnet, "layer4") == [("layer4", resnet.layer4)]
    assert resolve_layers(resnet, "layer4.1") == [("layer4.1", resnet.layer4[1])]
    assert resolve_layers(resnet, "layer4[-1]") == [("layer4.1", resnet.layer4[-1])]
    assert resolve_layers(resnet, "layer4[-1].conv2") == [
        ("layer4.1.conv2", resnet.layer4[1].conv2)
    ]


def test_modules_and_mixed_lists_keep_order(resnet):
    got = resolve_layers(resnet, [resnet.layer3, "layer2", resnet.layer4[-1]])
    assert [n for n, _ in got] == ["layer3", "layer2", "layer4.1"]


def test_data_parallel_names_work_with_or_without_module_prefix(resnet):
    wrapped = nn.DataParallel(resnet)
    assert resolve_layers(wrapped, "layer4")[0][1] is resnet.layer4
    assert resolve_layers(wrapped, "module.layer4") == [("module.layer4", resnet.layer4)]


def test_unknown_name_lists_close_matches(resnet):
    with pytest.raises(LayerNotFoundError) as info:
        resolve_layers(resnet, "layer5")
    message = str(info.value)
    assert "layer5" in message and "Close matches" in message and "layer4" in message


def test_index_out_of_range_and_empty_and_bad_type(resnet):
    with pytest.raises(LayerNotFoundError):
        resolve_layers(resnet, "layer4[7]")
    with pytest.raises(LayerNotFoundError, match="empty"):
        resolve_layers(resnet, [])
    with pytest.raises(LayerNotFoundError, match="not int"):
        resolve_layers(resnet, [3])


@pytest.mark.parametrize(
    "name", ["layer4.\u0661", "layer4[\u0661]", "layer4[-\u0661]", "layer\u0664", "layer4.\u00b9"]
)
def test_indices_are_ascii_digits_only(resnet, name):
    # int() and str.isdigit() accept Arabic-Indic digits and superscripts: "layer4.١" found
    # layer4[1], a name that no module has (and that a latin-1 HTTP header cannot carry)
    with pytest.raises(LayerNotFoundError, match="no layer named"):
        resolve_layers(resnet, name)


def test_a_child_registered_under_a_non_ascii_name_is_found_by_that_name():
    model = nn.Sequential()
    model.add_module("\u0661", nn.ReLU())
    model.add_module("blocks", nn.ModuleDict({"\u0662": nn.Identity()}))
    assert resolve_layers(model, "\u0661") == [("\u0661", model[0])]
    assert resolve_layers(model, "blocks.\u0662") == [("blocks.\u0662", model.blocks["\u0662"])]
