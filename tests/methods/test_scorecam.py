"""Score-CAM: by hand on the readout model, against pytorch-grad-cam and torchcam, chunking."""

import math

import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from camlens.core.postprocess import fuse_pytorch_grad_cam, normalize
from camlens.methods import _perturb
from camlens.methods.scorecam import ScoreCAM
from camlens.targets import ClassTarget


class PGCScoreCAM(ScoreCAM):
    """pytorch-grad-cam's numbers: its masks and its post-processing."""

    fuse = staticmethod(fuse_pytorch_grad_cam)

    def __init__(self, model, layers, **kw):
        super().__init__(
            model, layers, align_corners=True, mask_eps=1e-8, skip_constant="zero", **kw
        )


class Counting(nn.Module):
    """Records the batch size of every forward pass of the wrapped model."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.batches: list[int] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.batches.append(x.shape[0])
        return self.model(x)


@pytest.fixture(scope="module")
def resnet():
    torch.manual_seed(0)
    return torchvision.models.resnet18(num_classes=10).eval()


@pytest.fixture(scope="module")
def x32():
    return torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(3))


def test_scorecam_hand_computed(readout):
    # A = x (features is the identity); masks H^k = minmax(A^k): H0 = (A0 - 1)/3, H1 = A1.
    # Class 0 scores Σ W0 ⊙ X ⊙ H^k: with H0 -> 4 + 1 = 5, with H1 -> 1 + 0 = 1.
    model, x = readout
    e = ScoreCAM(model, "features").explain(x, targets=[ClassTarget(0)])
    w = torch.softmax(torch.tensor([5.0, 1.0]), dim=0)
    expected = torch.relu(w[0] * x[0, 0] + w[1] * x[0, 1])
    torch.testing.assert_close(e.raw["features"][0], expected)
    torch.testing.assert_close(e.maps[0], normalize(expected[None])[0])


def test_scorecam_matches_pytorch_grad_cam(resnet, x32):
    from pytorch_grad_cam import ScoreCAM as TheirScoreCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    ours = PGCScoreCAM(resnet, "layer1", batch_size=64)(x32[:1], [3])
    theirs = TheirScoreCAM(resnet, [resnet.layer1])
    theirs.batch_size = 64  # read by pytorch-grad-cam's ScoreCAM (default 16): one forward pass
    theirs = theirs(x32[:1], [ClassifierOutputTarget(3)])
    torch.testing.assert_close(ours, torch.from_numpy(theirs), atol=1e-4, rtol=0)


def test_scorecam_matches_torchcam_raw_maps(resnet, x32):
    from torchcam.methods import ScoreCAM as TorchcamScoreCAM

    ours = ScoreCAM(resnet, "layer2", normalize_first=True, mask_eps=1e-8).explain(x32, [3, 7])
    with TorchcamScoreCAM(resnet, "layer2") as extractor:
        resnet(x32)
        (theirs,) = extractor(class_idx=[3, 7], normalized=False)
    torch.testing.assert_close(normalize(ours.raw["layer2"]), normalize(theirs), atol=1e-4, rtol=0)


def test_masks_paper_and_peer_conventions():
    a = torch.rand(3, 4, 4, generator=torch.Generator().manual_seed(0))
    a[1] = 2.0  # a constant channel: zero mask, not NaN
    paper = _perturb.channel_masks(a, (9, 9), zero_constant=True)
    up = F.interpolate(a[:, None], size=(9, 9), mode="bilinear", align_corners=False)[:, 0]
    low = up.flatten(1).min(1).values[:, None, None]
    high = up.flatten(1).max(1).values[:, None, None]
    expected = torch.where(high > low, (up - low) / (high - low).clamp_min(1e-30), 0)
    expected[1] = 0  # constant at 4x4 (the upsampled map is constant only up to rounding)
    torch.testing.assert_close(paper, expected)
    assert torch.equal(paper[1], torch.zeros(9, 9))
    pgc = _perturb.channel_masks(a, (9, 9), align_corners=True, eps=1e-8)
    up = torch.nn.UpsamplingBilinear2d(size=(9, 9))(a[None])[0]
    low = up.flatten(1).min(1).values[:, None, None]
    high = up.flatten(1).max(1).values[:, None, None]
    torch.testing.assert_close(pgc, (up - low) / (high - low + 1e-8))
    first = _perturb.channel_masks(a, (9, 9), eps=1e-8, normalize_first=True)
    low = a.flatten(1).min(1).values[:, None, None]
    high = a.flatten(1).max(1).values[:, None, None]
    norm = (a - low) / (high - low + 1e-8)
    up = F.interpolate(norm[:, None], size=(9, 9), mode="bilinear", align_corners=False)[:, 0]
    torch.testing.assert_close(first, up)


def test_chunks_respect_batch_size_and_give_the_same_maps(small_cnn, images):
    counting = Counting(small_cnn)
    x = images[:2]
    reference = ScoreCAM(small_cnn, "conv3", batch_size=1000).explain(x, [1, 2])
    cam = ScoreCAM(counting, "model.conv3", batch_size=5)
    e = cam.explain(x, [1, 2])
    stats = cam.last_stats["model.conv3"]
    # the capture pass (B = 2), one zero-image pass if a channel is constant, chunks of <= 5
    assert counting.batches[0] == 2
    assert max(counting.batches[1:]) == 5
    zero_pass = 1 if stats["skipped_constant"] else 0
    assert sum(counting.batches[1:]) == stats["masked_images"] + zero_pass
    assert stats["masked_images"] + stats["skipped_constant"] == 2 * 16
    torch.testing.assert_close(e.raw["model.conv3"], reference.raw["conv3"], atol=1e-5, rtol=0)


def test_memory_budget_bounds_the_chunk(small_cnn, images):
    counting = Counting(small_cnn)
    x = images[:2]
    cam = ScoreCAM(counting, "model.conv3", skip_constant=False)
    per_image = cam.masked_image_bytes(x)
    # at least the masked image itself and its mask; the probe saw conv outputs of 8x16x16 floats
    assert per_image >= x[0].numel() * 4 + 16 * 16 * 4 + 8 * 16 * 16 * 4
    cam.max_memory = 3 * per_image + per_image // 2
    counting.batches.clear()
    cam(x, [1, 2])
    assert counting.batches[0] == 2
    # the probe ran above (cached), so: chunks of 3 masked images, never more
    assert max(counting.batches[1:]) == 3
    assert sum(counting.batches[1:]) == 2 * 16


def test_parse_memory():
    assert _perturb.parse_memory("512MB") == 512 * 10**6
    assert _perturb.parse_memory("1.5GiB") == int(1.5 * 2**30)
    assert _perturb.parse_memory("800M") == 800 * 2**20
    assert _perturb.parse_memory(4096) == 4096
    for bad in ("lots", "-1MB", 0):
        with pytest.raises(ValueError, match="max_memory"):
            _perturb.parse_memory(bad)
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        _perturb.check_batch_size(0)


def test_constant_channels_share_one_zero_image_pass(readout):
    model, x = readout
    x = x.clone()
    x[0, 1] = 7.0  # channel 1 constant: its mask is zero, its masked input the zero image
    skip = ScoreCAM(model, "features")
    e = skip.explain(x, [0])
    full = ScoreCAM(model, "features", skip_constant=False).explain(x, [0])
    torch.testing.assert_close(e.raw["features"], full.raw["features"])
    assert skip.last_stats["features"]["skipped_constant"] == 1
    # by hand: S_0 = Σ_k W0[k] ⊙ X[k] ⊙ H0; S_1 = f(0) = 0
    h0 = (x[0, 0] - 1) / 3
    s0 = float((model.weight[0].detach() * x[0] * h0).sum())
    w = torch.softmax(torch.tensor([s0, 0.0]), dim=0)
    torch.testing.assert_close(e.raw["features"][0], torch.relu(w[0] * x[0, 0] + w[1] * x[0, 1]))


def test_channels_last_does_not_change_the_map(small_cnn, images):
    a = ScoreCAM(small_cnn, "conv2", channels_last=True).explain(images[:2], [4])
    b = ScoreCAM(small_cnn, "conv2", channels_last=False).explain(images[:2], [4])
    torch.testing.assert_close(a.maps, b.maps, atol=1e-5, rtol=0)


def test_progress_bar_only_when_asked(readout, capsys):
    model, x = readout
    ScoreCAM(model, "features")(x, [0])
    assert capsys.readouterr().err == ""
    ScoreCAM(model, "features", progress=True)(x, [0])
    err = capsys.readouterr().err
    assert "ScoreCAM features" in err and "img" in err


def test_default_budget_chunks_everything_for_a_tiny_model(readout):
    model, x = readout
    cam = ScoreCAM(model, "features")
    cam(x, [0])
    assert cam.last_stats["features"]["chunk"] == 2
    assert cam.last_stats["features"]["forwards"] == 1
    assert math.isclose(_perturb.DEFAULT_MAX_MEMORY, 512 * 2**20)


class _Untraceable(nn.Module):
    """Conv → BN with data-dependent control flow: torch.fx cannot trace it (camlens' pairing
    does not trace, so it folds)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.head = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.bn(self.conv(x)))
        if h.sum() > 0:  # data-dependent branch
            h = h * 1.0
        return self.head(h.mean(dim=(2, 3)))


