"""Batched loading: masks follow the model's resize and crop, bad images become error entries."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from camlens.audit.loader import AuditDataset, References, collate, make_loader
from camlens.audit.sources import Item, Source
from camlens.loading import _imagenet_preprocess
from camlens.zoo import Preprocess

torch.set_num_threads(1)


def test_references_invert_the_normalisation():
    pre = Preprocess(16, (0.4, 0.5, 0.6), (0.2, 0.25, 0.3))
    image = Image.fromarray(np.random.default_rng(0).integers(0, 256, (16, 16, 3), np.uint8))
    unit = References(pre).unit(pre(image), image.size)
    expected = torch.from_numpy(np.array(image)).permute(2, 0, 1).float() / 255
    assert torch.allclose(unit, expected, atol=1e-5)


def test_mask_follows_resize_and_centre_crop_without_crop_function():
    # ImageNet-style: resize the short side to 18 then centre-crop 16 (no `crop` given)
    preprocess, crop = _imagenet_preprocess(16)
    mask = np.zeros((40, 80), np.uint8)
    mask[:, 40:] = 255  # right half of a wide image
    pil = Image.fromarray(mask, "L")
    refs = References(preprocess)
    got = refs.mask(pil)
    expected = torch.from_numpy(np.asarray(crop(pil)) > 127).float()
    assert got.shape == (16, 16) and (got != expected).sum() <= 16  # one column of edge pixels
    assert got[:, :6].sum() == 0 and got[:, 10:].min() == 1


class _Broken(Source):
    def image(self, index, max_pixels=None):
        if index == 1:
            raise OSError("broken data stream")
        return Image.new("RGB", (8, 8), (index * 40, 0, 0))


def test_errors_are_kept_and_good_images_stacked():
    src = _Broken("test", "x", [Item(f"{i}.png", 0) for i in range(3)])
    ds = AuditDataset(src, [0, 1, 2], Preprocess(8, (0, 0, 0), (1, 1, 1)))
    batch = collate([ds[k] for k in range(3)])
    assert batch["index"] == [0, 2] and batch["errors"] == [(1, "broken data stream")]
    assert batch["x"].shape == (2, 3, 8, 8) and batch["masks"] is None
    loader = make_loader(ds, batch_size=2, workers=1)
    batches = list(loader)
    assert [b["index"] for b in batches] == [[0], [2]]
    assert batches[0]["errors"] == [(1, "broken data stream")]


def test_collate_pads_missing_masks():
    items = [
        {"index": 0, "x": torch.zeros(3, 4, 4), "mask": torch.ones(4, 4), "error": None},
        {"index": 1, "x": torch.zeros(3, 4, 4), "mask": None, "error": None},
    ]
    batch = collate(items)
    assert batch["has_mask"].tolist() == [True, False]
    assert batch["masks"][0].sum() == 16 and batch["masks"][1].sum() == 0
