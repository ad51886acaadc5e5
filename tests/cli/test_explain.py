"""``camlens explain`` through the installed script: outputs, their numbers, and its failures."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from camlens import ClassTarget, GradCAM, GradCAMPlusPlus
from camlens.loading import load_image, load_model
from camlens.pretrained import INSTALL_COMMAND, packaged_checkpoint
from camlens.targets import RankTarget

torch.set_num_threads(1)
pytest.importorskip("torchvision")

CATS = ("tabby", "tiger cat", "Egyptian cat", "Persian cat", "Siamese cat", "lynx")


@pytest.mark.skipif(
    packaged_checkpoint() is None, reason=f"the demo weights are not installed ({INSTALL_COMMAND})"
)
def test_demo_model_top2_and_a_class_name(run_camlens, photos, tmp_path):
    out = tmp_path / "out"
    result = run_camlens(
        "explain", photos["chelsea"], photos["coffee"], "--model", "demo",
        "--target", "top2", "--target", "tabby", "--out", out,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2, result.stdout
    assert lines[0].startswith(str(photos["chelsea"])) and "(+2 more)" in lines[0]
    assert any(f"  {cat} (" in lines[0] for cat in CATS), lines[0]
    assert lines[1].startswith(str(photos["coffee"])) and "espresso" in lines[1]
    assert "gradcam on mobilenet_v2 at layer features.18" in result.stderr

    loaded = load_model("demo")
    for stem in ("chelsea", "coffee"):
        x = loaded.preprocess(load_image(photos[stem]))[None]
        with GradCAM(loaded.model, "features.18") as cam:
            expected = cam.explain_targets(x, [RankTarget(0), RankTarget(1), ClassTarget(281)])
        for tag, explanation in zip(("top1", "top2", "class-281"), expected, strict=True):
            saved = np.load(out / f"{stem}.gradcam.{tag}.npy")
            assert saved.shape == (224, 224) and saved.dtype == np.float32
            np.testing.assert_allclose(saved, explanation.maps[0].numpy(), atol=1e-5)
            with Image.open(out / f"{stem}.gradcam.{tag}.png") as png:
                assert png.size == (224, 224) and png.mode == "RGB"
    if "(281)" not in lines[0]:  # another class than tabby on top: its map is its own
        top1 = np.load(out / "chelsea.gradcam.top1.npy")
        assert not np.allclose(top1, np.load(out / "chelsea.gradcam.class-281.npy"), atol=1e-3)


def test_state_dict_json_raw_gradcampp(run_camlens, photos, resnet18_file, tmp_path):
    out = tmp_path / "maps"
    result = run_camlens(
        "explain", photos["chelsea"], photos["coffee"], "--model", "resnet18",
        "--weights", resnet18_file, "--method", "gradcam++", "--layer", "layer3",
        "--target", "3", "--target", "top1", "--raw", "--json", "--batch-size", "1",
        "--out", out,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.strip().splitlines()]
    assert [r["image"] for r in records] == [str(photos["chelsea"]), str(photos["coffee"])]
    loaded = load_model("resnet18", str(resnet18_file))
    for record, stem in zip(records, ("chelsea", "coffee"), strict=True):
        assert record["method"] == "gradcam++" and record["layers"] == ["layer3"]
        assert [m["target"] for m in record["maps"]] == ["class-3", "top1"]
        assert record["maps"][0]["index"] == 3
        assert record["maps"][0]["name"] == "tiger shark"
        assert record["maps"][1]["index"] == record["predicted"]["index"]
        x = loaded.preprocess(load_image(photos[stem]))[None]
        with GradCAMPlusPlus(loaded.model, "layer3") as cam:
            expected = cam.explain(x, ClassTarget(3))
        logits = expected.outputs[0]
        assert record["predicted"]["index"] == int(logits.argmax())
        assert record["maps"][0]["score"] == pytest.approx(float(logits[3]), abs=1e-4)
        probability = float(torch.softmax(logits, 0)[3])
        assert record["maps"][0]["probability"] == pytest.approx(probability, abs=1e-6)
        saved = np.load(record["maps"][0]["npy"])
        np.testing.assert_allclose(saved, expected.maps[0].numpy(), atol=1e-5)
        raw = np.load(out / f"{stem}.gradcam++.class-3.raw.npy")
        assert raw.shape == (14, 14)
        np.testing.assert_allclose(raw, expected.raw["layer3"][0].numpy(), rtol=1e-4, atol=1e-6)


def test_pickled_module_warns_in_one_line(run_camlens, photos, tmp_path):
    torchvision = pytest.importorskip("torchvision")
    path = tmp_path / "whole.pt"
    torch.save(torchvision.models.resnet18(num_classes=4), path)
    result = run_camlens(
        "explain", photos["coffee"], "--model", path, "--out", tmp_path / "o", "--size", "64"
    )
    assert result.returncode == 0, result.stderr
    warning = [line for line in result.stderr.splitlines() if "UntrustedFileWarning" in line]
    assert len(warning) == 1 and "Load only files you trust" in warning[0]
    assert "layer4" in result.stderr  # the automatic layer choice found resnet's last block
    assert "  class " in result.stdout  # no class names: "class N"
    assert np.load(tmp_path / "o" / "coffee.gradcam.top1.npy").shape == (64, 64)


def test_torchscript_model_is_refused_in_one_line(run_camlens, photos, tmp_path, error_line):
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 2, 3), torch.nn.AdaptiveAvgPool2d(1))
    path = tmp_path / "scripted.pt"
    with pytest.warns(FutureWarning):
        torch.jit.save(torch.jit.trace(model.eval(), torch.randn(1, 3, 8, 8)), path)
    result = run_camlens("explain", photos["coffee"], "--model", path)
    assert result.returncode == 4
    line = error_line(result)
    assert "TorchScript" in line and "torch.save(model, FILE)" in line


@pytest.mark.parametrize(
    ("case", "extra", "code", "fragments"),
    [
        ("huge", [], 3, ["huge.png", "400,000,000 pixels"]),
        ("method", ["--method", "gradcamm"], 2, ["unknown method 'gradcamm'", "gradcam"]),
        ("layer", ["--layer", "layer9"], 2, ["no layer named 'layer9'", "camlens layers"]),
        ("class", ["--target", "5000"], 2, ["class index 5000 is out of range", "0..999"]),
    ],
)
def test_bad_inputs_exit_with_one_line(
    run_camlens, photos, bad_images, resnet18_file, tmp_path, error_line,
    case, extra, code, fragments,
):  # fmt: skip
    image = bad_images.get(case, photos["coffee"])
    result = run_camlens(
        "explain", image, "--model", "resnet18", "--weights", resnet18_file,
        "--out", tmp_path, *extra,
    )  # fmt: skip
    assert result.returncode == code, result.stderr
    line = error_line(result)
    for fragment in fragments:
        assert fragment in line, line


def test_skip_bad_explains_the_rest_and_exits_3(
    run_camlens, photos, bad_images, resnet18_file, tmp_path
):
    images = [bad_images["truncated"], photos["coffee"], bad_images["text"], bad_images["huge"]]
    result = run_camlens(
        "explain", *images, "--model", "resnet18", "--weights", resnet18_file,
        "--skip-bad", "--out", tmp_path, "--batch-size", "2",
    )  # fmt: skip
    assert result.returncode == 3
    assert "Traceback" not in result.stderr
    skipped = [line for line in result.stderr.splitlines() if line.startswith("camlens: skipped")]
    assert len(skipped) == 3, result.stderr
    assert "truncated.png" in skipped[0] and "truncated or corrupt" in skipped[0]
    assert "text.jpg" in skipped[1] and "not an image file" in skipped[1]
    assert "huge.png" in skipped[2] and "400,000,000 pixels" in skipped[2]
    last = result.stderr.strip().splitlines()[-1]
    assert last == "Error: 3 of 4 images could not be read (see above); the other 1 were explained."
    assert result.stdout.startswith(str(photos["coffee"]))
    assert (tmp_path / "coffee.gradcam.top1.npy").is_file()


def test_unknown_model_and_uncached_weights(run_camlens, photos, error_line):
    result = run_camlens("explain", photos["coffee"], "--model", "resnet5")
    assert result.returncode == 2
    assert "Close matches: resnet50" in error_line(result)
    result = run_camlens("explain", photos["coffee"], "--model", "resnet18")
    assert result.returncode == 4
    line = error_line(result)
    assert "resnet18-f37072fd.pth" in line and "does not download" in line


def test_debug_shows_the_traceback(run_camlens, bad_images, resnet18_file):
    result = run_camlens(
        "explain", bad_images["truncated"], "--model", "resnet18", "--weights", resnet18_file,
        "--debug",
    )  # fmt: skip
    assert result.returncode == 3
    assert "Traceback (most recent call last)" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("Error: ")