def _bn_calls(model: nn.Module) -> list[int]:
    calls: list[int] = []
    model.bn1.register_forward_hook(lambda m, i, o: calls.append(i[0].shape[0]))
    return calls


def test_folded_batchnorm_scores_like_the_model_and_skips_its_batchnorms(x32):
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=10).eval()
    for m in model.modules():  # non-trivial running statistics, so folding changes weights
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    calls = _bn_calls(model)
    folded = ScoreCAM(model, "layer3").explain(x32, [1, 2])
    # only the capture pass, the pairing pass of one image and the memory probe ran the model's
    assert calls == [2, 1, 1]
    plain = ScoreCAM(model, "layer3", fold_batchnorm=False).explain(x32, [1, 2])
    assert len(calls) > 2
    torch.testing.assert_close(folded.raw["layer3"], plain.raw["layer3"], atol=1e-5, rtol=1e-4)


def test_folded_copy_follows_in_place_changes_of_the_model(x32):
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=10).eval()
    cam = ScoreCAM(model, "layer4")
    before = cam.explain(x32, [3]).raw["layer4"]
    with torch.no_grad():
        model.layer4[1].bn2.weight.mul_(-2.0)  # a change after the copy was made
        model.fc.bias.add_(0.5)
    after = cam.explain(x32, [3]).raw["layer4"]
    fresh = ScoreCAM(model, "layer4", fold_batchnorm=False).explain(x32, [3]).raw["layer4"]
    torch.testing.assert_close(after, fresh, atol=1e-5, rtol=1e-4)
    assert not torch.allclose(before, after, atol=1e-3)


