"""What an audit reads: an image folder tree, a CSV/Parquet manifest, or the benchmark dataset.

Each source is a list of :class:`Item` (path, label, optional box or mask) in a fixed order, so an
item's position is its identity across runs, ranks, engines and resumes. Sources are plain
picklable objects: DataLoader workers and Ray actors open the images. ``storage_options`` (fsspec's,
e.g. S3 credentials) travel with the source for its URLs.

- **folder** ``DATA/<class>/<image>``: torchvision's ImageFolder rules (classes are the sorted
  subfolder names, files sorted, known image extensions); with ``--masks MASKS`` the mask of
  ``DATA/cat/1.jpg`` is ``MASKS/cat/1.png`` (non-zero = object) when it exists. A folder that
  holds a ``manifest.csv`` (as ``camlens.datasets.write_image_folder`` writes) is read through it.
  A folder at an fsspec URL (``s3://bucket/val``) follows the same rules over fsspec listings.
- **manifest** ``*.csv`` / ``*.parquet``: a ``path`` column (relative to the manifest's folder, or
  absolute, or any fsspec URL), optional ``label`` (class index or class name), optional box
  ``x0, y0, x1, y1`` in pixels of the original image (x1, y1 exclusive), optional ``mask_path``.
- **benchmark** ``benchmark[:key=value,...]``: ``camlens.datasets.make_benchmark`` built in
  memory (keys ``n, seed, split, biased, size, cue``), with its object masks.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
from PIL import Image

from .errors import DataSourceError

MANIFEST_SUFFIXES = (".csv", ".parquet", ".pq")


@dataclass(frozen=True)
class Item:
    """One image: its path as reported, its label (data class index, -1 unknown), its box
    ``(x0, y0, x1, y1)`` in pixels or its mask file.

    Example:
        >>> Item("images/cat.jpg", label=2, box=(0.0, 0.0, 32.0, 32.0)).label
        2
    """

    path: str
    label: int = -1
    box: tuple[float, float, float, float] | None = None
    mask: str | None = None


def _read_bytes(location: str, storage_options: dict[str, Any] | None = None) -> bytes:
    if "://" not in location:  # a local file: skip fsspec's per-call overhead (~1 ms)
        return Path(location).read_bytes()
    import fsspec

    with fsspec.open(location, "rb", **(storage_options or {})) as handle:
        return handle.read()


def decode_image(data: bytes, where: str, max_pixels: int | None = None) -> Image.Image:
    """An RGB PIL image from encoded bytes (:func:`camlens.images.load_image`: EXIF orientation,
    alpha on white); raises :class:`~camlens.errors.InvalidImageError` naming ``where`` for a
    corrupt, truncated or oversized image."""
    from ..errors import InvalidImageError
    from ..images import load_image

    try:
        return load_image(data, max_pixels=max_pixels or 40_000_000)
    except InvalidImageError as exc:
        raise InvalidImageError(str(exc).replace("the uploaded bytes", where)) from None


@dataclass
class Source:
    """A dataset to audit: items in a fixed order, class names, and how to open them.

    Example:
        >>> from camlens.audit.sources import benchmark_source
        >>> source = benchmark_source("benchmark:n=4,size=32")
        >>> source.kind, len(source.items), source.classes[:2]
        ('benchmark', 4, ['circle', 'square'])
    """

    kind: str
    spec: str
    items: list[Item]
    classes: list[str] = field(default_factory=list)
    root: str = ""
    storage_options: dict[str, Any] = field(default_factory=dict)  # fsspec's, for URLs

    def __len__(self) -> int:
        return len(self.items)

    def location(self, path: str) -> str:
        """Where a reported path is read from (joined to the root unless absolute or a URL)."""
        if "://" in path or os.path.isabs(path) or not self.root:
            return path
        return f"{self.root.rstrip('/')}/{path}"

    def image(self, index: int, max_pixels: int | None = None) -> Image.Image:
        """The RGB image of item ``index``; raises for a corrupt file."""
        where = self.location(self.items[index].path)
        if "://" not in where:  # local: the loader opens the file itself (and names it on error)
            from ..images import load_image

            return load_image(where, max_pixels=max_pixels or 40_000_000)
        return decode_image(_read_bytes(where, self.storage_options), where, max_pixels)

    def mask(self, index: int, size: tuple[int, int]) -> Image.Image | None:
        """The object mask of item ``index`` as an ``L`` image of ``size`` (W, H), 255 inside."""
        item = self.items[index]
        if item.mask is not None:
            where = self.location(item.mask)
            with Image.open(io.BytesIO(_read_bytes(where, self.storage_options))) as raw:
                values = np.asarray(raw.convert("L")) > 0
            mask = Image.fromarray((values * 255).astype(np.uint8), mode="L")
            return mask if mask.size == size else mask.resize(size, Image.Resampling.NEAREST)
        if item.box is not None:
            return box_mask(item.box, size)
        return None

    @property
    def has_objects(self) -> bool:
        return any(i.box is not None or i.mask is not None for i in self.items)


def box_mask(box: tuple[float, float, float, float], size: tuple[int, int]) -> Image.Image:
    """An ``L`` mask of ``size`` (W, H): 255 on the pixels whose centres lie in the box."""
    w, h = size
    x0, y0, x1, y1 = box
    cols = np.arange(w) + 0.5
    rows = np.arange(h) + 0.5
    inside = ((rows >= y0) & (rows < y1))[:, None] & ((cols >= x0) & (cols < x1))[None, :]
    return Image.fromarray((inside * 255).astype(np.uint8), mode="L")


# --- folder tree -----------------------------------------------------------------------------
def folder_source(root: str | Path, masks: str | Path | None = None) -> Source:
    """ImageFolder rules via torchvision (sorted classes, sorted files, image extensions)."""
    from torchvision.datasets.folder import IMG_EXTENSIONS, find_classes, make_dataset

    root = Path(root)
    try:
        classes, class_to_idx = find_classes(str(root))
    except FileNotFoundError as exc:
        raise DataSourceError(
            f"{root}: no class subfolders; DATA must be an ImageFolder tree (one subfolder per "
            "class), a .csv/.parquet manifest, or 'benchmark'."
        ) from exc
    samples = make_dataset(str(root), class_to_idx, extensions=IMG_EXTENSIONS, allow_empty=True)
    if not samples:
        raise DataSourceError(f"{root}: the class subfolders hold no images ({IMG_EXTENSIONS}).")
    items = []
    for path, label in samples:
        rel = PurePosixPath(Path(path).relative_to(root).as_posix())
        mask = None
        if masks is not None:
            candidate = Path(masks) / rel.with_suffix(".png")
            mask = str(candidate) if candidate.is_file() else None
        items.append(Item(str(rel), int(label), None, mask))
    return Source("folder", str(root.resolve()), items, list(classes), str(root.resolve()))


# --- manifest ----------------------------------------------------------------------------------
def _optional(row: Any, name: str) -> Any:
    value = getattr(row, name, None)
    if value is None:
        return None
    try:
        if np.isnan(value):
            return None
    except TypeError:
        pass
    return value


def manifest_source(
    path: str | Path,
    masks: str | Path | None = None,
    storage_options: dict[str, Any] | None = None,
) -> Source:
    """A CSV or Parquet table of ``path`` [, ``label``, ``x0..y1``, ``mask_path``]; a URL is
    read with fsspec's ``storage_options``."""
    import pandas as pd

    location = str(path)
    # pandas takes storage options for URLs only (they may be meant for the images' URLs)
    options = {"storage_options": storage_options} if storage_options and "://" in location else {}
    try:
        if location.endswith((".parquet", ".pq")):
            table = pd.read_parquet(location, **options)
        else:
            table = pd.read_csv(location, **options)
    except FileNotFoundError as exc:
        raise DataSourceError(f"{location}: no such manifest.") from exc
    except (ValueError, OSError) as exc:
        raise DataSourceError(f"{location}: not a readable CSV/Parquet manifest ({exc}).") from exc
    if "path" not in table.columns:
        raise DataSourceError(
            f"{location}: a manifest needs a 'path' column (found {list(table.columns)})."
        )
    classes: list[str] = []
    labels = np.full(len(table), -1, dtype=np.int64)
    if "label" in table.columns:
        column = table["label"]
        if pd.api.types.is_numeric_dtype(column):
            labels = column.fillna(-1).astype(np.int64).to_numpy()
            if "class" in table.columns:  # names by index, as write_image_folder records them
                names = dict(zip(labels.tolist(), table["class"].astype(str), strict=True))
                if all(i in names for i in range(max(names, default=-1) + 1)):
                    classes = [names[i] for i in range(max(names) + 1)]
        else:
            classes = sorted({str(v) for v in column.dropna()})
            index = {c: i for i, c in enumerate(classes)}
            labels = np.array([index.get(str(v), -1) for v in column], dtype=np.int64)
    has_box = all(c in table.columns for c in ("x0", "y0", "x1", "y1"))
    items = []
    for row, label in zip(table.itertuples(index=False), labels, strict=True):
        box = None
        if has_box and all(_optional(row, c) is not None for c in ("x0", "y0", "x1", "y1")):
            box = (float(row.x0), float(row.y0), float(row.x1), float(row.y1))
        mask = _optional(row, "mask_path")
        if mask is None and masks is not None:
            candidate = Path(masks) / PurePosixPath(str(row.path)).with_suffix(".png")
            mask = str(candidate) if candidate.is_file() else None
        items.append(Item(str(row.path), int(label), box, None if mask is None else str(mask)))
    root = location.rsplit("/", 1)[0] if "/" in location else "."
    if "://" not in root:
        root = str(Path(root).resolve())
    return Source("manifest", location, items, classes, root, dict(storage_options or {}))


