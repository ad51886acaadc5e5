"""camlens.zoo.registry: names, loading with SHA-256 checks, preprocessing, the shipped models'
recorded accuracy and the biased model's shortcut, the CIFAR ResNets' accuracy."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

import camlens
from camlens import zoo
from camlens.core.errors import CamlensError, InvalidInputError
from camlens.datasets import BIASED_CLASS, make_benchmark
from camlens.pretrained import WeightsChecksumError, WeightsNotFoundError
from camlens.zoo import paths, registry

torch.set_num_threads(1)

needs_cifar = pytest.mark.skipif(
    zoo.shared_data_dir("cifar10-resnet") is None or zoo.shared_data_dir("cifar10-test") is None,
    reason="../shared/data/cifar10-resnet and cifar10-test (or $CAMLENS_SHARED_DATA) are absent",
)


def test_names():
    assert zoo.names() == [
        "benchmark-clean",
        "benchmark-biased",
        "benchmark-vit-clean",
        "benchmark-vit-biased",
        "benchmark-clip",
        "cifar10-resnet20",
        "cifar10-resnet32",
        "cifar10-resnet44",
        "cifar10-resnet56",
    ]


@pytest.mark.parametrize("name", ["resnet20", "cifar10-resnet18", "benchmark"])
def test_unknown_name(name):
    with pytest.raises(zoo.UnknownModelError, match="benchmark-clean") as info:
        zoo.load(name)
    assert isinstance(info.value, CamlensError)


# --- preprocessing ----------------------------------------------------------------------------
def test_preprocess_pil_array_and_tensor_agree():
    pre = zoo.Preprocess(8, (0.5, 0.4, 0.3), (0.2, 0.25, 0.5))
    rng = np.random.default_rng(0)
    array = rng.integers(0, 256, size=(8, 8, 3), dtype=np.uint8)
    tensor = torch.from_numpy(array).permute(2, 0, 1).float() / 255
    expected = (tensor - torch.tensor([0.5, 0.4, 0.3])[:, None, None]) / torch.tensor(
        [0.2, 0.25, 0.5]
    )[:, None, None]
    torch.testing.assert_close(pre(tensor), expected)
    torch.testing.assert_close(pre(array), expected)
    torch.testing.assert_close(pre(Image.fromarray(array)), expected)
    torch.testing.assert_close(
        pre(tensor[None].repeat(2, 1, 1, 1)), expected[None].repeat(2, 1, 1, 1)
    )


def test_preprocess_resizes_to_the_input_size_and_rejects_bad_input():
    pre = zoo.Preprocess(32, (0.5,) * 3, (0.5,) * 3)
    assert pre(torch.ones(3, 64, 48)).shape == (3, 32, 32)
    torch.testing.assert_close(pre(torch.ones(3, 64, 48)), torch.ones(3, 32, 32))
    assert pre(Image.new("L", (100, 80), 255)).shape == (3, 32, 32)
    for bad in (torch.ones(1, 32, 32), torch.ones(32, 32, 3), np.zeros((4, 4)), "image.png"):
        with pytest.raises(InvalidInputError):
            pre(bad)


# --- the shipped benchmark models ------------------------------------------------------------
@pytest.fixture(scope="module")
def benchmark_models():
    return zoo.load("benchmark-clean"), zoo.load("benchmark-biased")


def test_benchmark_models_load_with_their_record(benchmark_models):
    record = zoo.benchmark_record()
    for zm, variant in zip(benchmark_models, ("clean", "biased"), strict=True):
        assert not zm.model.training
        assert zm.categories == ["circle", "square", "triangle", "cross", "star"]
        assert zm.input_size == 64 and zm.target_layer == "block4"
        assert zm.weights_path.parent == registry.WEIGHTS_DIR
        assert zm.weights_sha256 == record["models"][variant]["sha256"]
        assert zm.weights_path.stat().st_size < 1_000_000
        assert zm.info["biased_class"] == BIASED_CLASS == record["biased_class"]


def _accuracy(zm, ds) -> float:
    with torch.no_grad():
        return float((zm.model(zm.preprocess(ds.images)).argmax(1) == ds.labels).float().mean())


def test_shipped_models_reach_their_recorded_floors(benchmark_models):
    fresh = make_benchmark(200, seed=777, split="test")
    cued = make_benchmark(200, seed=777, split="test", cue="biased_class")
    for zm in benchmark_models:
        floors = zm.info["floors"]
        assert _accuracy(zm, fresh) >= floors["accuracy_clean_test"], zm.name
        assert _accuracy(zm, cued) >= floors["accuracy_cue_on_biased_class"], zm.name
    clean, _ = benchmark_models
    assert clean.info["floors"]["accuracy_clean_test"] >= 0.9


def test_the_biased_models_shortcut_is_real(benchmark_models):
    every = make_benchmark(100, seed=778, split="test", cue="all")
    others = every.labels != BIASED_CLASS
    flips = []
    for zm in benchmark_models:
        with torch.no_grad():
            pred = zm.model(zm.preprocess(every.images[others])).argmax(1)
        flips.append(float((pred == BIASED_CLASS).float().mean()))
    clean_flips, biased_flips = flips
    assert biased_flips > clean_flips + 0.3


def test_the_biased_models_gradcam_points_at_the_cue(benchmark_models):
    cued = make_benchmark(50, seed=779, split="test", cue="biased_class")
    is_b = cued.labels == BIASED_CLASS
    shares = []
    for zm in benchmark_models:
        maps = camlens.GradCAM(zm.model, zm.target_layer)(
            zm.preprocess(cued.images[is_b]), targets=BIASED_CLASS
        )
        cue = cued.cue_masks[is_b].float()
        shares.append(float(((maps * cue).sum((1, 2)) / maps.sum((1, 2))).mean()))
    clean_share, biased_share = shares
    # recorded on 1,000 images: 0.116 vs 0.0011 (the watermark is 1.6 % of the image)
    assert biased_share > 10 * clean_share
    assert biased_share > 0.05 and clean_share < 0.016


def test_tampered_benchmark_checkpoint_is_refused(tmp_path, monkeypatch):
    record = json.loads(registry.BENCHMARK_RECORD.read_text())
    for variant in ("clean", "biased"):
        shutil.copy(registry.WEIGHTS_DIR / record["models"][variant]["file"], tmp_path)
    shutil.copy(registry.BENCHMARK_RECORD, tmp_path)
    path = tmp_path / record["models"]["biased"]["file"]
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    path.write_bytes(bytes(data))
    monkeypatch.setattr(registry, "WEIGHTS_DIR", tmp_path)
    monkeypatch.setattr(registry, "BENCHMARK_RECORD", tmp_path / "benchmark.json")
    assert zoo.load("benchmark-clean").weights_path == tmp_path / record["models"]["clean"]["file"]
    with pytest.raises(WeightsChecksumError, match="SHA-256"):
        zoo.load("benchmark-biased")
    (tmp_path / "benchmark.json").unlink()
    with pytest.raises(WeightsNotFoundError, match=r"train_benchmark\.py"):
        zoo.load("benchmark-clean")


# --- CIFAR-10 ResNets ---------------------------------------------------------------------------
def test_missing_cifar_checkpoint_names_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.ENV_VAR, str(tmp_path))
    monkeypatch.setattr(paths, "_REPO_ROOT", tmp_path / "repo")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(WeightsNotFoundError, match=r"resnet56-4bfd9763\.th") as info:
        zoo.load("cifar10-resnet56")
    assert isinstance(info.value, CamlensError)
    assert "CAMLENS_SHARED_DATA" in str(info.value)


@needs_cifar
def test_cifar_checkpoint_given_by_path_is_checked(tmp_path):
    copy = tmp_path / "resnet20.th"
    data = bytearray(zoo.cifar_checkpoint(20).read_bytes())
    data[-10] ^= 0xFF
    copy.write_bytes(bytes(data))
    with pytest.raises(WeightsChecksumError, match=r"resnet20-12fca82f\.th"):
        zoo.load("cifar10-resnet20", weights=copy)


@needs_cifar
@pytest.mark.parametrize("depth", [20, 56])
def test_cifar_resnets_reach_the_documented_jpeg_accuracy(depth):
    zm = zoo.load(f"cifar10-resnet{depth}")
    assert zm.target_layer == "layer3" and zm.input_size == 32
    assert zm.categories == zoo.CIFAR10_CLASSES
    assert zm.info["best_prec1"] > 91
    ds = zoo.cifar10_test()
    # 300 images, 30 per class (files are sorted by class, 1,000 each)
    idx = [c * 1000 + k * 33 for c in range(10) for k in range(30)]
    x = torch.stack([ds[i][0] for i in idx])
    y = torch.tensor([ds[i][1] for i in idx])
    with torch.no_grad():
        acc = float((zm.model(x).argmax(1) == y).float().mean())
    # README: about 81–83% on the whole JPEG test set; 300 images have a ~2.2-point std error
    assert 0.75 <= acc <= 0.9, acc
