"""``camlens layers`` through the installed script."""

from __future__ import annotations

import json

import pytest
import torch

from camlens.pretrained import packaged_checkpoint

torch.set_num_threads(1)
pytest.importorskip("torchvision")


@pytest.mark.skipif(packaged_checkpoint() is None, reason="the demo weights are not installed")
def test_demo_layers_as_json(run_camlens):
    result = run_camlens("layers", "demo", "--json")
    assert result.returncode == 0, result.stderr
    listing = json.loads(result.stdout)
    assert listing["model"] == "mobilenet_v2" and listing["auto"] == "features.18"
    assert listing["input"] == [1, 3, 224, 224]
    rows = {row["name"]: row for row in listing["layers"]}
    assert rows["features.18"]["shape"] == [1, 1280, 7, 7] and rows["features.18"]["auto"]
    assert rows["features.7"]["grid"] == [14, 14]
    assert all(row["candidate"] for row in rows.values())
    assert all(name.count(".") < 2 for name in rows)  # --depth 2 by default
    assert "classifier.1" not in rows  # the head is no candidate


def test_uncached_weights_fall_back_to_random_for_shapes(run_camlens):
    result = run_camlens("layers", "resnet18")
    assert result.returncode == 0, result.stderr
    assert "listing layers with random weights" in result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "resnet18: input (1, 3, 224, 224); --layer auto = layer4"
    layer4 = next(line for line in lines if line.split()[1:2] == ["layer4"])
    assert "(1, 512, 7, 7)" in layer4 and layer4.startswith("*")
    assert "fc" not in {line.split()[0] for line in lines[1:] if line.strip()}
