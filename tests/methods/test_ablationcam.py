"""Ablation-CAM: by hand on the readout model, against pytorch-grad-cam and a hook-by-hook
reference, tail-only vs full re-run, near-zero scores, chunking, and a failing call."""

import pytest
import torch
import torchvision
from torch import nn

from camlens.core.postprocess import fuse_pytorch_grad_cam, normalize
from camlens.methods.ablationcam import AblationCAM, NearZeroScoreWarning
from camlens.targets import ClassTarget


class PGCAblationCAM(AblationCAM):
    """pytorch-grad-cam's options and post-processing."""

    fuse = staticmethod(fuse_pytorch_grad_cam)

    def __init__(self, model, layers, **kw):
        kw.setdefault("batch_size", 32)
        super().__init__(
            model, layers, ablation_value="pytorch-grad-cam", denominator="plain", **kw
        )


def reference_scores(model, layer, x1, target, channels):
    """y^c_k by brute force: one forward per channel with a hook zeroing channel k."""
    out = []
    for k in range(channels):

        def hook(mod, inputs, output, k=k):
            output = output.clone()
            output[:, k] = 0
            return output

        handle = layer.register_forward_hook(hook)
        try:
            with torch.no_grad():
                out.append(float(model(x1)[0, target]))
        finally:
            handle.remove()
    return torch.tensor(out)


def layer_output(model, name, x, b):
    """The output of layer ``name`` for image ``b``, before any in-place op downstream."""
    seen = []

    def hook(module, inputs, output):
        seen.append(output.clone())  # returns None: the model's output is left alone

    handle = model.get_submodule(name).register_forward_hook(hook)
    try:
        with torch.no_grad():
            model(x[b : b + 1])
    finally:
        handle.remove()
    return seen[0][0]


def no_hooks(model):
    return all(
        not m._forward_hooks and not m._forward_pre_hooks and not m._backward_hooks
        for m in model.modules()
    )


