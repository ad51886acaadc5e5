"""``camlens explain --prompt``: one map per prompt on a CLIP-style model, equal to the API's, and
a typed error for a model that is not a dual encoder."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from camlens import GradCAM
from camlens.loading import load_image, load_model
from camlens.targets import TextPromptTarget

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def open_clip_file(tmp_path_factory):
    """A random-weight open_clip model with a ResNet image tower, saved whole (torch.save)."""
    pytest.importorskip("open_clip")
    from open_clip.model import CLIP, CLIPTextCfg, CLIPVisionCfg

    torch.manual_seed(0)
    model = CLIP(
        embed_dim=16,
        vision_cfg=CLIPVisionCfg(layers=(1, 1, 1, 1), width=16, head_width=16, image_size=64),
        text_cfg=CLIPTextCfg(context_length=16, width=32, heads=2, layers=1),
    ).eval()
    path = tmp_path_factory.mktemp("models") / "tiny-clip.pt"
    torch.save(model, path)
    return path


def test_prompt_writes_one_map_per_prompt(run_camlens, photos, open_clip_file, tmp_path):
    out = tmp_path / "out"
    result = run_camlens(
        "explain", photos["chelsea"], "--model", open_clip_file, "--size", "64",
        "--prompt", "a cat", "--prompt", "a dog", "--prompt", "a cat", "--out", out, "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert [m["prompt"] for m in record["maps"]] == ["a cat", "a dog"]  # duplicates dropped
    assert record["layers"] == ["layer4"]
    assert record["best_prompt"] in ("a cat", "a dog")

    with pytest.warns(UserWarning, match="pickled model"):
        loaded = load_model(str(open_clip_file), input_size=64)
    target = TextPromptTarget(loaded.model, ["a cat", "a dog"])
    x = loaded.preprocess(load_image(photos["chelsea"]))[None]
    expected = GradCAM(target.image_model, "layer4").explain_targets(x, list(target))
    for entry, explanation in zip(record["maps"], expected, strict=True):
        saved = np.load(entry["npy"])
        assert saved.shape == (64, 64)
        np.testing.assert_allclose(saved, explanation.maps[0].numpy(), atol=1e-5)
        assert entry["cosine"] == pytest.approx(float(explanation.scores[0]), abs=1e-5)
        assert entry["png"].endswith(
            f"chelsea.gradcam.prompt-{entry['prompt'].replace(' ', '-')}.png"
        )
    assert record["maps"][0]["npy"] != record["maps"][1]["npy"]


def test_prompt_on_a_classifier_is_a_clear_error(run_camlens, photos, resnet18_file, tmp_path):
    result = run_camlens(
        "explain", photos["chelsea"], "--model", "resnet18", "--weights", resnet18_file,
        "--prompt", "a cat", "--out", tmp_path,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "not a CLIP-style dual encoder" in result.stderr
    assert "--target" in result.stderr or "ClassTarget" in result.stderr
    assert "Traceback" not in result.stderr


def test_prompt_and_target_together_is_a_usage_error(run_camlens, photos, open_clip_file):
    result = run_camlens(
        "explain", photos["chelsea"], "--model", open_clip_file,
        "--prompt", "a cat", "--target", "top2",
    )  # fmt: skip
    assert result.returncode == 2 and "--prompt" in result.stderr


def test_a_dual_encoder_without_prompt_asks_for_one(run_camlens, photos, open_clip_file):
    result = run_camlens("explain", photos["chelsea"], "--model", open_clip_file)
    assert result.returncode == 2 and "--prompt" in result.stderr, result.stderr
