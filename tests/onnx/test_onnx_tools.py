"""ONNX models in the tools: ``camlens explain model.onnx --methods rise,scorecam --layer T``,
``camlens layers model.onnx``, ``camlens evaluate`` and ``camlens serve`` with an ONNX model."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

import camlens
from camlens.cli import main
from camlens.loading import load_model
from camlens.onnx import OnnxModel

RELU2 = "/relu2/Relu_output_0"


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    path = tmp_path_factory.mktemp("photos") / "photo.png"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)).save(path)
    return path


def run(*args: object):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_an_onnx_file_loads_as_an_onnx_model_with_its_input_size(onnx_file, photo):
    loaded = load_model(str(onnx_file))
    assert isinstance(loaded.model, OnnxModel) and loaded.input_size == 16
    x = loaded.preprocess(Image.open(photo))[None]
    assert x.shape == (1, 3, 16, 16)
    session_logits = loaded.model.adapter.predict(x)
    torch.testing.assert_close(loaded.model(x), session_logits)
    assert "ImageNet mean/std" in " ".join(loaded.notes)


def test_mean_and_std_come_from_the_model_metadata(onnx_file, photo, tmp_path):
    from camlens.loading import IMAGENET_MEAN, IMAGENET_STD

    proto = onnx.load(str(onnx_file))
    onnx.helper.set_model_props(proto, {"mean": "0.5,0.5,0.5", "std": "0.25,0.25,0.25"})
    path = tmp_path / "meta.onnx"
    onnx.save(proto, str(path))
    meta = load_model(str(path))
    x = meta.preprocess(Image.open(photo))
    imagenet = load_model(str(onnx_file)).preprocess(Image.open(photo))
    pixels = imagenet * torch.tensor(IMAGENET_STD)[:, None, None]
    pixels += torch.tensor(IMAGENET_MEAN)[:, None, None]
    torch.testing.assert_close(x, (pixels - 0.5) / 0.25, atol=1e-5, rtol=0)
    assert "from the model's metadata" in " ".join(meta.notes)


def test_explain_writes_one_map_per_method_equal_to_the_api(onnx_file, photo, tmp_path):
    out = tmp_path / "out"
    result = run(
        "explain", photo, "--model", onnx_file, "--methods", "rise,scorecam",
        "--layer", RELU2, "--out", out, "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [r["method"] for r in lines] == ["rise", "scorecam"]
    loaded = load_model(str(onnx_file))
    x = loaded.preprocess(Image.open(photo))[None]
    expected = camlens.ScoreCAM(onnx_file, RELU2)(x)[0].numpy()
    np.testing.assert_allclose(np.load(out / "photo.scorecam.top1.npy"), expected, atol=1e-6)
    assert np.load(out / "photo.rise.top1.npy").shape == (16, 16)


def test_explain_refuses_a_gradient_method_and_a_wrong_tensor_in_one_line(onnx_file, photo):
    bad = run("explain", photo, "--model", onnx_file, "--method", "gradcam", "--layer", RELU2)
    assert bad.exit_code == 2
    assert "GradCAM needs gradients" in bad.output and "scorecam" in bad.output
    wrong = run("explain", photo, "--model", onnx_file, "--method", "eigencam", "--layer", "relu2")
    assert wrong.exit_code == 2 and RELU2 in wrong.output and "camlens layers" in wrong.output
    assert len(wrong.output.strip().splitlines()) == 1


def test_layers_lists_the_tensors_and_the_auto_choice(onnx_file):
    result = run("layers", onnx_file, "--json")
    assert result.exit_code == 0, result.output
    listing = json.loads(result.stdout)
    assert listing["auto"] == "/Add_output_0"
    rows = {r["name"]: r for r in listing["layers"]}
    assert rows[RELU2]["shape"] == [1, 8, 8, 8] and rows[RELU2]["type"] == "Relu"


def test_a_corrupt_file_is_one_line_with_exit_code_4(tmp_path, photo):
    path = tmp_path / "broken.onnx"
    path.write_bytes(b"this is not a graph")
    result = run("explain", photo, "--model", path, "--method", "eigencam")
    assert result.exit_code == 4 and "not an ONNX model" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_evaluate_scores_the_onnx_model(onnx_file, tmp_path):
    data = tmp_path / "data"
    for k, name in enumerate(["a", "b"]):
        (data / name).mkdir(parents=True)
        rng = np.random.default_rng(k)
        pixels = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(data / name / "1.png")
    result = run(
        "evaluate", "--model", onnx_file, "--data", data, "--methods", "eigencam,rise",
        "--layer", RELU2, "--metrics", "deletion,insertion", "--method-option",
        "rise.n_masks=20", "--no-progress",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "| eigencam |" in result.stdout and "| rise |" in result.stdout


def test_serve_explains_with_the_onnx_model(onnx_file):
    pytest.importorskip("fastapi")
    pytest.importorskip("httpx")
    import io

    from fastapi.testclient import TestClient

    from camlens.serve.app import create_app

    loaded = load_model(str(onnx_file))
    client = TestClient(create_app(loaded))
    buffer = io.BytesIO()
    Image.fromarray(np.full((20, 20, 3), 90, dtype=np.uint8)).save(buffer, "PNG")
    options = json.dumps({"method": "scorecam", "layer": RELU2})
    answer = client.post(
        "/v1/explain",
        files={"image": ("p.png", buffer.getvalue(), "image/png")},
        data={"options": options},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["layer"] == RELU2
    refused = client.post(
        "/v1/explain",
        files={"image": ("p.png", buffer.getvalue(), "image/png")},
        data={"options": json.dumps({"method": "gradcam", "layer": RELU2})},
    )
    assert refused.status_code == 422 and "scorecam" in refused.text


def test_a_graph_of_signals_is_one_line_in_the_cli_not_a_made_up_input(tmp_path, photo, to_onnx):
    # before: `camlens layers` showed an input (1, 3, 224, 224) and "no candidate layers", and
    # `explain` said no tensor had a spatial output, for a graph of (batch, 2, 32) signals
    signal = torch.nn.Sequential(torch.nn.Conv1d(2, 4, 3), torch.nn.ReLU(), torch.nn.Flatten())
    path = tmp_path / "signal.onnx"
    path.write_bytes(to_onnx(signal.eval(), torch.zeros(1, 2, 32)))
    for args in (("layers", path), ("explain", photo, "--model", path, "--out", tmp_path)):
        result = run(*args)
        assert result.exit_code == 4
        assert "takes (batch, 2, 32). Explain it from Python" in result.output
        assert result.output.count("\n") == 1
