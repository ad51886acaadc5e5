"""camlens.evaluate on tiny models and data whose scores can be worked out by hand."""

from __future__ import annotations

import json

import pytest
import torch
from tiny_models import SmallCNN
from torch import nn

import camlens
from camlens.core.errors import InvalidInputError, TargetError
from camlens.evaluation import EvaluationResult, evaluate
from camlens.metrics.base import Metric, PerImageMetric
from camlens.metrics.energy_pointing_game import EnergyPointingGame
from camlens.metrics.pointing_game import PointingGame

torch.set_num_threads(1)
pd = pytest.importorskip("pandas")

N, S = 10, 16


def square_set(n: int = N, size: int = S) -> dict[str, torch.Tensor]:
    """Images whose channel 0 is 1 exactly on the object (a square), 0 elsewhere.

    Image i: label i % 2, object square of side 4 at (row, col) = (4 + i % 8, (3 * i) % 12)
    (never in rows 0-1), a "cue" 2x2 square in the top-left corner on label-0 images only
    (channel 1).
    """
    images = torch.zeros(n, 3, size, size)
    masks = torch.zeros(n, size, size, dtype=torch.bool)
    cues = torch.zeros(n, size, size, dtype=torch.bool)
    labels = torch.arange(n) % 2
    for i in range(n):
        r, c = 4 + i % 8, (3 * i) % 12
        masks[i, r : r + 4, c : c + 4] = True
        if labels[i] == 0:
            cues[i, :2, :2] = True
    images[:, 0] = masks.float()
    images[:, 1] = cues.float()
    return {"images": images, "labels": labels, "masks": masks, "cue_masks": cues}


def oracle(inputs: torch.Tensor, targets: list) -> torch.Tensor:
    """A 'method' whose map is exactly the object (channel 0 of the input)."""
    return inputs[:, 0].clone()


def anti_oracle(inputs: torch.Tensor, targets: list) -> torch.Tensor:
    """The map is everything but the object."""
    return 1.0 - inputs[:, 0]


def cue_oracle(inputs: torch.Tensor, targets: list) -> torch.Tensor:
    """The map is the cue where there is one, else a uniform map."""
    cue = inputs[:, 1].clone()
    empty = cue.flatten(1).sum(dim=1) == 0
    cue[empty] = 1.0
    return cue


class CountTargets(PerImageMetric):
    """Records the target class of each image (to check what evaluate passes as targets)."""

    name = "target_value"
    higher_is_better = False

    def update(self, *, inputs, maps, targets=None, **kwargs) -> None:
        self._values.append(torch.as_tensor(targets).double())


class MapMean(Metric):
    """A whole-set metric (no per_image): mean map value, also as a dict with the max."""

    name = "map_stats"

    def reset(self) -> None:
        self.total, self.count, self.max = 0.0, 0, 0.0

    def update(self, *, inputs, maps, **kwargs) -> None:
        self.total += float(maps.sum())
        self.count += maps.numel()
        self.max = max(self.max, float(maps.max()))

    def compute(self) -> dict[str, float]:
        return {"mean": self.total / self.count, "max": self.max}


@pytest.fixture
def model() -> nn.Module:
    torch.manual_seed(0)
    return SmallCNN().eval()


def test_oracle_map_scores_one_and_its_complement_zero(model):
    data = square_set()
    result = evaluate(
        model,
        data,
        methods={"oracle": oracle, "anti": anti_oracle},
        metrics=[PointingGame(tolerance=0), EnergyPointingGame()],
        batch_size=4,
        progress=False,
    )
    assert isinstance(result, EvaluationResult)
    assert result.n_images == N
    table = result.table
    assert list(table.index) == ["oracle", "anti"]
    assert list(table.columns) == ["pointing_game", "energy_pointing_game", "ms/image"]
    assert table.loc["oracle", "pointing_game"] == 1.0
    assert table.loc["oracle", "energy_pointing_game"] == pytest.approx(1.0)
    assert table.loc["anti", "pointing_game"] == 0.0
    assert table.loc["anti", "energy_pointing_game"] == pytest.approx(0.0)
    assert result.directions == {"pointing_game": True, "energy_pointing_game": True}
    assert result.best() == {"pointing_game": "oracle", "energy_pointing_game": "oracle"}


