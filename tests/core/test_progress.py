"""camlens.progress: the perturbation methods report (done, total) per masked batch."""

from __future__ import annotations

import itertools
import threading

import pytest
import torch
from tiny_models import SmallCNN

import camlens

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    torch.manual_seed(0)
    return SmallCNN().eval()


@pytest.fixture(scope="module")
def x() -> torch.Tensor:
    torch.manual_seed(1)
    return torch.rand(2, 3, 16, 16)


def reports(run) -> list[tuple[int, int]]:
    seen: list[tuple[int, int]] = []
    with camlens.progress(lambda done, total: seen.append((done, total))):
        run()
    return seen


def check_counts(seen: list[tuple[int, int]], total: int, batches: int) -> None:
    """One run: (0, total) first, then one report per batch, increasing, ending at total."""
    assert seen[0] == (0, total)
    assert {t for _, t in seen} == {total}
    done = [d for d, _ in seen]
    assert all(b > a for a, b in itertools.pairwise(done)), done
    assert done[-1] == total
    assert len(seen) == 1 + batches


def test_scorecam_reports_each_masked_batch(model, x):
    # conv3 has 16 channels on 2 images: 32 masked images, 5 chunks of 7 (the last of 4);
    # skip_constant=False so that no constant map is left out of the count.
    cam = camlens.ScoreCAM(model, "conv3", batch_size=7, skip_constant=False)
    seen = reports(lambda: cam(x))
    check_counts(seen, total=32, batches=5)
    assert cam.last_stats["conv3"]["forwards"] == 5


def test_sscam_counts_every_sample(model, x):
    cam = camlens.SSCAM(model, "conv3", batch_size=16, num_samples=3, skip_constant=False)
    seen = reports(lambda: cam(x))
    check_counts(seen, total=32 * 3, batches=2 * 3)


@pytest.mark.parametrize("tail", [True, False])
def test_ablationcam_reports_each_chunk_of_copies(model, x, tail):
    # 16 channels per image, chunks of 5: 4 chunks (5, 5, 5, 1) per image, 2 images
    cam = camlens.AblationCAM(model, "conv3", batch_size=5, tail=tail)
    seen = reports(lambda: cam(x))
    check_counts(seen, total=32, batches=8)
    assert cam.last_path == ("head-once" if tail else "full")


def test_rise_and_occlusion(model, x):
    rise = camlens.RISE(model, n_masks=10, grid_size=4, batch_size=8)
    check_counts(reports(lambda: rise.explain(x)), total=20, batches=3)
    occlusion = camlens.Occlusion(model, patch_size=8, stride=8, batch_size=3)
    check_counts(reports(lambda: occlusion.explain(x)), total=2 * 4, batches=3)


def test_each_layer_counts_from_zero(model, x):
    cam = camlens.ScoreCAM(model, ["conv2", "conv3"], batch_size=100, skip_constant=False)
    seen = reports(lambda: cam(x))
    starts = [i for i, (done, _) in enumerate(seen) if done == 0]
    assert len(starts) == 2
    check_counts(seen[: starts[1]], total=2 * 8, batches=1)
    check_counts(seen[starts[1] :], total=2 * 16, batches=1)


def test_gradient_methods_report_nothing_and_outside_nothing_is_called(model, x):
    assert reports(lambda: camlens.GradCAM(model, "conv3")(x)) == []
    calls = []
    with camlens.progress(lambda d, t: calls.append(d)):
        pass
    camlens.ScoreCAM(model, "conv3")(x)
    assert calls == []


def test_nested_blocks_both_hear_and_other_threads_do_not(model, x):
    outer, inner, other = [], [], []
    cam = camlens.AblationCAM(model, "conv3", batch_size=16)

    def in_thread():
        with camlens.progress(lambda d, t: other.append(d)):
            pass
        camlens.AblationCAM(model, "conv3", batch_size=16)(x)

    with (
        camlens.progress(lambda d, t: outer.append(d)),
        camlens.progress(lambda d, t: inner.append(d)),
    ):
        cam(x)
        thread = threading.Thread(target=in_thread)
        thread.start()
        thread.join()
    assert outer == inner == [0, 16, 32]
    assert other == []


def test_the_maps_do_not_change(model, x):
    cam = camlens.ScoreCAM(model, "conv3", batch_size=7)
    plain = cam(x)
    with camlens.progress(lambda d, t: None):
        watched = cam(x)
    assert torch.equal(plain, watched)


def test_a_method_bar_and_the_callback_see_the_same_counts(model, x, capsys):
    seen = reports(lambda: camlens.AblationCAM(model, "conv3", batch_size=8, progress=True)(x))
    check_counts(seen, total=32, batches=4)
    assert "AblationCAM conv3" in capsys.readouterr().err


def test_not_a_callable():
    with pytest.raises(TypeError, match="callable"), camlens.progress(True):  # type: ignore[arg-type]
        pass
