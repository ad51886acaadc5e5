"""ONNX Runtime models: camlens' forward-only methods against the floor, in the same run.

    /work/main/.venv/bin/python bench/bench_onnx.py               # ResNet-18, 112 px, 3 rounds
    /work/main/.venv/bin/python bench/bench_onnx.py --size 224 --repeats 5
    /work/main/.venv/bin/python bench/bench_onnx.py --arch mobilenet_v2 --size 224  # #15's model

Set-up: torchvision ResNet-18 (``--arch``: or MobileNetV2, the architecture of #15's real
model; random weights, seed 0, eval mode: the time does not depend on them) exported with
``torch.onnx.export`` (dynamic batch) and run by one ``onnxruntime.InferenceSession`` with one
intra-op thread; camlens gets that session (so it makes its sessions with the same options).
Input ``(1, 3, S, S)`` seeded.

- Score-CAM at ``/layer4/layer4.1/relu_1/Relu_output_0`` (512 channels; MobileNetV2:
  ``/features/features.18/features.18.2/Clip_output_0``, 1,280 channels): N = channels masked inputs
  scored in chunks of ``--batch``; the floor is N inputs (prepared beforehand, as numpy)
  through the same graph at the same batch size.
- RISE with N = ``--masks`` masks, chunks of ``--batch``; the floor: N inputs at that batch.
- LIME with N = ``--lime-samples`` perturbed samples (default 1,000: lime's and camlens'
  default; lime's quickshift superpixels, kernel and ridge), chunks of ``--batch``; the floor:
  N inputs at that batch. The segmentation is a fixed cost per image, so the ratio is largest
  at small N.
- Eigen-CAM at the same layer; the floor: one session run of the input (``--calls`` calls of
  each timed together: one call is a few milliseconds). A second row times a bound, not
  camlens: the same map from camlens' session in the fewest torch ops (``fewest_ops_eigencam``).

With Eigen-CAM, the bench also prints what one small torch op costs right after a session run
and right after another op: after a run the caches are cold, and every op of the post-processing
(the principal component, its sign, upsampling, normalising) pays that price.

Each round times every entry once (interleaved, so load from other processes hits all alike);
the table shows the median over rounds of the process CPU time (one thread: CPU time is the
work done) and of the wall time, and the ratio camlens / floor of the CPU medians.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
import warnings

import numpy as np
import onnxruntime as ort
import torch

import camlens
from camlens.pixel import RISE

#: architecture -> (the layer explained, its channels)
ARCHS = {
    "resnet18": ("/layer4/layer4.1/relu_1/Relu_output_0", 512),
    "mobilenet_v2": ("/features/features.18/features.18.2/Clip_output_0", 1280),
}
LAYER = ARCHS["resnet18"][0]


def export(size: int, arch: str = "resnet18") -> bytes:
    import torchvision

    torch.manual_seed(0)
    model = getattr(torchvision.models, arch)(weights=None).eval()
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (torch.zeros(1, 3, size, size),),
            buffer,
            input_names=["input"],
            output_names=["logits"],
            dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
            dynamo=False,
        )
    return buffer.getvalue()


def timed(run) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    run()
    return time.process_time() - cpu, time.perf_counter() - wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", choices=sorted(ARCHS), default="resnet18")
    parser.add_argument("--size", type=int, default=112)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--masks", type=int, default=512)
    parser.add_argument("--lime-samples", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--calls", type=int, default=20, help="Eigen-CAM calls per timing")
    parser.add_argument("--methods", default="Score-CAM,RISE,LIME,Eigen-CAM")
    args = parser.parse_args()
    torch.set_num_threads(1)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(
        export(args.size, args.arch), options, providers=["CPUExecutionProvider"]
    )
    x = torch.randn(1, 3, args.size, args.size, generator=torch.Generator().manual_seed(1))
    layer, channels = ARCHS[args.arch]
    rng = np.random.default_rng(0)

    def floor(n: int) -> np.ndarray:
        inputs = rng.standard_normal((n, 3, args.size, args.size), dtype=np.float32)

        def run() -> None:
            for start in range(0, n, args.batch):
                session.run(["logits"], {"input": inputs[start : start + args.batch]})

        return run

    score = camlens.ScoreCAM(session, layer, batch_size=args.batch, skip_constant=False)
    rise = RISE(session, n_masks=args.masks, batch_size=args.batch, seed=0)
    eigen = camlens.EigenCAM(session, layer)
    lime = camlens.LIME(session, n_samples=args.lime_samples, batch_size=args.batch, seed=0)
    one = x.numpy()

    def repeated(run) -> None:
        for _ in range(args.calls):
            run()

    entries = {
        "Score-CAM": (lambda: score(x), floor(channels), f"{channels} inputs"),
        "RISE": (lambda: rise(x), floor(args.masks), f"{args.masks} inputs"),
        "LIME": (lambda: lime(x), floor(args.lime_samples), f"{args.lime_samples} inputs"),
        "Eigen-CAM": (
            lambda: repeated(lambda: eigen(x)),
            lambda: repeated(lambda: session.run(["logits"], {"input": one})),
            f"1 run ({args.calls} calls timed together)",
        ),
    }
    entries = {k: v for k, v in entries.items() if k in args.methods.split(",")}
    if "Eigen-CAM" in entries:
        capture = eigen.adapter.session([layer])  # camlens' session: logits and the layer
        fewest = fewest_ops_eigencam(capture, x, layer)
        torch.testing.assert_close(fewest(), eigen(x), atol=1e-6, rtol=0)  # the same map
        entries["Eigen-CAM in fewest torch ops (not camlens)"] = (
            lambda: repeated(fewest),
            entries["Eigen-CAM"][1],
            entries["Eigen-CAM"][2],
        )
    for method, floor_run, _ in entries.values():  # warm-up: sessions made, caches filled
        method()
        floor_run()
    samples: dict[str, dict[str, list[tuple[float, float]]]] = {
        k: {"camlens": [], "floor": []} for k in entries
    }
    for _ in range(args.repeats):
        for name, (method, floor_run, _) in entries.items():
            samples[name]["camlens"].append(timed(method))
            samples[name]["floor"].append(timed(floor_run))
    print(
        f"{args.arch} ONNX, {args.size} px, batch {args.batch}, 1 thread, "
        f"{args.repeats} rounds (median)"
    )
    print(
        "| method | floor | camlens CPU s | floor CPU s | ratio (CPU) "
        "| camlens wall s | floor wall s |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for name, (_, _, what) in entries.items():
        ours = [statistics.median(v) for v in zip(*samples[name]["camlens"], strict=True)]
        base = [statistics.median(v) for v in zip(*samples[name]["floor"], strict=True)]
        print(
            f"| {name} | {what} | {ours[0]:.3f} | {base[0]:.3f} | {ours[0] / base[0]:.3f} "
            f"| {ours[1]:.3f} | {base[1]:.3f} |"
        )
    if "Eigen-CAM" in entries:
        cold, warm = cold_op_costs(session, one)
        print(
            f"one small torch op right after a session run: {cold:.1f} us; the op after it: "
            f"{warm:.1f} us (medians of 200)"
        )


def fewest_ops_eigencam(capture: ort.InferenceSession, x: torch.Tensor, layer: str = LAYER):
    """A bound for camlens' Eigen-CAM on this session: the same map (top-1 class scored, the
    first principal component signed by the channel sums, ReLU, bilinear upsampling, min-max) in
    the fewest torch ops we found (33 aten calls; camlens makes 74), with none of camlens' checks or
    API."""
    import torch.nn.functional as F

    def run() -> torch.Tensor:
        logits, activations = capture.run(["logits", layer], {"input": x.numpy()})
        torch.from_numpy(logits).max(dim=1)  # the top-1 class and its score
        a = torch.from_numpy(activations).flatten(2).double()  # (1, C, N)
        centred = a - a.mean(dim=2, keepdim=True)
        values, vectors = torch.linalg.eigh(torch.bmm(centred.mT, centred))  # N <= C here
        p = vectors[..., -1] * values[:, -1:].sqrt()
        p = p * ((p * a.sum(dim=1)).sum() >= 0).double().mul(2).sub(1)  # agree with the sums
        m = torch.relu(p).float().view(1, 1, *activations.shape[2:])
        up = F.interpolate(m, size=x.shape[2:], mode="bilinear", align_corners=False)[:, 0]
        low, high = up.amin(), up.amax()
        return (up - low) / (high - low)

    return run


def cold_op_costs(session: ort.InferenceSession, one: np.ndarray) -> tuple[float, float]:
    """Median µs of a small torch op (an add on 512 values) right after ``session.run``, and of
    the same op right after it."""
    small = torch.zeros(512)
    cold, warm = [], []
    for _ in range(200):
        session.run(["logits"], {"input": one})
        start = time.perf_counter()
        small.add(1)
        middle = time.perf_counter()
        small.add(1)
        cold.append(middle - start)
        warm.append(time.perf_counter() - middle)
    return statistics.median(cold) * 1e6, statistics.median(warm) * 1e6


if __name__ == "__main__":
    main()