def test_energy_on_the_cue_per_class(model):
    """Energy on cue_masks: label-0 images carry a 2x2 cue and the map is the cue -> 1; label-1
    images have no cue (an empty region) and a uniform map -> 0."""
    result = evaluate(
        model,
        square_set(),
        methods={"cue": cue_oracle, "oracle": oracle},
        metrics=["energy_pointing_game"],
        mask_key="cue_masks",
        by_class=True,
        class_names=["with cue", "another"],  # rows in class order, not alphabetical
        batch_size=3,
        progress=False,
    )
    per_class = result.by_class_table("energy_pointing_game")
    assert list(per_class.index) == ["with cue", "another"]
    assert per_class.loc["with cue", "cue"] == pytest.approx(1.0)
    assert per_class.loc["another", "cue"] == pytest.approx(0.0)
    assert per_class.loc["with cue", "oracle"] == pytest.approx(0.0)  # the object is never there
    assert result.table.loc["cue", "energy_pointing_game"] == pytest.approx(0.5)
    markdown = result.by_class_markdown()
    assert "| with cue | 1.000 | 0.000 |" in markdown


def test_by_class_for_a_metric_without_per_image_values(model):
    data = square_set()
    result = evaluate(
        model,
        data,
        methods={"oracle": oracle},
        metrics=[MapMean()],
        by_class=True,
        batch_size=4,
        progress=False,
    )
    for cls in (0, 1):
        objects = data["masks"][data["labels"] == cls].float()
        assert result.by_class["oracle"][cls]["map_stats.mean"] == pytest.approx(
            float(objects.mean())
        )
    assert result.scores["oracle"]["map_stats.max"] == 1.0
    assert result.scores["oracle"]["map_stats.mean"] == pytest.approx(
        float(data["masks"].float().mean())
    )


def test_targets_are_labels_or_predictions_and_accuracy_is_counted(model):
    data = square_set()
    with torch.no_grad():
        predicted = model(data["images"]).argmax(dim=1)
    by_label = evaluate(
        model, data, methods={"o": oracle}, metrics=[CountTargets()], progress=False
    )
    by_prediction = evaluate(
        model,
        data,
        methods={"o": oracle},
        metrics=[CountTargets()],
        targets="predicted",
        progress=False,
    )
    fixed = evaluate(model, data, methods={"o": oracle}, metrics=[CountTargets()], targets=7,
                     progress=False)  # fmt: skip
    assert fixed.scores["o"]["target_value"] == 7.0
    assert by_label.scores["o"]["target_value"] == pytest.approx(
        float(data["labels"].double().mean())
    )
    assert by_prediction.scores["o"]["target_value"] == pytest.approx(
        float(predicted.double().mean())
    )
    expected = float((predicted == data["labels"]).double().mean())
    assert by_label.accuracy == pytest.approx(expected)


def test_every_data_form_gives_the_same_scores(model):
    data = square_set()
    items = [
        {"image": data["images"][i], "label": int(data["labels"][i]), "mask": data["masks"][i]}
        for i in range(N)
    ]

    class Items(torch.utils.data.Dataset):
        def __len__(self) -> int:
            return N

        def __getitem__(self, i: int):
            return items[i]

    tuples = [
        (data["images"][i : i + 5], data["labels"][i : i + 5], data["masks"][i : i + 5])
        for i in range(0, N, 5)
    ]

    def ramp(inputs, targets):  # the object plus a left-to-right ramp: energy varies by image
        return inputs[:, 0] + torch.linspace(0, 1, S).view(1, 1, S)

    metrics = [EnergyPointingGame(), CountTargets()]
    reference = evaluate(
        model, data, methods={"o": ramp}, metrics=metrics, batch_size=3, progress=False
    ).scores["o"]
    assert 0.1 < reference["energy_pointing_game"] < 0.9
    for form in (Items(), tuples, (b for b in tuples)):
        result = evaluate(model, form, methods={"o": ramp}, metrics=metrics, progress=False)
        assert result.scores["o"] == pytest.approx(reference)
        assert result.n_images == N
    alone = evaluate(
        model,
        data["images"],
        methods={"o": oracle},
        metrics=[MapMean()],
        targets="predicted",
        progress=False,
    )
    assert alone.accuracy is None