class Dense(nn.Module):
    """A DenseNet-style concat of a tensor from before the target layer with its output."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, padding=1)
        self.block = nn.Conv2d(4, 4, 3, padding=1)
        self.head = nn.Linear(8, 5)

    def forward(self, x):
        s = torch.relu(self.stem(x))
        b = torch.relu(self.block(s))
        return self.head(torch.cat([s, b], dim=1).mean(dim=(2, 3)))


class CountingFC(nn.Module):
    def __init__(self, fc):
        super().__init__()
        self.fc = fc
        self.batches: list[int] = []

    def forward(self, x):
        self.batches.append(x.shape[0])
        return self.fc(x)


def test_ablationcam_hand_computed(readout):
    # Zeroing channel k of the readout lowers score c by Σ_ij W[c,k] A^k: for class 0 by
    # Σ G0 ⊙ A0 = 5 and Σ G1 ⊙ A1 = 0, so y = 5 and w = (5/5, 0/5) = (1, 0): the map is A0.
    model, x = readout
    cam = AblationCAM(model, "features")
    e = cam.explain(x, targets=[ClassTarget(0)])
    torch.testing.assert_close(e.raw["features"][0], x[0, 0])
    torch.testing.assert_close(e.maps[0], normalize(x[:, 0])[0])
    assert cam.last_path == "affine"  # the readout is linear in A: one gradient, no copies
    copies = AblationCAM(model, "features", affine=False)
    torch.testing.assert_close(copies.explain(x, [ClassTarget(0)]).raw["features"][0], x[0, 0])
    assert copies.last_path == "head-once"


def test_ablationcam_negative_score_divides_by_its_magnitude(readout):
    # Class 1 has W = -G: y = -5, ablating channel 0 raises it to 0. That channel speaks against
    # class 1: camlens gives it weight -5/|-5| = -1 (map 0); the paper's y^c division gives +1.
    model, x = readout
    ours = AblationCAM(model, "features").explain(x, [1])
    assert torch.equal(ours.raw["features"], torch.zeros(1, 2, 2))
    plain = AblationCAM(model, "features", denominator="plain").explain(x, [1])
    torch.testing.assert_close(plain.raw["features"][0], x[0, 0])


def test_near_zero_score_is_clamped_and_warns(readout):
    # W[0] = (G0, -5 at (0,0)): contributions 5 and -5, so y = 0, y_0 = -5, y_1 = 5.
    model, x = readout
    with torch.no_grad():
        model.weight[0, 1] = torch.tensor([[-5.0, 0.0], [0.0, 0.0]])
    with pytest.warns(NearZeroScoreWarning, match="near zero"):
        e = AblationCAM(model, "features").explain(x, [0])
    # denominator = 1e-3 · max(|y|, |y_k|) = 5e-3: w = (5, -5) / 5e-3
    expected = torch.relu(1000.0 * x[0, 0] - 1000.0 * x[0, 1])
    torch.testing.assert_close(e.raw["features"][0], expected)
    assert torch.isfinite(e.maps).all()
    plain = AblationCAM(model, "features", denominator="plain").explain(x, [0])
    assert not torch.isfinite(plain.raw["features"]).all()  # 5/0, -5/0: pytorch-grad-cam's inf


def test_small_cnn_matches_brute_force_reference(small_cnn, images):
    x = images[:2]
    cam = AblationCAM(small_cnn, "conv2", batch_size=3)
    e = cam.explain(x, [1, 4])
    assert cam.last_path == "head-once"
    for b, c in enumerate([1, 4]):
        y = float(e.scores[b])
        yk = reference_scores(small_cnn, small_cnn.conv2, x[b : b + 1], c, 8)
        w = (y - yk) / abs(y)
        # conv2 is followed by an in-place ReLU: the raw map uses conv2's output, as captured
        expected = torch.relu((w[:, None, None] * layer_output(small_cnn, "conv2", x, b)).sum(0))
        torch.testing.assert_close(e.raw["conv2"][b], expected, atol=1e-5, rtol=1e-4)


def test_tail_and_full_paths_give_the_same_maps(small_cnn, images):
    x = images[:2]
    tail = AblationCAM(small_cnn, "conv3")
    full = AblationCAM(small_cnn, "conv3", tail=False)
    a, b = tail.explain(x, [0, 3]), full.explain(x, [0, 3])
    assert (tail.last_path, full.last_path) == ("head-once", "full")
    torch.testing.assert_close(a.raw["conv3"], b.raw["conv3"], atol=1e-5, rtol=1e-5)


def test_dense_concat_takes_the_full_path():
    torch.manual_seed(0)
    model = Dense().eval()
    x = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    cam = AblationCAM(model, "block")
    e = cam.explain(x, [2, 3])
    assert cam.last_path == "full" and cam.paths == {"block": "full"}
    for b, c in enumerate([2, 3]):
        yk = reference_scores(model, model.block, x[b : b + 1], c, 4)
        y = float(e.scores[b])
        w = (y - yk) / abs(y)
        expected = torch.relu((w[:, None, None] * layer_output(model, "block", x, b)).sum(0))
        torch.testing.assert_close(e.raw["block"][b], expected, atol=1e-5, rtol=1e-4)
    assert no_hooks(model)


@pytest.mark.parametrize(
    ("arch", "layer", "size"),
    [("resnet18", "layer4", 64), ("mobilenet_v3_small", "features.3", 32)],
)
def test_matches_pytorch_grad_cam(arch, layer, size):
    # resnet18 layer4 (after ReLU, min 0): ablation by 0. mobilenet_v3_small features.3 (an
    # inverted residual block, negative outputs): pytorch-grad-cam ablates the j-th copy of a
    # chunk with min - (j+1)·1e7. (Not a layer followed by an in-place op such as a BasicBlock's
    # bn2: pytorch-grad-cam keeps its activations by reference, and the in-place op rewrites them.)
    from pytorch_grad_cam import AblationCAM as TheirAblationCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    torch.manual_seed(0)
    model = getattr(torchvision.models, arch)(num_classes=10).eval()
    x = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(2))
    # layer4's minimum is 0, so the chunk size does not change the numbers: 128 keeps it cheap
    batch_size = 128 if layer == "layer4" else 32
    cam = PGCAblationCAM(model, layer, batch_size=batch_size)
    ours = cam(x, [6])
    # layer4 -> avgpool -> fc is affine: one gradient; mobilenet's classifier has hardswish
    assert cam.last_path == ("affine" if layer == "layer4" else "head-once")
    module = model.get_submodule(layer)
    theirs = TheirAblationCAM(model, [module], batch_size=batch_size)(
        x, [ClassifierOutputTarget(6)]
    )
    torch.testing.assert_close(ours, torch.from_numpy(theirs), atol=1e-4, rtol=0)


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_ratio_channels_to_ablate_matches_pytorch_grad_cam():
    from pytorch_grad_cam import AblationCAM as TheirAblationCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=10).eval()
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    cam = PGCAblationCAM(model, "layer2", ratio_channels_to_ablate=0.25)
    ours = cam(x, [6])
    theirs = TheirAblationCAM(model, [model.layer2], ratio_channels_to_ablate=0.25)(
        x, [ClassifierOutputTarget(6)]
    )
    torch.testing.assert_close(ours, torch.from_numpy(theirs), atol=1e-4, rtol=0)


def test_model_restored_when_a_call_fails(small_cnn, images):
    calls = []

    def failing(output):
        calls.append(1)
        if len(calls) > 1:  # the capture scores once, then the ablated copies fail
            raise RuntimeError("target failed")
        return output[0]

    before = small_cnn(images[:1]).detach()
    for tail in (True, False):
        calls.clear()
        with pytest.raises(RuntimeError, match="target failed"):
            AblationCAM(small_cnn, "conv2", tail=tail)(images[:1], [failing])
        assert no_hooks(small_cnn)
        assert all(p.requires_grad for p in small_cnn.parameters())
        torch.testing.assert_close(small_cnn(images[:1]).detach(), before)


def test_chunks_respect_batch_size_and_memory_budget(small_cnn, images):
    counting = CountingFC(small_cnn.fc)
    small_cnn.fc = counting
    try:
        x = images[:2]
        cam = AblationCAM(small_cnn, "conv3", batch_size=5)
        reference = cam.explain(x, [1, 2]).raw["conv3"]
        assert counting.batches[0] == 2  # the capture
        # 16 ablated copies per image, one unablated copy that checks the reused head, and once
        # the copy whose gradient pass finds the tail not affine (ReLU): the next image skips it
        assert cam.last_path == "head-once"
        assert max(counting.batches[1:]) == 5 and sum(counting.batches[1:]) == 2 * (16 + 1) + 1
        per_copy = cam.copy_bytes(x, 0, "tail")
        assert per_copy >= 16 * 8 * 8 * 4  # at least conv3's output for one copy
        budget = AblationCAM(small_cnn, "conv3", max_memory=4 * per_copy + per_copy // 2)
        counting.batches.clear()
        e = budget.explain(x, [1, 2])
        copies = [b for b in counting.batches[1:] if b != 1]  # 1: the capture's and probe's
        assert max(copies) == 4 and sum(counting.batches[1:]) >= 2 * 16
        torch.testing.assert_close(e.raw["conv3"], reference, atol=1e-5, rtol=1e-5)
    finally:
        small_cnn.fc = counting.fc


def test_progress_bar_only_when_asked(readout, capsys):
    model, x = readout
    AblationCAM(model, "features")(x, [0])
    assert capsys.readouterr().err == ""
    AblationCAM(model, "features", progress=True)(x, [0])
    assert "AblationCAM features" in capsys.readouterr().err


def test_rejects_bad_options(small_cnn):
    with pytest.raises(ValueError, match="ablation_value must be"):
        AblationCAM(small_cnn, "conv3", ablation_value="min")
    with pytest.raises(ValueError, match="denominator must be"):
        AblationCAM(small_cnn, "conv3", denominator="relative")
    with pytest.raises(ValueError, match=r"ratio_channels_to_ablate must be in \(0, 1\]"):
        AblationCAM(small_cnn, "conv3", ratio_channels_to_ablate=0.0)


class CountingStem(nn.Module):
    """Counts the images its forward computes (the part of the network before the layer)."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module
        self.images = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.images += x.shape[0]
        return self.module(x)


