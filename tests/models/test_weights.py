"""Weights files: the one hash, the one reader, state-dict unwrapping (local files only)."""

from __future__ import annotations

import hashlib
import zipfile

import pytest
import torch
from torch import nn

from camlens.errors import ModelLoadError, WeightsUnavailableError
from camlens.models import _weights as w
from camlens.models import sha256_of


def test_sha256_of_is_the_standard_digest(tmp_path):
    path = tmp_path / "abc.bin"
    path.write_bytes(b"abc")
    # FIPS 180-2's test vector for "abc"
    assert sha256_of(path) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    big = tmp_path / "big.bin"
    data = bytes(range(256)) * 9000  # > 1 MiB: more than one block
    big.write_bytes(data)
    assert sha256_of(big) == hashlib.sha256(data).hexdigest()


def test_the_old_paths_hash_with_the_same_function():
    import camlens.loading
    import camlens.pretrained
    from camlens.models.zoo import registry

    assert camlens.pretrained.sha256_of is sha256_of
    assert camlens.loading.sha256_of is sha256_of
    assert registry.sha256_of is sha256_of


def test_state_dict_of_unwraps_checkpoints_and_dataparallel(tmp_path):
    model = nn.Sequential(nn.Linear(2, 3))
    state = {f"module.{k}": v for k, v in model.state_dict().items()}
    path = tmp_path / "ckpt.pth"
    torch.save({"epoch": 3, "state_dict": state}, path)
    found = w.state_dict_of(w.read_weights_file(path), path)
    assert set(found) == {"0.weight", "0.bias"}
    assert torch.equal(found["0.weight"], model[0].weight.detach())
    assert w.output_classes(found, w.classifier_key(model)) == 3


def test_state_dict_of_refuses_what_holds_no_tensors(tmp_path):
    path = tmp_path / "notes.pt"
    torch.save({"lr": 0.1}, path)
    with pytest.raises(ModelLoadError, match="holds no state dict"):
        w.state_dict_of(w.read_weights_file(path), path)


def test_safetensors_are_read(tmp_path):
    safetensors = pytest.importorskip("safetensors.torch")
    path = tmp_path / "m.safetensors"
    safetensors.save_file({"weight": torch.ones(2, 2)}, str(path))
    assert torch.equal(w.read_weights_file(path)["weight"], torch.ones(2, 2))


def test_load_state_names_the_file_on_a_mismatch(tmp_path):
    with pytest.raises(ModelLoadError, match="does not fit lin"):
        w.load_state(nn.Linear(2, 3), {"weight": torch.zeros(1, 1)}, "lin", tmp_path / "x.pt")


@pytest.mark.filterwarnings("ignore::FutureWarning")  # torch 2.10+ deprecates TorchScript
def test_paths_torchscript_and_files(tmp_path):
    assert w.looks_like_path("./m") and w.looks_like_path("~/m") and w.looks_like_path("a/b")
    assert w.looks_like_path("model.pth.tar") and not w.looks_like_path("resnet18")
    script = tmp_path / "s.pt"
    torch.jit.save(torch.jit.script(nn.Linear(1, 1)), str(script))
    plain = tmp_path / "p.pt"
    torch.save(nn.Linear(1, 1).state_dict(), plain)
    other = tmp_path / "o.zip"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("readme.txt", "hi")
    assert w.is_torchscript(script) and not w.is_torchscript(other)
    assert w.is_file_argument(str(plain)) and not w.is_file_argument("IMAGENET1K_V1")
    assert w.existing_file(str(plain)) == plain
    with pytest.raises(WeightsUnavailableError, match="does not exist"):
        w.existing_file(str(tmp_path / "missing.pt"))
