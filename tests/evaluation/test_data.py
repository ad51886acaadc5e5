"""camlens.evaluation.data: every accepted data form becomes the same batches."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from camlens.core.errors import InvalidInputError
from camlens.evaluation.data import batches, count

torch.set_num_threads(1)


def whole(n: int = 7) -> dict[str, torch.Tensor]:
    images = torch.arange(n, dtype=torch.float32).view(n, 1, 1, 1).expand(n, 3, 4, 4).clone()
    masks = torch.zeros(n, 4, 4, dtype=torch.bool)
    masks[:, 1:3, 1:3] = True
    return {"images": images, "labels": torch.arange(n) % 3, "masks": masks}


def test_a_whole_set_is_sliced_and_limited():
    data = whole()
    got = list(batches(data, batch_size=3, limit=5))
    assert [len(b) for b in got] == [3, 2]
    assert torch.equal(torch.cat([b.labels for b in got]), data["labels"][:5])
    assert got[0].masks.dtype == torch.bool and got[0].boxes is None
    assert count(data) == 7


def test_dataset_items_with_boxes_of_different_counts_stay_lists():
    class Items(torch.utils.data.Dataset):
        def __len__(self) -> int:
            return 3

        def __getitem__(self, i: int):
            boxes = np.zeros((i + 1, 4), dtype=np.float32)  # 1, 2, 3 boxes
            return {"image": torch.zeros(3, 4, 4), "label": i, "boxes": boxes}

    (batch,) = batches(Items(), batch_size=8)
    assert batch.labels.tolist() == [0, 1, 2]
    assert isinstance(batch.boxes, list) and [len(b) for b in batch.boxes] == [1, 2, 3]
    sub = batch.subset(torch.tensor([2]))
    assert len(sub) == 1 and len(sub.boxes[0]) == 3


def test_iterables_keep_their_batches_and_tuples_mean_images_labels_masks():
    data = whole(4)
    tuples = [
        (data["images"][:2], data["labels"][:2], data["masks"][:2]),
        (data["images"][2:], data["labels"][2:], data["masks"][2:]),
    ]
    got = list(batches(tuples, batch_size=1))  # an iterable's own batches are kept
    assert [len(b) for b in got] == [2, 2]
    assert torch.equal(got[1].masks, data["masks"][2:])
    assert count(tuples) is None


def test_bad_data_says_what_to_give():
    with pytest.raises(InvalidInputError, match=r"float tensor \(B, C, H, W\)"):
        list(batches({"images": torch.zeros(2, 4, 4)}, batch_size=2))
    with pytest.raises(InvalidInputError, match="floating point"):
        list(batches(torch.zeros(2, 3, 4, 4, dtype=torch.uint8), batch_size=2))
    with pytest.raises(InvalidInputError, match="2 images but 3 labels"):
        list(batches([(torch.zeros(2, 3, 4, 4), torch.zeros(3))], batch_size=2))
    with pytest.raises(InvalidInputError, match="the mapping has no images tensor"):
        list(batches({"pictures": torch.zeros(2, 3, 4, 4)}, batch_size=2))
    with pytest.raises(InvalidInputError, match="batch_size"):
        list(batches(whole(), batch_size=0))
    with pytest.raises(InvalidInputError, match="cannot evaluate on int"):
        list(batches(3, batch_size=2))
