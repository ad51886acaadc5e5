"""Each model source: what it claims, and what it loads from local files (nothing downloaded)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from camlens.errors import ModelLoadError, UnknownModelError, UntrustedFileWarning
from camlens.models import _sources as s
from camlens.models import load_model, sha256_of

CPU = torch.device("cpu")


def test_file_source_claims_files_folders_and_paths(tmp_path):
    source = s.FileSource()
    model = tmp_path / "m.bin"
    model.write_bytes(b"x")
    assert source.claims(str(model), None) and source.claims(str(tmp_path), None)
    assert source.claims("./missing.pt", None) and source.claims("dir/missing", None)
    assert not source.claims("resnet18", None) and not source.claims("timm:a/b", None)
    with pytest.raises(ModelLoadError, match="is a folder"):
        source.load(str(tmp_path), None, CPU, None)
    with pytest.raises(UnknownModelError, match="no model file at"):
        source.load(str(tmp_path / "missing.pt"), None, CPU, None)


@pytest.mark.filterwarnings("ignore::FutureWarning")  # torch 2.10+ deprecates TorchScript
def test_file_source_loads_torchscript_with_imagenet_preprocessing(tmp_path):
    path = tmp_path / "net.pt"
    net = nn.Sequential(nn.Conv2d(3, 2, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    torch.jit.save(torch.jit.script(net), str(path))
    loaded = s.FileSource().load(str(path), None, CPU, 32)
    assert loaded.name == "net.pt" and loaded.input_size == 32
    assert loaded.weights_sha256 == sha256_of(path) and loaded.notes[0].startswith("TorchScript")
    with pytest.raises(ModelLoadError, match="weights cannot be given"):
        s.FileSource().load(str(path), "w.pt", CPU, None)


def test_a_pickled_module_warns_and_a_state_dict_is_refused(tmp_path):
    whole, state = tmp_path / "whole.pt", tmp_path / "state.pt"
    torch.save(nn.Linear(2, 2), whole)
    torch.save(nn.Linear(2, 2).state_dict(), state)
    with pytest.warns(UntrustedFileWarning) as caught:
        loaded = load_model(str(whole))
    assert caught[0].filename == __file__  # the warning points at the caller of load_model
    assert isinstance(loaded.model, nn.Linear)
    with pytest.raises(ModelLoadError, match="holds weights only"):
        load_model(str(state))


def test_demo_source_claims_demo_and_plain_mobilenet_v2():
    demo = s.DemoSource()
    assert demo.claims("demo", None) and demo.claims("mobilenet_v2", None)
    assert not demo.claims("mobilenet_v2", "random") and demo.names() == ["demo"]


def test_zoo_source_loads_a_shipped_checkpoint():
    zoo = s.ZooSource()
    assert "benchmark-biased" in zoo.names() and zoo.claims("benchmark-biased", None)
    loaded = zoo.load("benchmark-biased", None, CPU, None)
    from camlens.models.zoo import registry

    record = registry.benchmark_record()["models"]["biased"]
    assert loaded.weights_sha256 == record["sha256"]  # checked against the shipped record
    assert loaded.target_layer and loaded.categories[0] == "circle"


def test_torchvision_source_random_and_own_weights(tmp_path):
    pytest.importorskip("torchvision")
    tv = s.TorchvisionSource()
    assert tv.claims("resnet18", None) and not tv.claims("benchmark-biased", None)
    random = tv.load("resnet18", "random", CPU, None)
    assert random.weights == "random" and random.target_layer == "layer4"
    assert len(random.categories) == 1000 and random.input_size == 224
    path = tmp_path / "ten.pth"
    import torchvision

    torch.save(torchvision.models.resnet18(num_classes=10).state_dict(), path)
    own = tv.load("resnet18", str(path), CPU, None)
    assert own.model.fc.out_features == 10 and own.categories is None  # 10 classes: no names
    assert own.weights_sha256 == sha256_of(path)
    with pytest.raises(ModelLoadError, match="no weights named 'IMAGENET9'"):
        tv.load("resnet18", "IMAGENET9", CPU, None)


def test_timm_source_claims_prefixed_and_bare_names():
    timm = pytest.importorskip("timm")
    source = s.TimmSource()
    assert source.claims("timm:anything", None)  # the prefix is claimed, checked at load
    bare = next(n for n in timm.list_models() if n not in s.torchvision_names())
    assert source.claims(bare, None)
    loaded = source.load("timm:resnet10t", "random", CPU, None)
    assert loaded.name == "timm:resnet10t" and loaded.notes == [s.RANDOM_NOTE]
    with pytest.raises(UnknownModelError, match="timm:resnet10tt"):
        source.load("timm:resnet10tt", "random", CPU, None)


def test_unknown_model_lists_close_matches():
    with pytest.raises(UnknownModelError, match="Close matches: benchmark-biased"):
        load_model("benchmark-biasd")