class _SharedConvOutput(nn.Module):
    """The conv's output feeds the BN and a skip connection: folding would change the skip."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.head = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return self.head((self.bn(y) + y).mean(dim=(2, 3)))


def test_folding_is_skipped_in_training_mode_and_where_it_would_change_the_model():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    model = torchvision.models.resnet18(num_classes=10)
    assert _perturb.FoldedBatchNorm().get(model.train(), x[:1]) is model
    shared = _SharedConvOutput().eval()
    shared.bn.running_var.fill_(4.0)
    assert _perturb.FoldedBatchNorm().get(shared, x[:1]) is shared
    a = ScoreCAM(shared, "conv").explain(x, [0, 1]).raw["conv"]
    b = ScoreCAM(shared, "conv", fold_batchnorm=False).explain(x, [0, 1]).raw["conv"]
    torch.testing.assert_close(a, b)
    untraceable = _Untraceable().eval()
    untraceable.bn.running_var.fill_(4.0)
    folded = _perturb.FoldedBatchNorm().get(untraceable, x[:1])
    assert isinstance(folded.bn, nn.Identity) and folded.head is untraceable.head
    a = ScoreCAM(untraceable, "conv").explain(x, [0, 1]).raw["conv"]
    b = ScoreCAM(untraceable, "conv", fold_batchnorm=False).explain(x, [0, 1]).raw["conv"]
    torch.testing.assert_close(a, b)


def test_folded_copy_counts_against_the_memory_budget(x32):
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=10).eval()
    cam = ScoreCAM(model, "layer3")
    extra = cam._folded.extra_bytes(model, x32[:1])
    # the folded weights: every conv of resnet18 is followed by a BN (fc is shared, not copied)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert extra == sum((m.weight.numel() + m.out_channels) * 4 for m in convs)
    per_image = cam.masked_image_bytes(x32)
    cam.max_memory = extra + 5 * per_image
    cam(x32, [0, 1])
    assert cam.last_stats["layer3"]["chunk"] == 5
    cam.max_memory = extra + 2 * per_image  # cannot hold the copy and four images: no folding
    calls = _bn_calls(model)
    cam(x32, [0, 1])
    assert len(calls) > 1
    assert cam.last_stats["layer3"]["chunk"] == (extra + 2 * per_image) // per_image


class _BNNet(nn.Module):
    """conv → BN pairs (folded by Score-CAM) before and after the target layer."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8)
        self.conv2, self.bn2 = nn.Conv2d(8, 12, 3, padding=1, stride=2), nn.BatchNorm2d(12)
        self.conv3, self.bn3 = nn.Conv2d(12, 16, 3, padding=1), nn.BatchNorm2d(16)
        self.fc = nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.bn1(self.conv1(x)))
        x = torch.relu(self.bn2(self.conv2(x)))
        return self.fc(torch.relu(self.bn3(self.conv3(x))).mean(dim=(2, 3)))