def test_the_part_before_the_layer_runs_once_per_image_whatever_the_chunk(small_cnn, images):
    # Issue #12, item 9: with chunks of 3 of conv3's 16 channels the network before conv3 ran 6
    # times per image. It now runs once, in the capture pass: every chunk of ablated copies is
    # fed from its recorded outputs ("head-once"); the maps are the full re-run's.
    x = images[:2]
    small_cnn.conv1 = CountingStem(small_cnn.conv1)
    cam = AblationCAM(small_cnn, "conv3", batch_size=3)
    e = cam.explain(x, [0, 3])
    assert cam.last_path == "head-once" and cam.paths == {"conv3": "head-once"}
    assert small_cnn.conv1.images == 2  # the capture pass of the batch of 2, nothing more
    full = AblationCAM(small_cnn, "conv3", tail=False).explain(x, [0, 3])
    torch.testing.assert_close(e.raw["conv3"], full.raw["conv3"], atol=1e-5, rtol=1e-5)
    assert no_hooks(small_cnn) and "forward" not in vars(small_cnn.conv2)


class InPlaceSkip(nn.Module):
    """The stem's output is changed in place after the target layer ran: the recorded output
    no longer holds what the layer saw, so the head is not reused ("tail": it runs again)."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, padding=1)
        self.block = nn.Conv2d(4, 4, 3, padding=1)
        self.head = nn.Linear(4, 5)

    def forward(self, x):
        s = self.stem(x)
        b = torch.relu(self.block(s))
        return self.head((b + s.mul_(0.5)).mean(dim=(2, 3)))


def test_outputs_changed_in_place_after_the_layer_fall_back_to_running_the_head_again():
    torch.manual_seed(0)
    model = InPlaceSkip().eval()
    x = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    cam = AblationCAM(model, "block", batch_size=2)
    e = cam.explain(x, [2, 3])
    assert cam.last_path == "tail"
    full = AblationCAM(model, "block", tail=False).explain(x, [2, 3])
    torch.testing.assert_close(e.raw["block"], full.raw["block"], atol=1e-5, rtol=1e-5)
    for b, c in enumerate([2, 3]):
        yk = reference_scores(model, model.block, x[b : b + 1], c, 4)
        w = (float(e.scores[b]) - yk) / abs(float(e.scores[b]))
        expected = torch.relu((w[:, None, None] * layer_output(model, "block", x, b)).sum(0))
        torch.testing.assert_close(e.raw["block"][b], expected, atol=1e-5, rtol=1e-4)
    assert no_hooks(model) and all("forward" not in vars(m) for m in model.modules())


def test_compat_batches_of_batch_size_share_forward_passes_with_its_numbers():
    # pytorch-grad-cam's ablation values depend on a copy's place in its batch of batch_size
    # (min - (j+1)·1e7 where the minimum is negative, as in mobilenet_v3_small features.3). The
    # compat class gives every copy that value but runs many such batches per forward pass.
    from pytorch_grad_cam import AblationCAM as TheirAblationCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    from camlens.compat.pytorch_grad_cam import AblationCAM as CompatAblationCAM

    torch.manual_seed(0)
    model = torchvision.models.mobilenet_v3_small(num_classes=10).eval()
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    module = model.get_submodule("features.3")
    batches: list[int] = []
    handle = model.classifier.register_forward_pre_hook(
        lambda m, args: batches.append(args[0].shape[0])
    )
    try:
        cam = CompatAblationCAM(model, [module], batch_size=4)
        ours = cam(x, [ClassifierOutputTarget(6)])
    finally:
        handle.remove()
    channels = module.block[-1][0].out_channels
    assert cam.last_path == "head-once" and channels > 8
    # the capture, the check copy, the gradient pass (hardswish: not affine), then the ablated
    # copies in passes of more than 4
    assert batches[:3] == [1, 1, 1] and sum(batches[3:]) == channels and max(batches[3:]) > 4
    theirs = TheirAblationCAM(model, [module], batch_size=4)(x, [ClassifierOutputTarget(6)])
    torch.testing.assert_close(torch.from_numpy(ours), torch.from_numpy(theirs), atol=1e-4, rtol=0)


class AffineTail(nn.Module):
    """stem -> block (a conv without ReLU: negative outputs) -> avgpool -> fc: the network after
    ``block`` is affine in its output."""

    def __init__(self, channels: int = 6):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU())
        self.block = nn.Conv2d(4, channels, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, 5)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.block(self.stem(x))), 1))


class BranchingTail(AffineTail):
    """Affine operations only, but which ones depends on the layer's values (``.item()``)."""

    def forward(self, x):
        a = self.block(self.stem(x))
        pooled = torch.flatten(self.pool(a), 1)
        if float(a.mean()) > -1e9:  # always true here, but a branch on the values
            pooled = pooled * 2.0
        return self.fc(pooled)