def url_folder_source(url: str, storage_options: dict[str, Any] | None = None) -> Source:
    """An ImageFolder tree at an fsspec URL (``s3://bucket/data``): ImageFolder's rules (sorted
    class folders, files sorted by folder then name, its image extensions) over fsspec listings."""
    import fsspec
    from torchvision.datasets.folder import IMG_EXTENSIONS

    fs, root = fsspec.core.url_to_fs(url, **(storage_options or {}))
    root = root.rstrip("/")
    try:
        entries = fs.ls(root, detail=True)
    except FileNotFoundError as exc:
        raise DataSourceError(f"{url}: no such folder or manifest.") from exc
    classes = sorted(
        PurePosixPath(e["name"]).name
        for e in entries
        if e.get("type") == "directory" and not PurePosixPath(e["name"]).name.startswith(".")
    )
    if not classes:
        raise DataSourceError(
            f"{url}: no class subfolders; DATA must be an ImageFolder tree (one subfolder per "
            "class), a .csv/.parquet manifest, or 'benchmark'."
        )
    items: list[Item] = []
    for label, name in enumerate(classes):
        files = [f for f in fs.find(f"{root}/{name}") if f.lower().endswith(IMG_EXTENSIONS)]
        rels = [PurePosixPath(f).relative_to(PurePosixPath(root)) for f in files]
        ordered = sorted(rels, key=lambda r: (str(r.parent), r.name))
        items.extend(Item(str(rel), label) for rel in ordered)
    if not items:
        raise DataSourceError(f"{url}: the class subfolders hold no images ({IMG_EXTENSIONS}).")
    spec = url.rstrip("/")
    return Source("folder", spec, items, classes, spec, dict(storage_options or {}))


