"""camlens.datasets.image_folder: the PNG tree, its manifest and masks round-trip."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch
from PIL import Image

from camlens.datasets import MANIFEST_COLUMNS, make_benchmark, write_image_folder

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    ds = make_benchmark(12, seed=9, split="test", cue="biased_class")
    root = tmp_path_factory.mktemp("bench")
    manifest = write_image_folder(ds, root)
    return ds, root, manifest


def test_manifest_rows_point_at_the_images_masks_and_boxes(written):
    ds, root, manifest = written
    assert manifest == root / "manifest.csv"
    with manifest.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0].keys()) == MANIFEST_COLUMNS
    assert len(rows) == len(ds)
    for i, row in enumerate(rows):
        label = int(row["label"])
        assert label == int(ds.labels[i]) and row["class"] == ds.classes[label]
        assert row["path"].startswith(f"{ds.classes[label]}/")
        image = np.asarray(Image.open(root / row["path"]))
        expected = ds.images[i].permute(1, 2, 0).numpy() * 255
        assert image.shape == (64, 64, 3) and np.abs(image - expected).max() <= 0.5 + 1e-3
        mask = np.asarray(Image.open(root / row["mask_path"])) > 127
        np.testing.assert_array_equal(mask, ds.masks[i].numpy())
        box = [float(row[k]) for k in ("x0", "y0", "x1", "y1")]
        assert box == ds.boxes[i].tolist()
        if bool(ds.has_cue[i]):
            cue = np.asarray(Image.open(root / row["cue_mask_path"])) > 127
            np.testing.assert_array_equal(cue, ds.cue_masks[i].numpy())
        else:
            assert row["cue_mask_path"] == ""


def test_class_subfolders_follow_torchvision_image_folder_rules(written):
    folder = pytest.importorskip("torchvision.datasets.folder")
    ds, root, _ = written
    # masks/ and cue_masks/ sit beside the class folders: take the classes from ds (or manifest)
    class_to_idx = {name: k for k, name in enumerate(ds.classes)}
    samples = folder.make_dataset(str(root), class_to_idx, extensions=folder.IMG_EXTENSIONS)
    assert sorted(label for _, label in samples) == sorted(ds.labels.tolist())