def test_affine_tail_takes_every_ablated_score_from_one_gradient():
    # Issue #12, item 9: with an affine tail, y_k = y - Σ_ij G_kij (A_kij - v) for all k at
    # once. Same maps as scoring every ablated copy, and as the hook-by-hook reference; the
    # network after the layer ran on 1 + 1 + 2 copies (check, gradient, two probes), not C.
    torch.manual_seed(0)
    model = AffineTail().eval()
    x = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    counting = CountingFC(model.fc)
    model.fc = counting
    cam = AblationCAM(model, "block", batch_size=2)
    e = cam.explain(x, [2, 3])
    assert cam.last_path == "affine"
    assert sum(counting.batches[1:]) == 2 * (1 + 1 + 2)
    copies = AblationCAM(model, "block", batch_size=2, affine=False)
    ref = copies.explain(x, [2, 3])
    assert copies.last_path == "head-once"
    torch.testing.assert_close(e.raw["block"], ref.raw["block"], atol=1e-5, rtol=1e-5)
    for b, c in enumerate([2, 3]):
        yk = reference_scores(model, model.block, x[b : b + 1], c, 6)
        w = (float(e.scores[b]) - yk) / abs(float(e.scores[b]))
        expected = torch.relu((w[:, None, None] * layer_output(model, "block", x, b)).sum(0))
        torch.testing.assert_close(e.raw["block"][b], expected, atol=1e-5, rtol=1e-4)
    assert no_hooks(model)
    assert all(p.requires_grad for p in model.parameters())


