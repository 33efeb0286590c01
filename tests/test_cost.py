"""``thermo.cost`` against independent counts: FLOPs of small networks by hand (2 FLOPs per
multiply-add), XLA's count of a matrix product, the bookkeeping of a run (steps, evaluations,
examples), and the table of the smoke profile (a row per experiment, positive FLOPs where it trains)."""

import json
import math
import re

import pytest
import torch
from torch import nn

from thermo import catalog, cost, data, experiments, models, train
from thermo.experiments import REGISTRY, RunPlan, Work


def mlp(d_in, hidden, d_out):
    return nn.Sequential(nn.Flatten(), nn.Linear(d_in, hidden), nn.ReLU(), nn.Linear(hidden, d_out))


# --- torch: the counter against hand counts -----------------------------------------------------------------

@pytest.mark.parametrize("device", ["cpu", "meta"])
def test_a_linear_layer_costs_2_in_out_forward_and_twice_that_to_train(device):
    step, forward = cost.torch_flops(nn.Sequential(nn.Flatten(), nn.Linear(12, 5)), (1, 3, 4), batch_size=7,
                                     device=device)
    assert forward == 2 * 12 * 5  # per example: one multiply-add per weight
    assert step == forward + 2 * 12 * 5  # the backward: the weights' gradient (the input needs none)


@pytest.mark.parametrize("device", ["cpu", "meta"])
def test_a_two_layer_mlp_by_hand(device):
    d_in, hidden, d_out = 20, 16, 3
    step, forward = cost.torch_flops(mlp(d_in, hidden, d_out), (d_in,), batch_size=4, device=device)
    assert forward == 2 * (d_in * hidden + hidden * d_out)
    # backward: both weight gradients, and the hidden layer's input gradient (not the data's)
    assert step == forward + 2 * (d_in * hidden + hidden * d_out) + 2 * hidden * d_out
    assert 2 * forward <= step <= 3 * forward


def test_the_meta_device_counts_what_the_cpu_counts():
    torch.manual_seed(0)
    model = models.build("convnet", (1, 8, 8), 10, width=0.25, batchnorm=True)
    on_cpu = cost.torch_flops(model, (1, 8, 8), batch_size=3, device="cpu")
    on_meta = cost.torch_flops(model, (1, 8, 8), batch_size=3, device="meta")
    assert on_cpu == on_meta and on_cpu[1] > 0


def test_a_convolution_by_hand():
    conv = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1, bias=False), nn.Flatten(), nn.Linear(4 * 5 * 5, 2))
    _, forward = cost.torch_flops(conv, (3, 5, 5), batch_size=2, device="meta")
    assert forward == 2 * (4 * 5 * 5 * 3 * 3 * 3) + 2 * (100 * 2)  # each output pixel: 27 multiply-adds


# --- a run's bookkeeping --------------------------------------------------------------------------------------

def test_evaluations_follow_fit():
    cfg = train.TrainConfig(epochs=10, lr=0.1, eval_every=3, eval_steps=(1, 5, 500))
    assert experiments.evaluations(cfg, steps_per_epoch=20) == 4 + 2  # epochs 3, 6, 9, 10; steps 1, 5 (200 run)


def test_a_torch_plan_counts_every_example():
    cfg = train.TrainConfig(epochs=3, lr=0.1, batch_size=8)
    plan = experiments.torch_plan(lambda: mlp(6, 4, 2), ("test-mlp",), (6,), 2, cfg, n_train=20, n_eval=10,
                                  forward_examples=5, train_examples=16)
    assert plan.steps == 3 * 3 and plan.epochs == 3  # ceil(20 / 8) steps an epoch
    assert plan.train_examples == 3 * 20 + 16 and plan.forward_examples == 3 * 10 + 5
    count = cost.Counter().count(plan)
    forward = 2 * (6 * 4 + 4 * 2)
    step = forward + 2 * (6 * 4 + 4 * 2) + 2 * 4 * 2
    assert count.torch == step * 76 + forward * 35
    assert count.forward_share == pytest.approx(forward * 35 / count.torch)
    assert isinstance(plan.optimizer(mlp(6, 4, 2)), torch.optim.SGD)


def test_closed_forms_and_hours():
    plan = RunPlan("analysis", extra_flops=lambda model: 7.2e15, precision="float64")
    count = cost.Counter().count(plan)
    assert count.total == count.closed_form == 7.2e15
    assert cost.T4.hours(7.2e15, "float64") == pytest.approx(7.2e15 / cost.T4.float64 / 3600)
    assert cost.A100.hours(3.6e15, "float32") == pytest.approx(3.6e15 / 12e12 / 3600)
    for d in cost.DEVICES:  # sustained, not peak: below the datasheets (T4 8.1 / 0.25, A100 19.5 / 9.7 TFLOP/s)
        assert d.float32 < {"T4": 8.1e12, "A100": 19.5e12}[d.name]
        assert d.float64 < {"T4": 0.25e12, "A100": 9.7e12}[d.name]


def test_a_bad_plan_kind_is_refused():
    with pytest.raises(experiments.ConfigError, match="kind must be one of"):
        RunPlan("gpu")