def _folder_classes(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


# --- benchmark ---------------------------------------------------------------------------------
class _ArraySource(Source):
    """Images held in memory as uint8 ``(N, H, W, 3)`` with optional bool masks ``(N, H, W)``."""

    def __init__(self, spec: str, images: np.ndarray, labels: np.ndarray, masks, classes):
        items = [
            Item(f"benchmark/{i:05d}", int(label), None, None)
            for i, label in enumerate(labels.tolist())
        ]
        super().__init__("benchmark", spec, items, list(classes), "")
        self.images = images
        self.masks = masks

    def image(self, index: int, max_pixels: int | None = None) -> Image.Image:
        return Image.fromarray(self.images[index], mode="RGB")

    def mask(self, index: int, size: tuple[int, int]) -> Image.Image | None:
        if self.masks is None:
            return None
        mask = Image.fromarray((self.masks[index] > 0).astype(np.uint8) * 255, mode="L")
        return mask if mask.size == size else mask.resize(size, Image.Resampling.NEAREST)

    @property
    def has_objects(self) -> bool:
        return self.masks is not None


AUDIT_BENCHMARK_CUE = "biased_class"  # the watermark on the biased class, as in its training set
BENCHMARK_KEYS = {"n": int, "seed": int, "split": str, "biased": int, "size": int, "cue": str}


def parse_benchmark_spec(spec: str) -> dict[str, Any]:
    """``benchmark:n=200,seed=0,cue=biased_class`` -> keyword arguments of make_benchmark."""
    _, _, rest = spec.partition(":")
    kwargs: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = part.partition("=")
        if not eq or key not in BENCHMARK_KEYS:
            raise DataSourceError(
                f"{spec!r}: expected benchmark:key=value,... with keys {sorted(BENCHMARK_KEYS)}."
            )
        kwargs[key] = BENCHMARK_KEYS[key](value)
    return kwargs


def benchmark_source(spec: str = "benchmark") -> Source:
    """The project's benchmark dataset, built in memory with its object masks.

    Unlike ``make_benchmark``'s test split, the audit's benchmark carries the watermark on the
    biased class unless told otherwise (``cue=none``): an audit looks for such a cue, so
    ``camlens audit benchmark --model benchmark-biased`` shows what it finds.
    """
    from ..datasets import make_benchmark

    kwargs = parse_benchmark_spec(spec)
    kwargs.setdefault("cue", AUDIT_BENCHMARK_CUE)
    ds = make_benchmark(**kwargs)
    # uint8 as write_image_folder rounds (x * 255 + 0.5, truncated): the in-memory set and its
    # PNG tree give the model the same pixels
    images = (ds.images.permute(0, 2, 3, 1).numpy() * 255.0 + 0.5).clip(0, 255).astype(np.uint8)
    masks = getattr(ds, "masks", None)
    masks = None if masks is None else np.asarray(masks) > 0
    return _ArraySource(spec, images, np.asarray(ds.labels), masks, ds.classes)


def open_source(
    data: str | Path,
    masks: str | Path | None = None,
    storage_options: dict[str, Any] | None = None,
) -> Source:
    """The source for a DATA argument (see the module docstring); ``storage_options`` are
    fsspec's for a DATA that is a URL and for the image URLs of a manifest."""
    text = str(data)
    if text == "benchmark" or text.startswith("benchmark:"):
        if masks is not None:
            raise DataSourceError("the benchmark brings its own masks; drop --masks.")
        return benchmark_source(text)
    if text.lower().endswith(MANIFEST_SUFFIXES):
        return manifest_source(text, masks, storage_options)
    if "://" in text:
        if masks is not None:
            raise DataSourceError(
                f"{text}: --masks is for local folders; list a mask_path per "
                "image in a manifest instead."
            )
        return url_folder_source(text, storage_options)
    root = Path(text)
    if not root.exists():
        raise DataSourceError(
            f"{text}: no such folder or manifest; DATA is an ImageFolder tree, a .csv/.parquet "
            "manifest, or 'benchmark[:n=...,seed=...]'."
        )
    if not root.is_dir():
        raise DataSourceError(
            f"{text}: a file, not a folder or manifest; DATA is an ImageFolder tree, a "
            ".csv/.parquet manifest, or 'benchmark[:n=...,seed=...]'."
        )
    if root.is_dir() and (root / "manifest.csv").is_file():
        source = manifest_source(root / "manifest.csv", masks)
        if not source.classes:
            source.classes = _folder_classes(root)
        return source
    return folder_source(root, masks)
