"""camlens.zoo.cifar10: the shared CIFAR-10 JPEG test set as an ImageFolder."""

from __future__ import annotations

import pytest
import torch

from camlens.core.errors import CamlensError
from camlens.zoo import CIFAR10_CLASSES, DataNotFoundError, cifar10_test, shared_data_dir

torch.set_num_threads(1)
pytest.importorskip("torchvision")


@pytest.mark.skipif(
    shared_data_dir("cifar10-test") is None,
    reason="../shared/data/cifar10-test (or $CAMLENS_SHARED_DATA/cifar10-test) is absent",
)
def test_the_shared_test_set():
    ds = cifar10_test()
    assert len(ds) == 10_000 and ds.classes == CIFAR10_CLASSES
    x, y = ds[1234]
    assert x.shape == (3, 32, 32) and y == 1  # files sorted: 1,000 per class
    raw, _ = cifar10_test(normalize=False)[1234]
    assert raw.min() >= 0 and raw.max() <= 1
    mean, std = torch.tensor([0.485, 0.456, 0.406]), torch.tensor([0.229, 0.224, 0.225])
    torch.testing.assert_close(x, (raw - mean[:, None, None]) / std[:, None, None])


def test_missing_folder_raises_a_typed_error(tmp_path, monkeypatch):
    with pytest.raises(DataNotFoundError, match="not a folder") as info:
        cifar10_test(tmp_path / "absent")
    assert isinstance(info.value, CamlensError)
    from camlens.zoo import paths

    monkeypatch.setenv(paths.ENV_VAR, str(tmp_path))
    monkeypatch.setattr(paths, "_REPO_ROOT", tmp_path / "repo")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataNotFoundError, match="CAMLENS_SHARED_DATA"):
        cifar10_test()
