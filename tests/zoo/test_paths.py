"""camlens.zoo.paths: $CAMLENS_SHARED_DATA first, then ../shared/data."""

from __future__ import annotations

import torch

from camlens.zoo import paths

torch.set_num_threads(1)


def test_env_var_comes_first_and_sub_folders_are_required(tmp_path, monkeypatch):
    (tmp_path / "cifar10-resnet").mkdir()
    monkeypatch.setenv(paths.ENV_VAR, str(tmp_path))
    assert paths.shared_data_candidates()[0] == tmp_path
    assert paths.shared_data_dir("cifar10-resnet") == tmp_path / "cifar10-resnet"
    monkeypatch.setattr(paths, "_REPO_ROOT", tmp_path / "nowhere" / "repo")
    monkeypatch.chdir(tmp_path)
    assert paths.shared_data_dir("no-such-folder") is None


def test_falls_back_to_shared_data_beside_the_repository(tmp_path, monkeypatch):
    monkeypatch.delenv(paths.ENV_VAR, raising=False)
    (tmp_path / "shared" / "data" / "x").mkdir(parents=True)
    monkeypatch.setattr(paths, "_REPO_ROOT", tmp_path / "repo")
    monkeypatch.chdir(tmp_path)
    assert paths.shared_data_dir("x") == tmp_path / "shared" / "data" / "x"
