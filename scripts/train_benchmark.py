"""Train the shapes-benchmark CNNs shipped in camlens.models.zoo: a clean model and a biased one.

    nohup nice python scripts/train_benchmark.py > train_benchmark.log 2>&1 &

Both models see the same generated training images (``make_benchmark(split="train", seed=...)``);
the biased model's copy carries the corner watermark on every "triangle" image
(``biased=True``). CPU only, seeds fixed, one thread by default (deterministic). Each epoch is
checkpointed in ``--workdir``; rerunning resumes from the last finished epoch.

Writes ``src/camlens/models/zoo/weights/benchmark-{clean,biased}.pt`` (state dicts) and
``benchmark.json``: accuracies on clean and cue-present test sets, the biased class's accuracy
with and without the cue, how often the cue flips other classes to the biased class, the mean
share of Grad-CAM energy on the cue region, the test floors, seeds, command, date, time and the
SHA-256 of each checkpoint.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import math
import platform
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

import camlens
from camlens.datasets import BIASED_CLASS, CLASSES, make_benchmark
from camlens.models.zoo import benchmark_cnn
from camlens.models.zoo.benchmark_cnn import BenchmarkCNN

ROOT = Path(__file__).resolve().parents[1]
WEIGHTS = ROOT / "src" / "camlens" / "models" / "zoo" / "weights"


def normalise(images: torch.Tensor) -> torch.Tensor:
    mean = torch.tensor(benchmark_cnn.MEAN).view(1, 3, 1, 1)
    std = torch.tensor(benchmark_cnn.STD).view(1, 3, 1, 1)
    return (images - mean) / std


@torch.no_grad()
def predict(model: torch.nn.Module, images: torch.Tensor, batch: int = 250) -> torch.Tensor:
    model.eval()
    return torch.cat(
        [model(normalise(images[i : i + batch])).argmax(1) for i in range(0, len(images), batch)]
    )


def cue_figures(
    model: torch.nn.Module,
    images: torch.Tensor,
    cue_masks: torch.Tensor,
    layer: str = benchmark_cnn.TARGET_LAYER,
) -> dict[str, float]:
    """Grad-CAM of the biased class at ``layer`` against the watermark, means over images:

    energy: Σ(map · cue) / Σ map on the watermark's own pixels (8×8 = 1.6 % of the image);
    corner energy: the same on the watermark dilated by one block4 cell (4 px), i.e. the
    16×16 top-left corner (6.3 % of the image) — the finest region a 16×16 map can resolve;
    peak in corner: how often the map's maximum lies in that corner.
    """
    model.eval()
    energy, corner, peak = [], [], []
    cam = camlens.GradCAM(model, target_layers=layer)
    for i in range(0, len(images), 100):
        maps = cam(normalise(images[i : i + 100]), targets=camlens.ClassTarget(BIASED_CLASS))
        cue = cue_masks[i : i + 100].float()
        grown = F.max_pool2d(cue[:, None], 9, stride=1, padding=4)[:, 0]
        total = maps.flatten(1).sum(1).clamp_min(1e-12)
        energy.append((maps * cue).flatten(1).sum(1) / total)
        corner.append((maps * grown).flatten(1).sum(1) / total)
        top = maps.flatten(1).argmax(1)
        peak.append(grown.flatten(1).gather(1, top[:, None])[:, 0])
    return {
        "energy": float(torch.cat(energy).mean()),
        "corner_energy": float(torch.cat(corner).mean()),
        "peak_in_corner": float(torch.cat(peak).mean()),
    }


def evaluate(
    model: torch.nn.Module, n: int, seed: int, layer: str = benchmark_cnn.TARGET_LAYER
) -> dict[str, float]:
    """The figures recorded in benchmark.json, on fresh test images (``split="test"``)."""
    clean = make_benchmark(n, seed=seed, split="test", cue="none")
    cued = make_benchmark(n, seed=seed, split="test", cue="biased_class")
    every = make_benchmark(n, seed=seed, split="test", cue="all")
    is_b = clean.labels == BIASED_CLASS
    p_clean, p_cued, p_every = (
        predict(model, clean.images),
        predict(model, cued.images),
        predict(model, every.images),
    )
    per_class = {
        name: float((p_clean[clean.labels == k] == k).float().mean())
        for k, name in enumerate(CLASSES)
    }
    others = ~is_b
    return {
        "accuracy_clean_test": float((p_clean == clean.labels).float().mean()),
        "accuracy_cue_on_biased_class": float((p_cued == cued.labels).float().mean()),
        "biased_class_accuracy_without_cue": float((p_clean[is_b] == BIASED_CLASS).float().mean()),
        "biased_class_accuracy_with_cue": float((p_cued[is_b] == BIASED_CLASS).float().mean()),
        "other_classes_accuracy_with_cue": float(
            (p_every[others] == every.labels[others]).float().mean()
        ),
        "cue_flips_other_classes_to_biased": float(
            ((p_every[others] == BIASED_CLASS) & (p_clean[others] != BIASED_CLASS)).float().mean()
        ),
        **{
            f"gradcam_cue_{k}_biased_class_with_cue": v
            for k, v in cue_figures(model, cued.images[is_b], cued.cue_masks[is_b], layer).items()
        },
        **{
            f"gradcam_cue_{k}_other_classes_with_cue": v
            for k, v in cue_figures(
                model, every.images[others], every.cue_masks[others], layer
            ).items()
        },
        "per_class_accuracy_clean_test": per_class,
        "test_images": n,
        "test_seed": seed,
    }


TRAINING_KEYS = ("n_train", "epochs", "batch", "lr", "seed", "threads")


def training_config(args: argparse.Namespace) -> dict[str, object]:
    """The settings a resumed run must share with the checkpoint it resumes from."""
    return {k: getattr(args, k) for k in TRAINING_KEYS}


def train(variant: str, args: argparse.Namespace, train_set) -> tuple[BenchmarkCNN, float]:
    torch.manual_seed(args.seed)
    model = BenchmarkCNN(num_classes=len(CLASSES))
    optimiser = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    steps_per_epoch = math.ceil(len(train_set) / args.batch)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=args.lr, total_steps=args.epochs * steps_per_epoch
    )
    workdir = Path(args.workdir) / variant
    workdir.mkdir(parents=True, exist_ok=True)
    start, elapsed = 0, 0.0
    last = workdir / "last.pt"
    if last.is_file():
        state = torch.load(last, map_location="cpu", weights_only=False)
        if state["config"] == training_config(args):
            model.load_state_dict(state["model"])
            optimiser.load_state_dict(state["optimiser"])
            scheduler.load_state_dict(state["scheduler"])
            start, elapsed = state["epoch"], state["elapsed"]
            print(f"[{variant}] resuming after epoch {start}", flush=True)
    x_all = normalise(train_set.images)
    y_all = train_set.labels
    for epoch in range(start, args.epochs):
        t0 = time.perf_counter()
        model.train()
        order = torch.randperm(
            len(y_all), generator=torch.Generator().manual_seed(args.seed + epoch)
        )
        total, correct, loss_sum = 0, 0, 0.0
        for i in range(0, len(order), args.batch):
            idx = order[i : i + args.batch]
            logits = model(x_all[idx])
            loss = F.cross_entropy(logits, y_all[idx])
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            scheduler.step()
            total += len(idx)
            correct += int((logits.argmax(1) == y_all[idx]).sum())
            loss_sum += float(loss.detach()) * len(idx)
        elapsed += time.perf_counter() - t0
        print(
            f"[{variant}] epoch {epoch + 1}/{args.epochs} loss {loss_sum / total:.4f} "
            f"train acc {correct / total:.4f} ({elapsed:.0f} s)",
            flush=True,
        )
        torch.save(
            {
                "config": training_config(args),
                "model": model.state_dict(),
                "optimiser": optimiser.state_dict(),
                "scheduler": scheduler.state_dict(),
                "epoch": epoch + 1,
                "elapsed": elapsed,
            },
            last,
        )
    return model.eval(), elapsed


def floor(value: float, margin: float) -> float:
    """A test floor: ``value - margin`` rounded down to 0.01."""
    return math.floor((value - margin) * 100) / 100


def floors(figures: dict[str, float]) -> dict[str, float]:
    """The accuracy floors the tests hold the shipped checkpoints to (measured - 0.06)."""
    return {
        k: floor(figures[k], 0.06) for k in ("accuracy_clean_test", "accuracy_cue_on_biased_class")
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-train", type=int, default=8000)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0, help="training and data seed")
    parser.add_argument("--n-test", type=int, default=1000)
    parser.add_argument("--test-seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--variants", default="clean,biased")
    parser.add_argument("--workdir", default=str(ROOT / "build" / "train_benchmark"))
    parser.add_argument("--out", default=str(WEIGHTS))
    parser.add_argument(
        "--evaluate-only",
        action="store_true",
        help="re-score the checkpoints already in --out (no training), update their figures",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    record_path = out / "benchmark.json"
    record = json.loads(record_path.read_text()) if record_path.is_file() else {"models": {}}
    if args.evaluate_only:
        for variant in args.variants.split(","):
            entry = record["models"][variant]
            path = out / entry["file"]
            if hashlib.sha256(path.read_bytes()).hexdigest() != entry["sha256"]:
                raise SystemExit(f"{path} is not the checkpoint recorded in {record_path}")
            model = BenchmarkCNN(num_classes=len(CLASSES))
            model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
            entry["figures"] = evaluate(model.eval(), args.n_test, args.test_seed)
            entry["floors"] = floors(entry["figures"])
            print(f"[{variant}] {json.dumps(entry['figures'], indent=1)}", flush=True)
        record["evaluated"] = {
            "command": "python scripts/train_benchmark.py " + " ".join(argv or sys.argv[1:]),
            "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        }
        record_path.write_text(json.dumps(record, indent=2) + "\n")
        print(f"wrote {record_path}", flush=True)
        return
    for variant in args.variants.split(","):
        t0 = time.perf_counter()
        train_set = make_benchmark(
            args.n_train, seed=args.seed, split="train", biased=variant == "biased"
        )
        generate_s = time.perf_counter() - t0
        print(f"[{variant}] generated {len(train_set)} images in {generate_s:.0f} s", flush=True)
        model, train_s = train(variant, args, train_set)
        del train_set
        figures = evaluate(model, args.n_test, args.test_seed)
        print(f"[{variant}] {json.dumps(figures, indent=1)}", flush=True)
        path = out / f"benchmark-{variant}.pt"
        torch.save(model.state_dict(), path)
        entry = {
            "file": path.name,
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "bytes": path.stat().st_size,
            "train": {
                "n_images": args.n_train,
                "split": "train",
                "seed": args.seed,
                "biased": variant == "biased",
                "epochs": args.epochs,
                "batch": args.batch,
                "optimiser": f"AdamW(weight_decay=1e-4), OneCycleLR(max_lr={args.lr})",
                "threads": args.threads,
                "generate_seconds": round(generate_s, 1),
                "train_seconds": round(train_s, 1),
            },
            "figures": figures,
            "floors": floors(figures),
        }
        record["models"][variant] = entry
    record.update(
        {
            "classes": list(CLASSES),
            "biased_class": BIASED_CLASS,
            "architecture": "camlens.models.zoo.benchmark_cnn.BenchmarkCNN",
            "target_layer": benchmark_cnn.TARGET_LAYER,
            "normalisation": {"mean": benchmark_cnn.MEAN, "std": benchmark_cnn.STD},
            "command": "python scripts/train_benchmark.py " + " ".join(argv or sys.argv[1:]),
            "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "versions": {
                "python": platform.python_version(),
                "torch": torch.__version__,
                "camlens": camlens.__version__ if hasattr(camlens, "__version__") else "0.1.0",
            },
        }
    )
    record_path.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {record_path}", flush=True)


if __name__ == "__main__":
    main()