def test_limit_and_the_object_form(model):
    data = square_set()

    class Set:
        images, labels, masks = data["images"], data["labels"], data["masks"]

    result = evaluate(
        model,
        Set(),
        methods={"o": oracle},
        metrics=[CountTargets()],
        limit=7,
        batch_size=3,
        progress=False,
    )
    assert result.n_images == 7
    assert result.scores["o"]["target_value"] == pytest.approx(3 / 7)


def test_real_cams_with_model_metrics_curves_plot_and_files(model, tmp_path):
    from camlens.metrics.deletion import Deletion
    from camlens.metrics.insertion import Insertion

    data = square_set(n=4)
    result = evaluate(
        model,
        data,
        methods=("gradcam", "eigencam"),
        metrics=[Deletion(steps=4), Insertion(steps=4), EnergyPointingGame()],
        target_layers="conv3",
        batch_size=2,
        progress=False,
    )
    assert list(result.table.index) == ["gradcam", "eigencam"]
    assert result.directions == {"deletion": False, "insertion": True, "energy_pointing_game": True}
    assert set(result.curves) == {"deletion", "insertion"}
    x, y = result.curves["deletion"]["gradcam"]
    assert x.tolist() == pytest.approx([0.0, 0.25, 0.5, 0.75, 1.0])
    assert y.shape == (5,)
    # the AUC in the table is the trapezoid of each image's curve: its mean is the mean curve's
    assert result.scores["gradcam"]["deletion"] == pytest.approx(
        float(torch.trapezoid(torch.tensor(y), torch.tensor(x))), rel=1e-6
    )
    assert all(v >= 0 for v in result.seconds.values())
    markdown = result.to_markdown()
    assert markdown.splitlines()[0] == (
        "| method | deletion ↓ | insertion ↑ | energy_pointing_game ↑ | ms/image |"
    )
    csv = result.to_csv(tmp_path / "t.csv")
    assert csv.read_text(encoding="utf-8").splitlines()[0].startswith("method,deletion ↓")
    again = EvaluationResult.from_dict(json.loads(json.dumps(result.to_dict())))
    assert again.to_markdown() == markdown
    assert again.curves["deletion"]["gradcam"][1].tolist() == pytest.approx(y.tolist())
    png = tmp_path / "plot.png"
    fig = result.plot(png)
    assert png.stat().st_size > 1000
    assert len([ax for ax in fig.axes if ax.get_visible()]) == 5  # 3 bars + 2 curve panels


def test_markdown_bolds_the_best_value_in_its_direction(model):
    result = evaluate(
        model,
        square_set(),
        methods={"oracle": oracle, "anti": anti_oracle},
        metrics=[EnergyPointingGame(), CountTargets()],
        progress=False,
    )
    rows = {line.split("|")[1].strip(): line for line in result.to_markdown().splitlines()[2:]}
    assert "**1.000**" in rows["oracle"] and "**" not in rows["anti"].split("|")[2]
    assert str(result) == result.to_markdown()


def test_the_lazy_top_level_name():
    assert camlens.evaluate is evaluate


def test_defaults_leave_out_metrics_the_data_cannot_feed(model):
    data = square_set(n=2)
    del data["masks"]
    result = evaluate(model, data, methods={"o": oracle}, progress=False, batch_size=2)
    assert "pointing_game" not in result.columns
    assert "pointing_game" in result.info["skipped_metrics"]
    assert result.columns  # the model-based and map-only ones remain


