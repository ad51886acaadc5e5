"""Targets score what the paper says: y^c before softmax, and friends."""

import pytest
import torch

import camlens
from camlens.targets import resolve_targets, score_targets

LOGITS = torch.tensor([[1.0, 3.0, 2.0], [0.5, -1.0, 4.0]])


def test_class_target_is_the_pre_softmax_score():
    assert camlens.ClassTarget(1)(LOGITS[0]) == 3.0
    torch.testing.assert_close(score_targets([camlens.ClassTarget(2)] * 2, LOGITS), LOGITS[:, 2])


def test_softmax_counterfactual_binary():
    p = torch.softmax(LOGITS[0], 0)[1]
    torch.testing.assert_close(camlens.SoftmaxTarget(1)(LOGITS[0]), p)
    assert camlens.CounterfactualTarget(1)(LOGITS[0]) == -3.0
    assert camlens.BinaryTarget(1)(torch.tensor([2.5])) == 2.5
    assert camlens.BinaryTarget(0)(torch.tensor([2.5])) == -2.5
    with pytest.raises(camlens.TargetError):
        camlens.BinaryTarget(2)
    with pytest.raises(camlens.TargetError, match="one logit"):
        camlens.BinaryTarget(1)(LOGITS[0])


def test_none_is_top1_ints_are_classes_single_target_broadcasts():
    assert [t.category for t in resolve_targets(None, LOGITS, 2)] == [1, 2]
    assert [t.category for t in resolve_targets([0, 2], LOGITS, 2)] == [0, 2]
    assert [t.category for t in resolve_targets(camlens.ClassTarget(1), LOGITS, 2)] == [1, 1]
    ranked = resolve_targets(camlens.RankTarget(1), LOGITS, 2)
    assert [t.category for t in ranked] == [2, 0]


def test_callable_targets_score_per_image():
    scores = score_targets([lambda out: out[0] + out[1]] * 2, LOGITS)
    torch.testing.assert_close(scores, torch.tensor([4.0, -0.5]))


def test_bad_targets():
    with pytest.raises(camlens.TargetError, match="out of range"):
        score_targets([camlens.ClassTarget(3)] * 2, LOGITS)
    with pytest.raises(camlens.TargetError, match=r"2 targets for a batch of 3|3 targets"):
        resolve_targets([0, 1, 2], LOGITS, 2)
    with pytest.raises(camlens.TargetError, match="one number per image"):
        score_targets([lambda out: out] * 2, LOGITS)
    with pytest.raises(camlens.TargetError, match=">= 0"):
        camlens.ClassTarget(-1)
    with pytest.raises(camlens.TargetError, match="int"):
        camlens.ClassTarget(1.5)
    with pytest.raises(camlens.TargetError, match="callable"):
        resolve_targets(["cat", "dog"], LOGITS, 2)


def test_integer_targets_of_any_kind():
    import numpy as np

    for spec in ([np.int64(2), 1], torch.tensor([2, 1]), np.array([2, 1]), (2, torch.tensor(1))):
        assert [t.category for t in resolve_targets(spec, LOGITS, 2)] == [2, 1]
    assert [t.category for t in resolve_targets(np.int64(1), LOGITS, 2)] == [1, 1]


@pytest.mark.parametrize("shape", [(2,), (2, 4, 3, 3)], ids=["(B,)", "segmentation"])
@pytest.mark.parametrize("spec", [None, camlens.RankTarget(0)], ids=["None", "RankTarget"])
def test_ranking_an_output_that_is_not_b_by_classes_is_one_target_error(shape, spec):
    # before: (B,) with a RankTarget was a raw IndexError; a (B, 4, 3, 3) segmentation output
    # ranked its 36 flattened entries and said "class index 29 is out of range ... 3 classes"
    with pytest.raises(camlens.errors.TargetError, match=r"not \(B, classes\): pass explicit"):
        resolve_targets(spec, torch.randn(shape), 2)


def test_an_output_of_b_by_1_by_classes_is_ranked_by_its_classes():
    logits = torch.tensor([[[0.0, 3.0, 1.0]], [[2.0, 0.0, 1.0]]])  # (B, 1, classes)
    assert [t.category for t in resolve_targets(None, logits, 2)] == [1, 0]
