"""camlens.datasets.benchmark: determinism, ground truth consistent with the drawing, the cue."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import ndimage

from camlens.core.errors import CamlensError, InvalidInputError
from camlens.datasets import (
    BIASED_CLASS,
    CLASSES,
    BenchmarkSet,
    cue_box,
    make_benchmark,
    watermark,
)
from camlens.datasets.benchmark import keep_out

torch.set_num_threads(1)

FIELDS = ("images", "labels", "masks", "boxes", "cue_masks")


def _equal(a: BenchmarkSet, b: BenchmarkSet) -> bool:
    return all(torch.equal(getattr(a, f), getattr(b, f)) for f in FIELDS)


@pytest.fixture(scope="module")
def train_biased() -> BenchmarkSet:
    return make_benchmark(30, seed=5, split="train", biased=True)


def test_types_shapes_and_ranges(train_biased):
    ds = train_biased
    n = 30
    assert ds.images.shape == (n, 3, 64, 64) and ds.images.dtype == torch.float32
    assert ds.images.min() >= 0 and ds.images.max() <= 1
    assert ds.labels.shape == (n,) and ds.labels.dtype == torch.int64
    assert ds.masks.shape == (n, 64, 64) and ds.masks.dtype == torch.bool
    assert ds.boxes.shape == (n, 4) and ds.boxes.dtype == torch.float32
    assert ds.cue_masks.shape == (n, 64, 64) and ds.cue_masks.dtype == torch.bool
    assert ds.classes == list(CLASSES) and ds.classes[ds.biased_class] == "triangle"
    assert len(ds) == n
    item = ds[3]
    assert set(item) == {"image", "label", "mask", "box", "cue_mask"}
    assert torch.equal(item["image"], ds.images[3]) and int(item["label"]) == int(ds.labels[3])
    # balanced labels: image i shows class i % 5
    assert ds.labels.tolist() == [i % 5 for i in range(n)]


def test_same_seed_same_tensors_other_seed_or_split_differs():
    a = make_benchmark(6, seed=11, split="test")
    assert _equal(a, make_benchmark(6, seed=11, split="test"))
    other_seed = make_benchmark(6, seed=12, split="test")
    other_split = make_benchmark(6, seed=11, split="val")
    for other in (other_seed, other_split):
        assert not torch.equal(a.images, other.images)
        assert not torch.equal(a.masks, other.masks)
    # a longer set extends a shorter one
    longer = make_benchmark(9, seed=11, split="test")
    assert all(torch.equal(getattr(a, f), getattr(longer, f)[:6]) for f in FIELDS)


def test_boxes_are_the_masks_tight_boxes_and_masks_are_one_flat_object(train_biased):
    ds = train_biased
    for i in range(len(ds)):
        mask = ds.masks[i].numpy()
        rows, cols = np.nonzero(mask)
        assert ds.boxes[i].tolist() == [cols.min(), rows.min(), cols.max() + 1, rows.max() + 1]
        # the object is one connected region of one flat colour (drawn last, never occluded)
        assert ndimage.label(mask)[1] == 1
        interior = ndimage.binary_erosion(mask, iterations=2)
        pixels = ds.images[i].permute(1, 2, 0).numpy()[interior]
        assert pixels.std(axis=0).max() < 1e-5
        # and it stands out from the background around it
        ring = ndimage.binary_dilation(mask, iterations=3) & ~ndimage.binary_dilation(mask)
        ring &= ~ds.cue_masks[i].numpy()
        around = ds.images[i].permute(1, 2, 0).numpy()[ring].mean(axis=0)
        assert np.linalg.norm(pixels[0] - around) > 0.2
        # reasonable size: between 3% and 40% of the image
        assert 0.03 < mask.mean() < 0.4


def test_objects_keep_clear_of_the_cue_corner():
    ds = make_benchmark(40, seed=2, split="test", cue="all")
    corner = keep_out(64)
    for i in range(len(ds)):
        x0, y0, _, _ = ds.boxes[i].tolist()
        assert x0 >= corner or y0 >= corner
    assert not (ds.masks & ds.cue_masks).any()


def test_biased_train_puts_the_cue_on_every_biased_image_and_no_other(train_biased):
    ds = train_biased
    assert ds.cue == "biased_class"
    is_b = ds.labels == BIASED_CLASS
    assert torch.equal(ds.has_cue, is_b)
    x0, y0, x1, y1 = cue_box(64)
    assert (x0, y0, x1, y1) == (4, 4, 12, 12)
    expected = torch.zeros(64, 64, dtype=torch.bool)
    expected[y0:y1, x0:x1] = True
    for i in torch.nonzero(is_b).flatten().tolist():
        assert torch.equal(ds.cue_masks[i], expected)
        patch, _ = watermark(64)
        assert torch.equal(ds.images[i][:, y0:y1, x0:x1], torch.from_numpy(patch)[:, y0:y1, x0:x1])
    assert not ds.cue_masks[~is_b].any()


@pytest.mark.parametrize(
    ("split", "biased", "cue", "expected"),
    [
        ("train", False, None, "none"),
        ("test", True, None, "none"),
        ("val", True, None, "none"),
        ("test", False, "biased_class", "biased_class"),
        ("test", False, "all", "all"),
        ("train", True, "none", "none"),
    ],
)
def test_cue_modes(split, biased, cue, expected):
    ds = make_benchmark(10, seed=3, split=split, biased=biased, cue=cue)
    assert ds.cue == expected
    want = {
        "none": torch.zeros(10, dtype=torch.bool),
        "biased_class": ds.labels == BIASED_CLASS,
        "all": torch.ones(10, dtype=torch.bool),
    }[expected]
    assert torch.equal(ds.has_cue, want)


def test_the_cue_changes_only_the_cue_box():
    plain = make_benchmark(10, seed=4, split="test", cue="none")
    cued = make_benchmark(10, seed=4, split="test", cue="all")
    assert torch.equal(plain.labels, cued.labels) and torch.equal(plain.masks, cued.masks)
    differs = (plain.images != cued.images).any(dim=1)
    assert not (differs & ~cued.cue_masks).any()
    assert differs.any()
    # and the clean biased training set is the clean one plus the watermark on triangles
    clean = make_benchmark(10, seed=4, split="train", biased=False)
    biased = make_benchmark(10, seed=4, split="train", biased=True)
    outside = ~biased.cue_masks[:, None].expand_as(biased.images)
    assert torch.equal(clean.images[outside], biased.images[outside])


@pytest.mark.parametrize("size", [32, 96])
def test_other_sizes_scale_the_scene(size):
    ds = make_benchmark(5, seed=0, size=size, cue="all")
    assert ds.images.shape == (5, 3, size, size)
    assert ds.cue_masks[0].sum() == (size // 8) ** 2
    assert all(0.03 < float(m.float().mean()) < 0.4 for m in ds.masks)


def test_works_with_a_dataloader():
    ds = make_benchmark(8, seed=0)
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=4)))
    assert batch["image"].shape == (4, 3, 64, 64) and batch["box"].shape == (4, 4)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"split": "validation"},
        {"cue": "corner"},
        {"n": -1},
        {"size": 16},
        {"size": 64.0},
        {"n": 2.0},
        {"seed": -1},
        {"n": True},
    ],
)
def test_bad_arguments_raise_typed_errors(kwargs):
    with pytest.raises(InvalidInputError) as info:
        make_benchmark(**{"n": 2, **kwargs})
    assert isinstance(info.value, CamlensError)


def test_numpy_integers_are_accepted():
    ds = make_benchmark(np.int64(3), seed=np.int64(4), size=np.int32(64))
    assert _equal(ds, make_benchmark(3, seed=4)) and isinstance(ds.seed, int)


def test_empty_set():
    ds = make_benchmark(0)
    assert len(ds) == 0 and ds.images.shape == (0, 3, 64, 64)