# --- JAX: XLA's count against a matrix product ------------------------------------------------------------

def test_xla_counts_a_matrix_product():
    import jax

    n, d_in, d_out = 8, 30, 7
    args = (jax.ShapeDtypeStruct((n, d_in), "float32"), jax.ShapeDtypeStruct((d_in, d_out), "float32"))
    assert cost.xla_flops(lambda x, w: x @ w, args) == 2 * n * d_in * d_out


def test_xla_counts_a_gradient_step_of_a_linear_model():
    import jax
    import jax.numpy as jnp

    from thermo import ntk

    n, d = 16, 10
    step = ntk.gd_step(lambda w, x: x @ w, lambda z, y: (z - y) ** 2, eta=0.1)
    args = (jax.ShapeDtypeStruct((d, 1), jnp.float32), jax.ShapeDtypeStruct((n, d), jnp.float32),
            jax.ShapeDtypeStruct((n, 1), jnp.float32))
    flops = cost.xla_flops(step, args)
    assert 2 * (2 * n * d) <= flops <= 2 * (2 * n * d) + 20 * n + 10 * d  # forward, gradient, a few element-wise
    count = cost.Counter().count(RunPlan("jax", steps=100, jax_work=(Work("step", ("lin",), lambda: (step, args),
                                                                             100),)))
    assert count.jax == 100 * flops


def test_jax_precision_is_scoped():
    import jax.numpy as jnp

    with cost.jax_precision("float64"):
        assert jnp.zeros(1).dtype == jnp.float64
    assert jnp.zeros(1).dtype == jnp.float32


# --- data shapes without data ---------------------------------------------------------------------------------

def test_every_dataset_has_a_shape():
    for name in data.NAMES:
        s = data.shape(name)
        assert s.in_shape == data.spec(name).in_shape and s.n_train > s.n_test > 0
    assert data.shape("cifar100").num_classes == 100 and data.shape("svhn").size("test") == 26032


@pytest.mark.parametrize("name", ["digits", "mnist-5k", "fashion-mnist"])
def test_shapes_match_what_load_returns(name):
    try:
        splits = {split: data.load(name, split, download=False) for split in data.SPLITS}
    except data.DatasetNotFound:
        pytest.skip(f"{name} is not prepared here")
    s = data.shape(name)
    for split, ds in splits.items():
        assert len(ds) == s.size(split) and ds.in_shape == s.in_shape and ds.num_classes == s.num_classes


# --- chapters, stand-ins and the table -------------------------------------------------------------------------

def test_every_experiment_belongs_to_a_chapter():
    chapters = {cost.chapter_of(i) for i in catalog.all_experiments()}
    assert chapters <= set(cost.CHAPTERS) and len(chapters) >= 5  # the four papers' five (and the synthesis)
    assert cost.chapter_of("tb-esd-fits") == "notebooks/tempbalance/01-esd-and-hill"
    assert cost.chapter_of("tb-fig3-main") == "notebooks/tempbalance/02-training-with-tempbalance"
    assert cost.chapter_of("mine-1") == cost.OTHER


def test_stand_ins_put_the_best_point_inside_every_grid():
    from thermo.papers.actcoolr import configs as ac_configs
    from thermo.papers.actcoolr import runs as ac_runs
    from thermo.papers.tempbalance import runs as tb_runs

    best = tb_runs.cal_validated_lr("paper", cost.stand_in_records("tb-cal-tune", "paper"))  # raises on an edge
    assert best == {"resnet": 0.1, "vgg": 0.1}
    lr = ac_runs.validated_constant_lr("paper", cost.stand_in_records("ac-table1-const-tune", "paper"))
    assert min(ac_configs.CONST_TUNE["paper"].lrs) < lr < max(ac_configs.CONST_TUNE["paper"].lrs)


def test_second_stages_are_counted_from_stand_ins_and_say_so():
    from thermo import claims

    real = claims.cached_records
    configs, note = cost.configs_for(REGISTRY["tc-fig6-val-sweep"], "paper")
    assert claims.cached_records is real  # the stand-ins are gone again
    assert len(configs) == 70 and "stand-in results of tc-fig6-val-tune" in note
    configs, note = cost.configs_for(REGISTRY["tc-fig6-tune"], "paper")
    assert len(configs) == 12 and note == ""


@pytest.fixture(scope="module")
def smoke_rows():
    return cost.cost_table("smoke")


def test_the_smoke_table_has_a_row_per_experiment(smoke_rows):
    assert [r["experiment"] for r in smoke_rows] == sorted(catalog.all_experiments(),
                                                           key=lambda i: (list(cost.CHAPTERS).index(
                                                               cost.chapter_of(i)), i))
    for r in smoke_rows:
        assert r["error"] is None, r["error"]
        if r["runs"]:
            assert r["flops_total"] > 0 and r["flops_per_run"] > 0 and all(h > 0 for h in r["hours"].values())
            assert r["method"] in ("FlopCounterMode", "FlopCounterMode + closed form", "XLA cost analysis",
                                   "XLA cost analysis + closed form"), r
        else:
            assert r["per_run"] in ("no training", "no points"), r
    by_id = {r["experiment"]: r for r in smoke_rows}
    assert by_id["tb-s-vs-alpha"]["runs"] == 0 and by_id["tb-s-vs-alpha"]["flops_total"] > 0
    assert by_id["tc-fig1-collapse"]["method"] == "XLA cost analysis" and by_id["tc-fig1-collapse"]["runs"] == 2