def _bn_net(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    model = _BNNet().eval()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    return model


def _edit_data(model: nn.Module) -> None:
    model.bn3.weight.data.mul_(-2.0)  # .data: the tensors' versions do not change
    model.conv3.weight.data[0] += 0.5
    model.bn3.running_mean.data.add_(0.3)


def _edit_copy(model: nn.Module) -> None:
    with torch.no_grad():
        model.bn3.running_var.copy_(torch.rand_like(model.bn3.running_var) + 0.5)
        model.conv3.weight.copy_(-model.conv3.weight)


def _edit_load_state_dict(model: nn.Module) -> None:
    model.load_state_dict(_bn_net(seed=7).state_dict())


@pytest.mark.parametrize("edit", [_edit_data, _edit_copy, _edit_load_state_dict])
def test_weights_edited_in_place_are_never_scored_with_a_stale_folded_copy(edit):
    # Issue #12, item 7: an edit through .data does not bump the tensors' versions, and the
    # folded copy kept scoring with the old weights (maps 0.03-0.04 off a fresh object's).
    # The edits are after the target layer, so only the scoring of the masked images sees them.
    x = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(3))
    model = _bn_net()
    cam = ScoreCAM(model, "conv2")
    before = cam(x, [3, 5]).clone()
    edit(model)
    after = cam(x, [3, 5])
    fresh = ScoreCAM(model, "conv2")(x, [3, 5])
    torch.testing.assert_close(after, fresh, atol=1e-6, rtol=0)
    unfolded = ScoreCAM(model, "conv2", fold_batchnorm=False)(x, [3, 5])
    torch.testing.assert_close(after, unfolded, atol=1e-5, rtol=0)
    assert float((before - after).abs().max()) > 1e-4  # the edit did change the maps
