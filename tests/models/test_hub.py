"""The local caches: torch.hub's checkpoints folder, its hash-in-the-name check, Hugging Face."""

from __future__ import annotations

import hashlib
from types import SimpleNamespace

import pytest

from camlens.errors import ModelLoadError
from camlens.models import _hub


@pytest.fixture
def hub_dir(tmp_path, monkeypatch):
    # TORCH_HOME, not torch.hub.set_dir: set_dir would stick for the later tests
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    return tmp_path / "hub"


def test_hub_file_is_in_torch_hubs_checkpoints(hub_dir):
    url = "https://download.pytorch.org/models/resnet18-f37072fd.pth"
    assert _hub.hub_file(url) == hub_dir / "checkpoints" / "resnet18-f37072fd.pth"
    from camlens.pretrained import hub_checkpoint

    assert hub_checkpoint().parent == _hub.hub_checkpoints_dir() == hub_dir / "checkpoints"


def test_check_hub_file_matches_the_hash_in_the_name(tmp_path):
    data = b"weights"
    digest = hashlib.sha256(data).hexdigest()
    good = tmp_path / f"net-{digest[:8]}.pth"
    good.write_bytes(data)
    assert _hub.check_hub_file(good, "https://x/net.pth") == digest
    bad = tmp_path / "net-00000000.pth"
    bad.write_bytes(data)
    with pytest.raises(ModelLoadError, match="should start with 00000000"):
        _hub.check_hub_file(bad, "https://x/net.pth")
    unnamed = tmp_path / "net.pth"  # no hash in the name: nothing to check against
    unnamed.write_bytes(data)
    assert _hub.check_hub_file(unnamed, "https://x/net.pth") == digest


def test_hf_cached_file_is_none_without_a_hub_id_or_a_cached_file(tmp_path, monkeypatch):
    pytest.importorskip("huggingface_hub")
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    no_id = SimpleNamespace(models=SimpleNamespace(get_pretrained_cfg=lambda name: None))
    assert _hub.hf_cached_file(no_id, "x") is None
    cfg = SimpleNamespace(hf_hub_id="nobody/nothing", hf_hub_filename=None)
    timm = SimpleNamespace(models=SimpleNamespace(get_pretrained_cfg=lambda name: cfg))
    assert _hub.hf_cached_file(timm, "x") is None