def test_bad_requests_raise_typed_errors_that_say_what_to_do(model):
    data = square_set(n=2)
    no_masks = {"images": data["images"], "labels": data["labels"]}
    with pytest.raises(InvalidInputError, match="needs masks"):
        evaluate(model, no_masks, methods={"o": oracle}, metrics=["pointing_game"], progress=False)
    with pytest.raises(InvalidInputError, match="unknown metric 'nope'"):
        evaluate(model, data, methods={"o": oracle}, metrics=["nope"], progress=False)
    with pytest.raises(InvalidInputError, match="unknown method"):
        evaluate(model, data, methods=["nope"], metrics=["sparseness"], progress=False)
    with pytest.raises(TargetError, match="no labels"):
        evaluate(model, data["images"], methods={"o": oracle}, metrics=[MapMean()], progress=False)
    with pytest.raises(InvalidInputError, match="targets must be"):
        evaluate(model, data, methods={"o": oracle}, targets="best", progress=False)
    bad = dict(data, masks=data["masks"][:, :4])
    with pytest.raises(InvalidInputError, match=r"masks must be \(B, H, W\)"):
        evaluate(model, bad, methods={"o": oracle}, metrics=[MapMean()], progress=False)
    with pytest.raises(InvalidInputError, match="no images"):
        evaluate(model, [], methods={"o": oracle}, metrics=[MapMean()], progress=False)


def test_a_metric_instance_is_copied_not_consumed(model):
    metric = EnergyPointingGame()
    evaluate(
        model,
        square_set(),
        methods={"a": oracle, "b": anti_oracle},
        metrics=[metric],
        progress=False,
    )
    assert metric.per_image.numel() == 0


def test_methods_reach_the_metrics_that_rerun_them(model):
    """Sanity checks re-run the method on a randomised copy: a map that ignores the model keeps
    Spearman rho = 1 at every step; Grad-CAM's maps change (rho < 1)."""
    data = square_set(n=4)
    result = evaluate(
        model,
        data,
        methods={"gradcam": "gradcam", "fixed": oracle},
        metrics=["sanity_randomisation", "coherency"],
        target_layers="conv3",
        batch_size=2,
        progress=False,
    )
    assert result.scores["fixed"]["sanity_randomisation"] == pytest.approx(1.0)
    assert result.scores["gradcam"]["sanity_randomisation"] < 0.9
    assert result.info["target_layers"] == {"gradcam": ["conv3"], "fixed": None}
    # coherency of the fixed map: method(x ⊙ L) = channel 0 of x ⊙ L = L -> Pearson 1 -> 1
    assert result.scores["fixed"]["coherency"] == pytest.approx(1.0)


def test_a_module_with_a_model_attribute_is_evaluated_as_it_is():
    """A wrapper nn.Module holding ``.model`` is a model, not a zoo entry: not unwrapped."""

    class Negate(nn.Module):
        def __init__(self, inner: nn.Module) -> None:
            super().__init__()
            self.model = inner

        def forward(self, x):
            return -self.model(x)

    torch.manual_seed(0)
    inner = SmallCNN().eval()
    data = square_set(n=4)
    wrapped = evaluate(Negate(inner), data, methods={"o": oracle}, metrics=[CountTargets()],
                       targets="predicted", progress=False)  # fmt: skip
    with torch.no_grad():
        expected = (-inner(data["images"])).argmax(dim=1).double().mean()
    assert wrapped.scores["o"]["target_value"] == pytest.approx(float(expected))


def test_attention_methods_beside_cams_on_a_token_layer():
    """A zoo-like ViT whose CAM layer is a token norm: rollout and LeGrad use every attention
    block (not that layer), Grad-CAM the layer; the sanity check re-runs each the same way."""
    from camlens.methods import AttentionRollout, LeGrad
    from camlens.zoo.benchmark_vit import BenchmarkViT

    torch.manual_seed(0)
    model = BenchmarkViT().eval()
    x = torch.rand(4, 3, 64, 64)
    labels = torch.tensor([0, 1, 2, 3])
    result = evaluate(
        model, {"images": x, "labels": labels}, methods=("gradcam", "rollout", "legrad"),
        metrics=("sanity_random_logit",), target_layers="blocks.1.norm1", batch_size=4,
        progress=False,
    )  # fmt: skip
    assert set(result.scores) == {"gradcam", "rollout", "legrad"}
    assert result.info["target_layers"]["gradcam"] == ["blocks.1.norm1"]
    # rollout ignores the class: its maps for the true and a random class are the same (1)
    assert result.scores["rollout"]["sanity_random_logit"] == pytest.approx(1.0)
    assert result.scores["legrad"]["sanity_random_logit"] < 1.0
    for cls in (AttentionRollout, LeGrad):  # built by evaluate as by hand: every block
        assert cls(model).attention_blocks(x) == [f"blocks.{i}.attn" for i in range(2)]
