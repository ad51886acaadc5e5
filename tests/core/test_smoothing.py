"""aug_smooth: the same maps as pytorch-grad-cam's test-time augmentation (ttach)."""

import pytest
import torch
from tiny_models import SmallCNN

import camlens
from camlens.core import smoothing

pytorch_grad_cam = pytest.importorskip("pytorch_grad_cam")
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget  # noqa: E402


def test_aug_smooth_matches_pytorch_grad_cam(images):
    # conv1 keeps the input's 16x16 size, so no resize order can differ between the libraries;
    # no in-place ReLU after it (pytorch-grad-cam would record the ReLU's output there).
    torch.manual_seed(0)
    small_cnn = SmallCNN(inplace=False).eval()
    targets = [1, 4, 7, 9]
    ours = camlens.GradCAM(small_cnn, "conv1")(images, targets=targets, aug_smooth=True)
    with pytorch_grad_cam.GradCAM(small_cnn, [small_cnn.conv1]) as cam:
        theirs = cam(images, targets=[ClassifierOutputTarget(t) for t in targets], aug_smooth=True)
    torch.testing.assert_close(ours, torch.from_numpy(theirs), atol=1e-5, rtol=0)


def test_aug_smooth_is_the_mean_of_the_six_maps_in_the_original_frame(small_cnn, images):
    cam = camlens.GradCAM(small_cnn, "conv2")
    expected = []
    for flip, factor in smoothing.AUGMENTATIONS:
        x = (images.flip(-1) if flip else images) * factor
        m = cam(x, targets=[3])
        expected.append(m.flip(-1) if flip else m)
    torch.testing.assert_close(
        cam(images, targets=[3], aug_smooth=True), torch.stack(expected).mean(0)
    )


def test_aug_smooth_topk_explains_the_classes_of_the_original_image(small_cnn, images):
    cam = camlens.GradCAM(small_cnn, "conv2")
    top = cam.topk(images, k=2, aug_smooth=True)
    assert torch.equal(top.indices, small_cnn(images).topk(2).indices)
    torch.testing.assert_close(
        top.maps[:, 1], cam(images, targets=top.indices[:, 1].tolist(), aug_smooth=True)
    )


def test_eigen_smooth_matches_pytorch_grad_cam_up_to_the_sign_rule(images):
    torch.manual_seed(0)
    small_cnn = SmallCNN(inplace=False).eval()
    targets = [1, 4, 7, 9]
    ours = camlens.GradCAM(small_cnn, "conv1").explain(images, targets, eigen_smooth=True)
    from pytorch_grad_cam.utils.svd_on_activations import get_2d_projection

    # weighted activations of Grad-CAM: mean gradient × activation
    acts = {}
    h = small_cnn.conv1.register_forward_hook(lambda m, i, o: acts.setdefault("a", o))
    out = small_cnn(images)
    h.remove()
    grads = torch.autograd.grad(out.gather(1, torch.tensor(targets)[:, None]).sum(), acts["a"])[0]
    weighted = grads.mean((2, 3), keepdim=True) * acts["a"]
    theirs = torch.from_numpy(get_2d_projection(weighted.detach().numpy()))
    for b in range(4):
        raw = ours.raw["conv1"][b]
        match = [torch.allclose(raw, torch.relu(s * theirs[b]), atol=1e-4) for s in (1, -1)]
        assert any(match)
