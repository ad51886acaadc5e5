"""Data sources: ImageFolder trees, CSV/Parquet manifests, the benchmark spec, bad DATA."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from camlens.audit.errors import DataSourceError
from camlens.audit.sources import box_mask, open_source, parse_benchmark_spec

torch.set_num_threads(1)


def test_folder_follows_imagefolder_and_finds_masks(folder, tmp_path):
    masks = tmp_path / "masks" / "bean"
    masks.mkdir(parents=True)
    Image.fromarray(np.full((32, 32), 255, np.uint8)).save(masks / "003.png")
    src = open_source(folder, masks=tmp_path / "masks")
    from torchvision.datasets import ImageFolder

    reference = ImageFolder(str(folder))
    assert src.kind == "folder" and src.classes == reference.classes
    assert [(str(folder / i.path), i.label) for i in src.items] == reference.samples
    assert [i.path for i in src.items if i.mask] == ["bean/003.png"]
    assert src.image(0).size == (32, 32) and src.has_objects
    assert np.asarray(src.mask(11, (32, 32))).min() == 255
    assert src.mask(0, (32, 32)) is None


def test_csv_manifest_with_names_boxes_and_relative_paths(folder, tmp_path):
    table = pd.DataFrame(
        {
            "path": ["apple/000.png", "corn/001.png", str(folder / "bean" / "002.png")],
            "label": ["apple", "corn", "bean"],
            "x0": [0, 4, np.nan],
            "y0": [0, 4, np.nan],
            "x1": [16, 8, np.nan],
            "y1": [8, 8, np.nan],
        }
    )
    path = folder / "list.csv"
    table.to_csv(path, index=False)
    src = open_source(path)
    assert src.kind == "manifest" and src.classes == ["apple", "bean", "corn"]
    assert [i.label for i in src.items] == [0, 2, 1]
    assert src.items[0].box == (0.0, 0.0, 16.0, 8.0) and src.items[2].box is None
    assert src.image(0).size == (32, 32) and src.image(2).size == (32, 32)  # absolute path
    mask = np.asarray(src.mask(1, (32, 32))) > 0
    assert mask.sum() == 16 and mask[4:8, 4:8].all()


def test_parquet_manifest_with_int_labels_and_class_column(folder, tmp_path):
    table = pd.DataFrame(
        {"path": ["corn/000.png", "apple/000.png"], "label": [1, 0], "class": ["corn", "apple"]}
    )
    table.to_parquet(tmp_path / "m.parquet")
    (tmp_path / "corn").symlink_to(folder / "corn")
    (tmp_path / "apple").symlink_to(folder / "apple")
    src = open_source(tmp_path / "m.parquet")
    assert src.classes == ["apple", "corn"] and [i.label for i in src.items] == [1, 0]


def test_folder_with_manifest_reads_the_benchmark_tree(tmp_path):
    from camlens.datasets import make_benchmark, write_image_folder

    ds = make_benchmark(n=10, seed=1, size=32)
    write_image_folder(ds, tmp_path / "bench")
    src = open_source(tmp_path / "bench")
    assert src.kind == "manifest" and src.classes == list(ds.classes)
    assert [i.label for i in src.items] == ds.labels.tolist()
    mask = np.asarray(src.mask(3, (32, 32))) > 0
    assert (mask == ds.masks[3].numpy()).all()


def test_benchmark_in_memory_matches_the_written_pngs(tmp_path):
    from camlens.datasets import make_benchmark, write_image_folder

    src = open_source("benchmark:n=6,seed=2,size=32,cue=biased_class")
    ds = make_benchmark(n=6, seed=2, size=32, cue="biased_class")
    write_image_folder(ds, tmp_path / "b")
    on_disk = open_source(tmp_path / "b")
    for i in range(6):
        assert np.array_equal(np.asarray(src.image(i)), np.asarray(on_disk.image(i)))
    assert [i.label for i in src.items] == ds.labels.tolist() and src.has_objects


def test_benchmark_spec_parsing():
    assert parse_benchmark_spec("benchmark") == {}
    kw = parse_benchmark_spec("benchmark:n=5,seed=1,cue=all,biased=1")
    assert kw == {"n": 5, "seed": 1, "cue": "all", "biased": 1}
    with pytest.raises(DataSourceError, match="keys"):
        parse_benchmark_spec("benchmark:count=5")


def test_bad_data_arguments(tmp_path):
    with pytest.raises(DataSourceError, match="no such folder"):
        open_source(tmp_path / "missing")
    (tmp_path / "empty" / "cls").mkdir(parents=True)
    with pytest.raises(DataSourceError, match="no images"):
        open_source(tmp_path / "empty")
    pd.DataFrame({"file": ["x.png"]}).to_csv(tmp_path / "m.csv", index=False)
    with pytest.raises(DataSourceError, match="'path' column"):
        open_source(tmp_path / "m.csv")
    with pytest.raises(DataSourceError, match="own masks"):
        open_source("benchmark", masks=tmp_path)


def test_box_mask_uses_pixel_centres():
    m = np.asarray(box_mask((1.0, 2.0, 3.5, 4.0), (6, 5))) > 0
    assert m.shape == (5, 6) and m.sum() == 2 * 2  # columns 1, 2 (centre 3.5 is out), rows 2, 3
    assert m[2:4, 1:3].all()


def test_plain_benchmark_carries_the_watermark_on_the_biased_class():
    """`camlens audit benchmark --model benchmark-biased` must have a cue to find (issue #12)."""
    from camlens.datasets import make_benchmark

    def pixels(source):
        return np.stack([np.asarray(source.image(i)) for i in range(12)])

    cued = make_benchmark(n=12, seed=3, size=32, cue="biased_class")
    assert cued.cue_masks.any()
    expected = (cued.images.permute(0, 2, 3, 1).numpy() * 255.0 + 0.5).clip(0, 255).astype(np.uint8)
    np.testing.assert_array_equal(pixels(open_source("benchmark:n=12,seed=3,size=32")), expected)
    clean = pixels(open_source("benchmark:n=12,seed=3,size=32,cue=none"))
    assert not np.array_equal(clean, expected)


SEEN: list[dict] = []  # the storage options each recfs:// file system was made with


def _recording_filesystem():
    """A local file system under the ``recfs://`` protocol that records its storage options."""
    import fsspec
    from fsspec.implementations.local import LocalFileSystem

    class RecordingFS(LocalFileSystem):
        protocol = "recfs"
        cachable = False  # a new instance, so its options are seen, on every open

        def __init__(self, *args, **options):
            SEEN.append(dict(options))
            options.pop("token", None)
            super().__init__(*args, **options)

        @classmethod
        def _strip_protocol(cls, path):
            path = str(path)
            return super()._strip_protocol(path.removeprefix("recfs://"))

    fsspec.register_implementation("recfs", RecordingFS, clobber=True)


def test_folder_at_a_url_follows_imagefolder_with_storage_options(folder):
    """A folder given as a URL: the same items as the local folder, read through fsspec with the
    storage options given (here a file system that records them)."""
    _recording_filesystem()
    local = open_source(folder)
    SEEN.clear()
    url = open_source(f"recfs://{folder}", storage_options={"token": "secret"})
    assert url.kind == "folder" and url.classes == local.classes
    assert [(i.path, i.label) for i in url.items] == [(i.path, i.label) for i in local.items]
    assert url.location(url.items[5].path) == f"recfs://{folder}/{local.items[5].path}"
    SEEN.clear()
    assert np.array_equal(np.asarray(url.image(5)), np.asarray(local.image(5)))
    assert {"token": "secret"} in SEEN  # the image read took the options
    with pytest.raises(DataSourceError, match="no such folder"):
        open_source(f"recfs://{folder}/nope")
