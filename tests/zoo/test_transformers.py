"""The shipped benchmark transformers: the hybrid ViTs (clean and biased) and the tiny CLIP —
SHA-256 checked, small, and as good as their record says on fresh images."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

import camlens
from camlens import zoo
from camlens.datasets import BIASED_CLASS, make_benchmark
from camlens.datasets.scenes import make_scenes
from camlens.pretrained import WeightsChecksumError
from camlens.targets import TextPromptTarget
from camlens.zoo import registry

torch.set_num_threads(1)


def shipped(variant: str) -> bool:
    if not registry.TRANSFORMER_RECORD.is_file():
        return False
    entry = zoo.transformer_record()["models"].get(variant)
    return entry is not None and (registry.WEIGHTS_DIR / entry["file"]).is_file()


def needs(variant: str):
    return pytest.mark.skipif(
        not shipped(variant), reason=f"benchmark-{variant} is not built in zoo/weights"
    )


@needs("clip")
def test_clip_loads_checked_and_small():
    entry = zoo.load("benchmark-clip")
    assert entry.weights_path.stat().st_size < 1_000_000
    assert entry.weights_sha256 == zoo.transformer_record()["models"]["clip"]["sha256"]
    assert entry.categories == [] and entry.target_layer == "blocks.0.norm1"
    assert not entry.model.training


@needs("clip")
def test_clip_names_what_a_scene_holds():
    entry = zoo.load("benchmark-clip")
    scenes = make_scenes(60, seed=901, split="test", objects=(1,))
    prompts = [f"a {name}" for name in scenes.classes]
    target = TextPromptTarget(entry.model, prompts)
    with torch.no_grad():
        image = torch.nn.functional.normalize(entry.model(entry.preprocess(scenes.images)), dim=-1)
    best = (image @ target.text_embeddings.T).argmax(1)
    accuracy = float((best == scenes.labels[:, 0]).float().mean())
    recorded = zoo.transformer_record()["models"]["clip"]["figures"]["caption_accuracy_one_shape"]
    assert accuracy >= min(0.8, recorded - 0.1)


@needs("clip")
def test_clip_gradcam_favours_the_named_shape():
    entry = zoo.load("benchmark-clip")
    scenes = make_scenes(20, seed=902, split="test", objects=(2,))
    target = TextPromptTarget(entry.model, [f"a {name}" for name in scenes.classes])
    cam = camlens.GradCAM(target.image_model, entry.target_layer)
    x = entry.preprocess(scenes.images)
    wins = []
    for k in range(2):
        maps = cam(x, [target[int(c)] for c in scenes.labels[:, k]])
        mine = (maps * scenes.masks[:, k]).flatten(1).sum(1)
        other = (maps * scenes.masks[:, 1 - k]).flatten(1).sum(1)
        wins.append((mine > other).float())
    # recorded on 200 maps (docs/benchmark.md): 0.995
    assert float(torch.cat(wins).mean()) >= 0.9


@needs("vit-clean")
@needs("vit-biased")
def test_vits_reach_their_floors():
    fresh = make_benchmark(100, seed=903, split="test")
    for variant in ("clean", "biased"):
        entry = zoo.load(f"benchmark-vit-{variant}")
        assert entry.weights_path.stat().st_size < 1_000_000
        assert entry.target_layer == "blocks.1.norm1"
        with torch.no_grad():
            accuracy = entry.model(entry.preprocess(fresh.images)).argmax(1) == fresh.labels
        assert float(accuracy.float().mean()) >= entry.info["floors"]["accuracy_clean_test"]


@needs("vit-clean")
@needs("vit-biased")
def test_the_biased_vits_shortcut_is_real():
    # recorded on 300 images (benchmark-vit.json): 74.6 % of the other classes' images flip to
    # "triangle" with the watermark for the biased ViT, 0.0 % for the clean one
    every = make_benchmark(60, seed=904, split="test", cue="all")
    others = every.labels != BIASED_CLASS
    flips = {}
    for variant in ("clean", "biased"):
        entry = zoo.load(f"benchmark-vit-{variant}")
        with torch.no_grad():
            pred = entry.model(entry.preprocess(every.images[others])).argmax(1)
        flips[variant] = float((pred == BIASED_CLASS).float().mean())
    assert flips["biased"] > flips["clean"] + 0.4


@needs("clip")
def test_tampered_transformer_checkpoint_is_refused(tmp_path, monkeypatch):
    record = json.loads(registry.TRANSFORMER_RECORD.read_text())
    path = tmp_path / record["models"]["clip"]["file"]
    shutil.copy(registry.WEIGHTS_DIR / path.name, path)
    shutil.copy(registry.TRANSFORMER_RECORD, tmp_path / registry.TRANSFORMER_RECORD.name)
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    path.write_bytes(bytes(data))
    monkeypatch.setattr(registry, "WEIGHTS_DIR", tmp_path)
    monkeypatch.setattr(registry, "TRANSFORMER_RECORD", tmp_path / "benchmark-vit.json")
    with pytest.raises(WeightsChecksumError, match="SHA-256"):
        zoo.load("benchmark-clip")
