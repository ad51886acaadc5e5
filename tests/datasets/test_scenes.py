"""make_scenes: captioned one- and two-shape scenes with per-object masks."""

from __future__ import annotations

import pytest
import torch

from camlens.core.errors import InvalidInputError
from camlens.datasets import CLASSES
from camlens.datasets.benchmark import keep_out
from camlens.datasets.scenes import caption, make_scenes


def test_captions_name_the_objects_and_masks_are_theirs():
    scenes = make_scenes(12, seed=3, split="test", objects=(1, 2))
    assert scenes.counts.tolist() == [1, 2] * 6
    for i in range(len(scenes)):
        names = [CLASSES[int(c)] for c in scenes.labels[i] if c >= 0]
        words = scenes.captions[i].split(" and ")
        assert sorted(words) == sorted(f"a {n}" for n in names)
        assert len(set(names)) == len(names)  # distinct classes
        for k in range(2):
            assert bool(scenes.masks[i, k].any()) == (scenes.labels[i, k] >= 0)
        assert not (scenes.masks[i, 0] & scenes.masks[i, 1]).any()  # no overlap
        corner = keep_out(64)
        assert not scenes.masks[i, :, :corner, :corner].any()  # clear of the watermark


def test_deterministic_prefix_and_split():
    a = make_scenes(6, seed=1, split="train")
    b = make_scenes(4, seed=1, split="train")
    torch.testing.assert_close(a.images[:4], b.images)
    assert a.captions[:4] == b.captions
    c = make_scenes(4, seed=1, split="test")
    assert not torch.equal(b.images, c.images)


def test_caption_and_bad_input():
    assert caption(["circle", "square"]) == "a circle and a square"
    with pytest.raises(InvalidInputError):
        make_scenes(2, objects=(3,))
    with pytest.raises(InvalidInputError):
        make_scenes(2, split="dev")