def test_affine_tail_with_pytorch_grad_cam_values_matches_it():
    # block's minimum is negative: pytorch-grad-cam sets copy j of each batch of batch_size to
    # min - (j+1)·1e7. The one-gradient path gives each channel the value its copy would get.
    from pytorch_grad_cam import AblationCAM as TheirAblationCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    from camlens.compat.pytorch_grad_cam import AblationCAM as CompatAblationCAM

    torch.manual_seed(0)
    model = AffineTail(channels=10).eval()
    x = torch.randn(1, 3, 8, 8, generator=torch.Generator().manual_seed(3))
    cam = CompatAblationCAM(model, [model.block], batch_size=4)
    ours = cam(x, [ClassifierOutputTarget(1)])
    assert cam.last_path == "affine"
    theirs = TheirAblationCAM(model, [model.block], batch_size=4)(x, [ClassifierOutputTarget(1)])
    torch.testing.assert_close(torch.from_numpy(ours), torch.from_numpy(theirs), atol=1e-4, rtol=0)


@pytest.mark.filterwarnings("ignore:Converting a tensor with requires_grad:UserWarning")
def test_values_read_by_python_code_after_the_layer_are_not_taken_as_affine():
    torch.manual_seed(0)
    model = BranchingTail().eval()
    x = torch.randn(1, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    cam = AblationCAM(model, "block")
    e = cam.explain(x, [2])
    assert cam.last_path == "head-once"
    yk = reference_scores(model, model.block, x, 2, 6)
    w = (float(e.scores[0]) - yk) / abs(float(e.scores[0]))
    expected = torch.relu((w[:, None, None] * layer_output(model, "block", x, 0)).sum(0))
    torch.testing.assert_close(e.raw["block"][0], expected, atol=1e-5, rtol=1e-4)


def test_affine_check_reads_the_operations_that_ran():
    from camlens.core.affine import AffineCheck

    weight = torch.randn(3, 4)

    def verdict(fn):
        a = torch.randn(2, 4)
        with AffineCheck() as check:
            check.track(a)
            fn(a)
        return check.affine

    assert verdict(lambda a: (a @ weight.T + 1.0).sum(0)[1] * 3 - a.mean())
    assert verdict(lambda a: torch.cat([a, weight[:2]], 1).flatten()[a.shape[0]])
    assert not verdict(torch.relu)
    assert not verdict(lambda a: torch.softmax(a, 1))
    assert not verdict(lambda a: a * a)  # both factors derive from A
    assert not verdict(lambda a: weight[:2] / a)  # A in the divisor
    assert not verdict(lambda a: a[0, a.argmax()])  # an index computed from A
    assert not verdict(lambda a: a.add_(1.0))
    assert not verdict(lambda a: a if bool(a.sum() > 0) else -a)
    assert not verdict(lambda a: a * 2 if a.sum().tolist() > 0 else a)  # read into Python
    assert not verdict(lambda a: a.data * 2)  # no gradient through .data


@pytest.mark.parametrize("patch", [8, 4])  # 17 tokens < 32 channels (an IndexError before);
def test_vit_tokens_ablate_channels_of_the_grid_tokens(patch):  # 65 > 32 (tokens ablated before)
    from timm.models.vision_transformer import VisionTransformer

    torch.manual_seed(0)
    model = VisionTransformer(
        img_size=32, patch_size=patch, embed_dim=32, depth=2, num_heads=2, num_classes=10
    ).eval()
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(3))
    layer = model.blocks[1].norm1
    side = 32 // patch
    e = AblationCAM(model, "blocks.1.norm1").explain(x, [3])
    # brute force: channel k of the grid tokens (the class token is not part of the map) set to
    # 0, w_k = (y - y_k) / |y|, map = ReLU(Σ_k w_k A^k) on the (32, side, side) grid
    grid = layer_output(model, "blocks.1.norm1", x, 0)[1:].T.reshape(32, side, side)
    y = float(e.scores[0])
    drops = []
    for k in range(32):

        def ablate(mod, inputs, output, k=k):
            output = output.clone()
            output[:, 1:, k] = 0
            return output

        handle = layer.register_forward_hook(ablate)
        with torch.no_grad():
            drops.append(y - float(model(x)[0, 3]))
        handle.remove()
    w = torch.tensor(drops) / abs(y)
    expected = torch.relu((w[:, None, None] * grid).sum(0))
    torch.testing.assert_close(e.raw["blocks.1.norm1"][0], expected, atol=1e-5, rtol=1e-4)