def test_a_smoke_training_run_by_hand(smoke_rows):
    """tc-fig4-eta-star, smoke: an MLP (64 -> 128 -> 64 at width 0.25) on the 1,437 digits, 2 epochs
    of batches of 64, scored on the 360 test digits after each epoch."""
    (row,) = [r for r in smoke_rows if r["experiment"] == "tc-fig4-eta-star"]
    layers = [(64, 128), (128, 64), (64, 10)]
    forward = sum(2 * a * b for a, b in layers)
    step = forward + sum(2 * a * b for a, b in layers) + sum(2 * a * b for a, b in layers[1:])
    per_run = step * 2 * 1437 + forward * 2 * 360
    assert row["flops_per_run"] == pytest.approx(per_run) and row["flops_total"] == pytest.approx(6 * per_run)
    assert row["per_run"] == "2 epochs"


def test_the_table_and_the_totals_add_up(smoke_rows):
    totals = cost.chapter_totals(smoke_rows)
    assert [t["chapter"] for t in totals] == [c for c in cost.CHAPTERS if any(r["chapter"] == c for r in smoke_rows)]
    assert len(totals) >= 5
    assert sum(t["flops_total"] for t in totals) == pytest.approx(sum(r["flops_total"] for r in smoke_rows))
    assert sum(t["runs"] for t in totals) == sum(r["runs"] for r in smoke_rows)
    text = cost.format_table(smoke_rows, "smoke")
    assert "PFLOP/run" in text and "T4 h" in text and "A100 h" in text and "3.5 / 12 TFLOP/s" in text
    assert all(r["experiment"] in text for r in smoke_rows)


def test_the_chapter_line():
    line = cost.chapter_line("notebooks/tempbalance/01-esd-and-hill", "smoke")
    assert re.fullmatch(r"The smoke profile of this chapter trains 1 run, [0-9.,]+ [GTP]FLOP, about \d+ min on a T4 / "
                        r"\d+ min on an A100 \(sustained 3\.5 / 12 TFLOP/s in float32, 0\.2 / 5 in float64; "
                        r"`python -m thermo cost --profile smoke` itemizes it\)\.", line), line
    with pytest.raises(experiments.ConfigError, match="unknown chapter 'notebooks/x'"):
        cost.chapter_line("notebooks/x")


def test_words():
    assert cost.flops_words(3.17e18) == "3,170 PFLOP" and cost.flops_words(0.0234e15) == "0.0234 PFLOP"
    assert cost.flops_words(5e12) == "5 TFLOP" and cost.flops_words(3.9e9) == "3.9 GFLOP"
    assert cost.hours_words(0.2) == "12 min" and cost.hours_words(1234.0) == "1,200 h"
    assert cost.hours_words(2.345) == "2.3 h"


def test_the_cli_prints_json(monkeypatch, capsys):
    from thermo import __main__ as cli

    exp = REGISTRY["tb-s-vs-alpha"]
    monkeypatch.setattr(catalog, "all_experiments", lambda: {exp.id: exp})
    assert cli.main(["cost", "--profile", "quick", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    (row,) = out["experiments"]
    n_s, sizes = 31, [16, 32, 64, 128, 256, 512, 768, 1024]
    assert row["flops_total"] == pytest.approx(sum((8 / 3 + n_s * 16 / 3) * m**3 for m in sizes))
    assert out["profile"] == "quick" and math.isclose(out["sustained_flops_per_second"]["T4"]["float32"], 3.5e12)


def test_rows_are_cached_per_configs_and_code(tmp_root, monkeypatch):
    """A second chapter line reuses the counted rows; new code (a changed source fingerprint) recounts;
    a damaged cache file is ignored and rewritten."""
    exp = catalog.experiment("tb-s-vs-alpha")
    counted = []
    real = cost.experiment_row
    monkeypatch.setattr(cost, "experiment_row", lambda *a, **k: counted.append(a[0].id) or real(*a, **k))
    first = cost.cached_row(exp, "smoke", cost.Counter())
    again = cost.cached_row(exp, "smoke", cost.Counter())
    assert counted == ["tb-s-vs-alpha"] and again == json.loads(json.dumps(first))
    monkeypatch.setattr(cost, "source_fingerprint", lambda: "other code")
    cost.cached_row(exp, "smoke", cost.Counter())
    assert counted == ["tb-s-vs-alpha"] * 2
    path = tmp_root / "_build" / "cost" / "smoke.json"
    path.write_text("{not json")
    cost.cached_row(exp, "smoke", cost.Counter())
    assert counted == ["tb-s-vs-alpha"] * 3 and json.loads(path.read_text())["tb-s-vs-alpha"]["row"]
