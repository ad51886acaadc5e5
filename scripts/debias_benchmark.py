"""Find a shortcut with the audit, turn the finding into masks, fine-tune it away, audit again.

    python scripts/debias_benchmark.py --workdir runs/debias            # all three losses
    python scripts/debias_benchmark.py --losses rrr --epochs 2          # a quicker look

1. Audit ``benchmark-biased`` on its own training distribution (``benchmark:split=train,
   biased=1``): the audit flags "triangle" (a shared region in the top-left cell).
2. Export that finding as per-image masks (``camlens.audit.masks.shared_region_masks``): no
   knowledge of the watermark enters, only the run's findings.
3. Fine-tune the biased checkpoint on the same images with each loss of ``camlens.training``
   (RRR, CAM-energy penalty, CAM-guided swap of the flagged region), seeds fixed, one thread,
   batch-norm statistics frozen (the layers in eval mode, as is usual when fine-tuning).
4. Evaluate each model as ``scripts/train_benchmark.py`` does (clean test accuracy, unmarked
   triangles, marked non-triangles called "triangle", Grad-CAM energy on the watermark) and
   audit it again on the same data; ``compare.html`` shows the two audits side by side.

Writes ``WORKDIR/debias.json`` and prints a Markdown table (docs/training.md).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
import train_benchmark as tb

from camlens import zoo
from camlens.audit import run_audit
from camlens.audit.compare import compare_runs, comparison_text, render_comparison
from camlens.audit.masks import shared_region_masks
from camlens.datasets import make_benchmark
from camlens.models.zoo import benchmark_cnn
from camlens.training import CAMEnergyLoss, CAMGuidedAugment, RRRLoss

LOSSES = ("rrr", "cam_energy", "swap")


def audit(model_name: str, weights: str | None, spec: str, out: Path) -> dict:
    loaded = zoo.load(model_name, weights=weights)
    result = run_audit(spec, loaded, str(out), batch_size=128, workers=0, progress=False)
    return result.findings


def fine_tune(kind: str, args: argparse.Namespace, data, masks: torch.Tensor) -> tuple[str, float]:
    torch.manual_seed(args.seed)
    model = zoo.load("benchmark-biased").model
    if kind == "rrr":
        loss_fn = RRRLoss(model, right_reasons=args.rrr_weight)
    elif kind == "cam_energy":
        loss_fn = CAMEnergyLoss(model, benchmark_cnn.TARGET_LAYER, weight=args.cam_weight)
    else:
        augment = CAMGuidedAugment(
            model, benchmark_cnn.TARGET_LAYER, p=args.swap_p, mode="swap", region="mask",
            generator=torch.Generator().manual_seed(args.seed),
        )  # fmt: skip
    optimiser = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    x_all, y_all = tb.normalise(data.images), data.labels
    t0 = time.perf_counter()
    for epoch in range(args.epochs):
        model.eval()  # fine-tuning with batch-norm statistics frozen (see docs/training.md)
        order = torch.randperm(len(y_all), generator=torch.Generator().manual_seed(epoch))
        for i in range(0, len(order), args.batch):
            idx = order[i : i + args.batch]
            x, y, m = x_all[idx], y_all[idx], masks[idx]
            if kind == "swap":
                loss = F.cross_entropy(model(augment(x, y, m)), y)
            else:
                loss = loss_fn(x, y, m)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
        print(f"[{kind}] epoch {epoch + 1}/{args.epochs} ({time.perf_counter() - t0:.0f} s)")
    path = Path(args.workdir) / f"debiased-{kind}.pt"
    torch.save(model.eval().state_dict(), path)
    return str(path), time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", default="runs/debias")
    parser.add_argument("--losses", default=",".join(LOSSES))
    parser.add_argument("--n-train", type=int, default=4000)
    parser.add_argument("--n-test", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--rrr-weight", type=float, default=1.0)
    parser.add_argument("--cam-weight", type=float, default=10.0)
    parser.add_argument("--swap-p", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    spec = f"benchmark:n={args.n_train},seed={args.seed},split=train,biased=1"
    record: dict = {"command": " ".join(sys.argv), "config": vars(args), "models": {}}

    t0 = time.perf_counter()
    before = audit("benchmark-biased", None, spec, work / "audit-biased")
    masks_set = shared_region_masks(str(work / "audit-biased"), 64, scope="class")
    record["audit_seconds"] = time.perf_counter() - t0
    record["finding"] = {"flagged": before["flagged_classes"], "regions": masks_set.regions}
    print(f"audit flags {before['flagged_classes']}; masks for {len(masks_set)} images")
    data = make_benchmark(args.n_train, seed=args.seed, split="train", biased=True)
    masks = torch.from_numpy(masks_set.for_indices(range(args.n_train)))

    record["models"]["biased"] = {"figures": tb.evaluate(zoo.load("benchmark-biased").model,
                                                         args.n_test, 1)}  # fmt: skip
    record["models"]["clean"] = {"figures": tb.evaluate(zoo.load("benchmark-clean").model,
                                                        args.n_test, 1)}  # fmt: skip
    for kind in args.losses.split(","):
        path, seconds = fine_tune(kind, args, data, masks)
        model = zoo.load("benchmark-biased", weights=path).model
        after_dir = work / f"audit-{kind}"
        after = audit("benchmark-biased", path, spec, after_dir)
        cmp = compare_runs(str(work / "audit-biased"), str(after_dir))
        (after_dir / "compare.html").write_text(render_comparison(cmp))
        print(comparison_text(cmp))
        record["models"][kind] = {
            "train_seconds": seconds,
            "figures": tb.evaluate(model, args.n_test, 1),
            "flagged_after": after["flagged_classes"],
        }
        (work / "debias.json").write_text(json.dumps(record, indent=2))
    print(table(record))


def table(record: dict) -> str:
    rows = [
        "| model | clean test acc. | unmarked triangles | marked others → triangle | "
        "Grad-CAM energy on watermark | audit flags | fine-tune time |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, entry in record["models"].items():
        f = entry["figures"]
        flags = ", ".join(entry.get("flagged_after", [])) or "none"
        if name == "biased":
            flags = ", ".join(record["finding"]["flagged"]) or "none"
        elif name == "clean":
            flags = "–"
        seconds = f"{entry['train_seconds']:.0f} s" if "train_seconds" in entry else "–"
        rows.append(
            f"| {name} | {100 * f['accuracy_clean_test']:.1f}% | "
            f"{100 * f['biased_class_accuracy_without_cue']:.1f}% | "
            f"{100 * f['cue_flips_other_classes_to_biased']:.1f}% | "
            f"{100 * f['gradcam_cue_energy_biased_class_with_cue']:.1f}% | {flags} | {seconds} |"
        )
    return "\n".join(rows)


if __name__ == "__main__":
    main()
