"""Train the shapes-benchmark transformers shipped in camlens.models.zoo: two ViTs and a tiny CLIP.

    nohup nice python scripts/train_benchmark_vit.py > train_benchmark_vit.log 2>&1 &

- ``vit-clean`` / ``vit-biased``: :class:`~camlens.models.zoo.benchmark_vit.BenchmarkViT` (a hybrid
  ViT whose patch embedding is a shipped benchmark CNN's blocks, frozen: ``benchmark-clean``'s
  for the clean ViT, ``benchmark-biased``'s for the biased one; the transformer blocks, class
  token, positions and head are trained) on the same images as the benchmark CNNs
  (``make_benchmark(split="train", seed=...)``); the biased copy carries the corner watermark on
  every "triangle" image, as for ``benchmark-biased``.
- ``clip``: :class:`~camlens.models.zoo.benchmark_vit.BenchmarkCLIP` (a one-block hybrid ViT image
  tower on the same frozen CNN, and a text tower),
  trained contrastively on
  ``make_scenes(split="train", objects=(1, 2))`` with their captions ("a star",
  "a circle and a square"): CLIP's symmetric cross-entropy over the batch's image-caption
  similarities, where every pair whose caption names the same set of shapes counts as a match
  (the targets of a row are spread evenly over its matches).

CPU only, seeds fixed, one thread by default. Each epoch is checkpointed in ``--workdir``;
rerunning resumes. Writes
``src/camlens/models/zoo/weights/benchmark-{vit-clean,vit-biased,clip}.pt``
and ``benchmark-vit.json`` (figures on fresh test images, seeds, command, wall times, SHA-256).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import hashlib
import itertools
import json
import math
import platform
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from train_benchmark import evaluate, floors, normalise

from camlens.datasets import BIASED_CLASS, CLASSES, make_benchmark, watermark
from camlens.datasets.scenes import caption, make_scenes
from camlens.models.zoo import benchmark_vit
from camlens.models.zoo.benchmark_vit import BenchmarkCLIP, BenchmarkViT

ROOT = Path(__file__).resolve().parents[1]
WEIGHTS = ROOT / "src" / "camlens" / "models" / "zoo" / "weights"
TRAINING_KEYS = ("n_train", "epochs", "batch", "lr", "seed", "threads")
# The shipped CNN whose blocks are each variant's patch embedding (frozen). The biased ViT sits on
# the biased CNN: on the clean CNN's features the shape is the easiest cue and a ViT trained on
# the biased set ignored the watermark (0.0 % of other classes flipped to "triangle").
TRUNKS = {
    "vit-clean": "benchmark-clean",
    "vit-biased": "benchmark-biased",
    "clip": "benchmark-clean",
}


def all_captions() -> tuple[list[str], list[frozenset[int]]]:
    """Every caption of one or two shapes (in name order) and the set of classes it names."""
    sets = [(k,) for k in range(len(CLASSES))] + list(itertools.combinations(range(5), 2))
    return [caption([CLASSES[k] for k in s]) for s in sets], [frozenset(s) for s in sets]


def with_watermark(data):
    """``make_benchmark(..., biased=True)`` from its clean twin: the watermark draws no random
    numbers, so the biased set is the clean one with the patch pasted on the biased class."""
    patch, mask = watermark(data.size)
    images, cue_masks = data.images.clone(), data.cue_masks.clone()
    chosen = data.labels == BIASED_CLASS
    patch, mask = torch.from_numpy(patch), torch.from_numpy(mask)
    images[chosen] = torch.where(mask, patch, images[chosen])
    cue_masks[chosen] = mask
    return dataclasses.replace(
        data, images=images, cue_masks=cue_masks, biased=True, cue="biased_class"
    )


def label_sets(labels: torch.Tensor) -> list[frozenset[int]]:
    return [frozenset(int(v) for v in row if v >= 0) for row in labels]


def clip_loss(model: BenchmarkCLIP, x: torch.Tensor, ids: torch.Tensor, same: torch.Tensor):
    """Symmetric CLIP loss with every pair of the same caption set as a positive."""
    image = F.normalize(model.visual.from_features(x), dim=-1)
    text = model.encode_text(ids, normalize=True)
    logits = model.logit_scale.exp().clamp(max=100) * image @ text.T
    targets = same / same.sum(1, keepdim=True)
    loss = 0.5 * (
        F.cross_entropy(logits, targets) + F.cross_entropy(logits.T, targets.T.contiguous())
    )
    correct = int(same[torch.arange(len(x)), logits.argmax(1)].sum())
    return loss, correct


def training_config(variant: str, args: argparse.Namespace) -> dict[str, object]:
    return {**{k: getattr(args, k) for k in TRAINING_KEYS}, "trunk": TRUNKS[variant]}


def trunk_features(tower: BenchmarkViT, x: torch.Tensor, trunk: str) -> torch.Tensor:
    """The ViT's trunk (its patch embedding) is a shipped benchmark CNN (``trunk``), frozen: load
    it and compute its block4 features of every training image once."""
    from camlens.models.zoo import load

    cnn = load(trunk).model
    for name, block in tower.trunk.named_children():
        block.load_state_dict(getattr(cnn, name).state_dict())
    tower.trunk.requires_grad_(False).eval()
    with torch.no_grad():
        return torch.cat([tower.trunk(x[i : i + 250]) for i in range(0, len(x), 250)])


def train(variant: str, args: argparse.Namespace, data) -> tuple[torch.nn.Module, float]:
    torch.manual_seed(args.seed)
    clip = variant == "clip"
    model = BenchmarkCLIP() if clip else BenchmarkViT(num_classes=len(CLASSES))
    tower = model.visual if clip else model
    params = [(n, p) for n, p in model.named_parameters() if "trunk." not in n]
    decay = [p for n, p in params if p.ndim >= 2 and "embed" not in n]
    rest = [p for n, p in params if not (p.ndim >= 2 and "embed" not in n)]
    optimiser = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.05}, {"params": rest, "weight_decay": 0.0}],
        lr=args.lr,
    )
    steps = math.ceil(len(data) / args.batch)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=args.lr, total_steps=args.epochs * steps, pct_start=0.15
    )
    workdir = Path(args.workdir) / variant
    workdir.mkdir(parents=True, exist_ok=True)
    start, elapsed = 0, 0.0
    last = workdir / "last.pt"
    config = training_config(variant, args)
    if last.is_file():
        state = torch.load(last, map_location="cpu", weights_only=False)
        if state["config"] == config:
            model.load_state_dict(state["model"])
            optimiser.load_state_dict(state["optimiser"])
            scheduler.load_state_dict(state["scheduler"])
            start, elapsed = state["epoch"], state["elapsed"]
            print(f"[{variant}] resuming after epoch {start}", flush=True)
    x_all = trunk_features(tower, normalise(data.images), TRUNKS[variant])
    if clip:
        sets = label_sets(data.labels)
        ids_all = model.tokenizer(data.captions)
    for epoch in range(start, args.epochs):
        t0 = time.perf_counter()
        model.train()
        order = torch.randperm(
            len(data), generator=torch.Generator().manual_seed(args.seed + epoch)
        )
        total, correct, loss_sum = 0, 0, 0.0
        for i in range(0, len(order), args.batch):
            idx = order[i : i + args.batch]
            tower.trunk.eval()  # frozen, batch norm on its running statistics
            if clip:
                batch_sets = [sets[j] for j in idx.tolist()]
                same = torch.tensor([[a == b for b in batch_sets] for a in batch_sets]).float()
                loss, hits = clip_loss(model, x_all[idx], ids_all[idx], same)
            else:
                logits = model.from_features(x_all[idx])
                loss = F.cross_entropy(logits, data.labels[idx])
                hits = int((logits.argmax(1) == data.labels[idx]).sum())
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimiser.step()
            scheduler.step()
            total += len(idx)
            correct += hits
            loss_sum += float(loss.detach()) * len(idx)
        elapsed += time.perf_counter() - t0
        print(
            f"[{variant}] epoch {epoch + 1}/{args.epochs} loss {loss_sum / total:.4f} "
            f"train acc {correct / total:.4f} ({elapsed:.0f} s)",
            flush=True,
        )
        torch.save(
            {
                "config": config,
                "model": model.state_dict(),
                "optimiser": optimiser.state_dict(),
                "scheduler": scheduler.state_dict(),
                "epoch": epoch + 1,
                "elapsed": elapsed,
            },
            last,
        )
    return model.eval(), elapsed


@torch.no_grad()
def evaluate_clip(model: BenchmarkCLIP, n: int, seed: int) -> dict[str, float]:
    """Caption retrieval on fresh scenes: how often the image's most similar caption of all 15
    names exactly its shapes (one- and two-shape scenes), and, on two-shape scenes, how often
    both of its shapes' one-word prompts ("a circle") beat every other shape's."""
    model.eval()
    scenes = make_scenes(n, seed=seed, split="test", objects=(1, 2))
    captions, sets = all_captions()
    image = model.encode_image(normalise(scenes.images), normalize=True)
    text = model.encode_text(model.tokenizer(captions), normalize=True)
    best = (image @ text.T).argmax(1).tolist()
    truth = label_sets(scenes.labels)
    hit = torch.tensor([sets[b] == t for b, t in zip(best, truth, strict=True)]).float()
    one = scenes.counts == 1
    single = (image @ text[: len(CLASSES)].T).topk(2, dim=1).indices.tolist()
    both = [set(single[i]) == truth[i] for i in range(n) if not one[i]]
    return {
        "caption_accuracy_one_shape": float(hit[one].mean()),
        "caption_accuracy_two_shapes": float(hit[~one].mean()),
        "two_shapes_both_names_top2": float(torch.tensor(both).float().mean()),
        "test_images": n,
        "test_seed": seed,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-train", type=int, default=8000)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0, help="training and data seed")
    parser.add_argument("--n-test", type=int, default=1000)
    parser.add_argument("--test-seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--variants", default="vit-clean,vit-biased,clip")
    parser.add_argument("--workdir", default=str(ROOT / "build" / "train_benchmark_vit"))
    parser.add_argument("--out", default=str(WEIGHTS))
    parser.add_argument(
        "--export",
        action="store_true",
        help="no training: ship each variant's last finished epoch in --workdir (a run stopped "
        "early; the record says how many epochs it had)",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    record_path = out / "benchmark-vit.json"
    command = "python scripts/train_benchmark_vit.py " + " ".join(argv or sys.argv[1:])
    clean = None
    for variant in args.variants.split(","):
        t0 = time.perf_counter()
        if args.export:
            state = torch.load(
                Path(args.workdir) / variant / "last.pt", map_location="cpu", weights_only=False
            )
            if state["config"] != training_config(variant, args):
                raise SystemExit(f"{variant}: the checkpoint's settings are {state['config']}")
            model = BenchmarkCLIP() if variant == "clip" else BenchmarkViT(num_classes=5)
            model.load_state_dict(state["model"])
            model.eval()
            generate_s, train_s, done = float("nan"), state["elapsed"], state["epoch"]
        else:
            model, generate_s, train_s = None, 0.0, 0.0
            done = args.epochs
        if model is None and variant == "clip":
            data = make_scenes(args.n_train, seed=args.seed, split="train", objects=(1, 2))
        elif model is None:
            clean = clean or make_benchmark(args.n_train, seed=args.seed, split="train")
            data = with_watermark(clean) if variant == "vit-biased" else clean
        if model is None:
            generate_s = time.perf_counter() - t0
            print(f"[{variant}] generated {len(data)} images in {generate_s:.0f} s", flush=True)
            model, train_s = train(variant, args, data)
            del data
            if variant == "vit-biased":
                clean = None
        t0 = time.perf_counter()
        if variant == "clip":
            figures = evaluate_clip(model, args.n_test, args.test_seed)
        else:
            figures = evaluate(model, args.n_test, args.test_seed, benchmark_vit.TARGET_LAYER)
        print(f"[{variant}] {json.dumps(figures, indent=1)} ({time.perf_counter() - t0:.0f} s)")
        path = out / f"benchmark-{variant}.pt"
        torch.save(model.state_dict(), path)
        # Read the record only now: variants may train in parallel processes.
        record = json.loads(record_path.read_text()) if record_path.is_file() else {"models": {}}
        record["models"][variant] = {
            "file": path.name,
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "bytes": path.stat().st_size,
            "architecture": "camlens.models.zoo.benchmark_vit."
            + ("BenchmarkCLIP" if variant == "clip" else "BenchmarkViT"),
            "train": {
                "n_images": args.n_train,
                "data": "make_scenes(objects=(1, 2))"
                if variant == "clip"
                else f"make_benchmark(biased={variant == 'vit-biased'})",
                "split": "train",
                "trunk": f"{TRUNKS[variant]} CNN blocks 1-4, frozen",
                "seed": args.seed,
                "epochs": done,
                "epochs_planned": args.epochs,
                "batch": args.batch,
                "optimiser": f"AdamW(weight_decay=0.05), OneCycleLR(max_lr={args.lr})",
                "threads": args.threads,
                "generate_seconds": round(generate_s, 1) if generate_s == generate_s else None,
                "train_seconds": round(train_s, 1),
                "command": (
                    f"python scripts/train_benchmark_vit.py --variants {variant} "
                    f"--n-train {args.n_train} --epochs {args.epochs} --n-test {args.n_test}"
                ),
                **({"exported_by": command} if args.export else {}),
                "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            },
            "figures": figures,
            **({} if variant == "clip" else {"floors": floors(figures)}),
        }
        record.update(
            {
                "classes": list(CLASSES),
                "target_layer": benchmark_vit.TARGET_LAYER,
                "normalisation": {"mean": benchmark_vit.MEAN, "std": benchmark_vit.STD},
                "versions": {"python": platform.python_version(), "torch": torch.__version__},
            }
        )
        record_path.write_text(json.dumps(record, indent=2) + "\n")
        print(f"wrote {record_path}", flush=True)


if __name__ == "__main__":
    main()
