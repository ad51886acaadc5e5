"""Preprocessing: hand-computed on tiny images, and bounded before any resize."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from camlens.errors import ImageTooLargeError
from camlens.models import transforms as t


def test_image_preprocess_normalises_by_hand():
    pixels = np.array([[[0, 128, 255], [255, 255, 255]]], dtype=np.uint8)  # 1x2 RGB
    out = t.ImagePreprocess(None, (0.5, 0.5, 0.5), (0.25, 0.5, 1.0))(Image.fromarray(pixels))
    assert out.shape == (3, 1, 2) and out.dtype == torch.float32
    # (x / 255 - mean) / std at the first pixel, channel by channel
    expected = torch.tensor([(0 - 0.5) / 0.25, (128 / 255 - 0.5) / 0.5, (1 - 0.5) / 1.0])
    torch.testing.assert_close(out[:, 0, 0], expected)


def test_imagenet_transforms_resize_to_256_of_224_and_crop():
    pytest.importorskip("torchvision")
    preprocess, crop = t.imagenet_transforms(224)
    assert (crop.size, crop.resize) == (224, 256) and t.imagenet_crop(112).resize == 128
    image = Image.new("RGB", (400, 300), (255, 0, 0))
    assert crop(image).size == (224, 224)
    out = preprocess(image)
    expected = (1.0 - t.IMAGENET_MEAN[0]) / t.IMAGENET_STD[0]
    assert out.shape == (3, 224, 224) and torch.allclose(out[0], torch.tensor(expected))


def test_a_thin_strip_is_refused_before_it_is_resized():
    preprocess, _ = t.imagenet_transforms(224)
    with pytest.raises(ImageTooLargeError, match="aspect ratio"):
        preprocess(Image.new("RGB", (1, 1000)))


def test_from_torchvision_transforms_reads_the_enum_recipe():
    recipe = SimpleNamespace(
        crop_size=[160], resize_size=[176], interpolation=None, mean=(0.0,) * 3, std=(1.0,) * 3
    )
    preprocess, crop, size = t.from_torchvision_transforms(recipe)
    assert size == 160 and (crop.size, crop.resize) == (160, 176) and preprocess.crop is crop


def test_zoo_preprocess_takes_arrays_and_tensors():
    pre = t.Preprocess(4, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
    array = np.full((4, 4, 3), 255, dtype=np.uint8)
    assert torch.allclose(pre(array), torch.ones(3, 4, 4))  # (1 - 0.5) / 0.5
    assert pre(torch.zeros(2, 3, 8, 8)).shape == (2, 3, 4, 4)


def test_imagenet_preprocess_and_the_old_names_are_one_mechanism():
    import camlens.loading
    import camlens.pretrained
    from camlens import zoo

    assert camlens.pretrained.imagenet_preprocess is t.imagenet_preprocess
    assert zoo.Preprocess is t.Preprocess
    assert camlens.loading._Preprocess is t.ImagePreprocess
    assert camlens.loading._imagenet_preprocess is t.imagenet_transforms
    tensor, crop = t.imagenet_preprocess(np.zeros((300, 400, 3), dtype=np.uint8))
    assert tensor.shape == (1, 3, 224, 224) and crop.shape == (224, 224, 3)
