"""The synthesis chapter (thermo.papers.synthesis): the four thermometers measure what the instruments
measure when called directly, do not change the run and resume exactly; every analysis function
agrees with an independent computation on fabricated records; every claim flips both ways."""

import copy
import math

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from scipy import stats as st  # noqa: E402

import thermo.papers.synthesis  # noqa: E402, F401  (registers the chapter's experiments; not yet in thermo.catalog)
from thermo import apt, claims, htsr, l2, models, softmax, train  # noqa: E402
from thermo.data import ArrayDataset  # noqa: E402
from thermo.errors import MissingResults  # noqa: E402
from thermo.papers.synthesis import analysis as syn  # noqa: E402
from thermo.papers.synthesis import claims as syn_claims  # noqa: E402
from thermo.papers.synthesis import configs as sync  # noqa: E402
from thermo.papers.synthesis import thermometers as th  # noqa: E402

# --- the callback set against the instruments called directly ------------------------------------

SPE = 4  # steps per epoch of the tiny runs: 128 examples in batches of 32
EVERY = 3


def blobs(n=128, seed=0, classes=3):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, classes, (n,), generator=g)
    x = torch.randn(n, 1, 4, 4, generator=g) + y.view(-1, 1, 1, 1).float()
    return ArrayDataset(x, y, "blobs", "train" if seed == 0 else "test", classes)


def mlp(seed=0, width=64):
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(16, width), torch.nn.ReLU(), torch.nn.Linear(width, width),
        torch.nn.ReLU(), torch.nn.Linear(width, width), torch.nn.ReLU(), torch.nn.Linear(width, 3))


def config(**kw):
    return train.TrainConfig(**{"epochs": 4, "lr": 0.05, "batch_size": 32, "seed": 3, "weight_decay": 1e-3, **kw})


class StopAt(train.Callback):
    def __init__(self, at=None):
        self.at = at

    def on_batch_start(self, state, batch):
        if state.step == self.at:
            raise KeyboardInterrupt("simulated kill")


def fit(model, beta=1.0, extra=(), thermometers=True, stop_at=None, run_id=None, cfg=None):
    tr = blobs()
    therm = th.ThermometerSet(model, tr.x[:16], beta, every=EVERY) if thermometers else None
    callbacks = [*(therm.callbacks if therm else []), *extra, StopAt(stop_at)]
    res = train.fit(model, tr, blobs(64, seed=1), cfg or config(), callbacks=callbacks,
                    loss_fn=softmax.torch_beta_loss(beta), progress=False, run_id=run_id)
    return res, therm


def test_reading_does_not_change_the_run():
    model, plain = mlp(), mlp()
    res, _ = fit(model)
    ref, _ = fit(plain, thermometers=False)
    for (name, a), b in zip(model.state_dict().items(), plain.state_dict().values()):
        assert torch.equal(a, b), name
    for key in ("train_loss", "test_acc", "test_loss"):
        assert res.history[key] == ref.history[key]


def test_apt_reads_what_an_apt_probe_reads():
    ref = apt.APTProbe(every=EVERY, granularity="position", key="ref")
    res, therm = fit(mlp(), extra=[ref])
    h = res.step_history
    assert h["apt_position"] == h["ref"] and h["step:apt_position"] == h["step:ref"]
    for relu in therm.relus:
        assert h[f"apt_position:{relu}"] == h[f"ref:{relu}"]
    assert h["step:apt_position"] == list(range(EVERY, 4 * SPE + 1, EVERY))


def test_alpha_reads_the_hill_estimate_and_the_random_baseline():
    model = mlp()
    start = copy.deepcopy(model)
    res, therm = fit(model)
    assert therm.alpha.names == ["3", "5"]  # the two 64 x 64 layers: 64 eigenvalues each
    for when, net in ((0, start), (-1, model)):
        direct = {r["name"]: r["alpha_hill"] for r in htsr.layer_metrics(net) if r["name"] in therm.alpha.names}
        for name, value in direct.items():
            assert res.step_history[f"alpha:{name}"][when] == pytest.approx(value, rel=1e-12)
    assert res.step_history["step:alpha:3"] == [0, 4, 8, 12, 16]
    for name in therm.alpha.names:
        assert therm.alpha.baseline[name] == htsr.random_alpha((64, 64))
    assert therm.pairs == [("4", "3"), ("6", "5")]  # each ReLU reads the layer just before it


def test_logit_scale_and_effective_lr_are_beta_times_the_network():
    model = mlp()
    res, therm = fit(model, beta=2.0)
    with torch.no_grad():
        z = model.eval()(blobs().x[:16])
    direct = 2.0 * math.sqrt(float((z.double() ** 2).sum(dim=1).mean()))
    assert res.step_history["logit_scale"][-1] == pytest.approx(direct, rel=1e-9)
    cfg = config()
    steps = res.step_history["step:eff_lr"]
    expected = [cfg.base_lr((s - 1) / SPE, SPE) * 4.0 for s in steps]  # the LR the step used, times beta^2
    np.testing.assert_allclose(res.step_history["eff_lr"], expected, rtol=1e-12)


def test_the_clock_sums_eta_lambda_and_finds_the_running_peak():
    res, therm = fit(mlp())
    cfg = config()
    lrs = [cfg.base_lr((s - 1) / SPE, SPE) for s in range(1, 4 * SPE + 1)]
    tau = np.cumsum(lrs) * cfg.weight_decay
    h, sh = res.history, res.step_history
    np.testing.assert_allclose(sh["phys_time"], [tau[s - 1] for s in sh["step:phys_time"]], rtol=1e-12)
    np.testing.assert_allclose(h["phys_time"], tau[SPE - 1::SPE], rtol=1e-12)
    assert h["eval_step"] == [4, 8, 12, 16]
    for n in range(2, 5):  # the running peak after n evaluations
        try:
            peak = l2.time_to_peak(h["eval_step"][:n], h["test_acc"][:n])
        except Exception:  # a flat curve so far: the clock logs NaN
            assert math.isnan(h["tstar_step"][n - 1])
            continue
        assert h["tstar_step"][n - 1] == peak.step
        assert h["tstar_time"][n - 1] == pytest.approx(tau[peak.step - 1], rel=1e-12)


def test_the_clock_weights_each_group_by_its_parameters():
    a, b = torch.nn.Parameter(torch.zeros(3)), torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([{"params": [a], "lr": 0.1, "weight_decay": 0.01},
                           {"params": [b], "lr": 0.4, "weight_decay": 0.02}], lr=0.1)
    weights = th.group_weights(opt)
    assert weights == [3, 1]
    assert th.mean_group(opt, "lr", weights) == pytest.approx((3 * 0.1 + 0.4) / 4)
    clock = th.L2Clock(every=1)
    state = train.TrainState(torch.nn.Linear(1, 1), opt, config(), torch.device("cpu"), None)
    clock.on_train_start(state)
    clock.before_optimizer_step(state, None)
    assert clock.tau == pytest.approx((3 * 0.1 * 0.01 + 0.4 * 0.02) / 4)


def test_the_thermometers_resume_exactly(tmp_path, monkeypatch):
    monkeypatch.setenv("THERMO_CHECKPOINTS", str(tmp_path / "ckpt"))
    ref_model = mlp()
    ref, _ = fit(ref_model)
    with pytest.raises(KeyboardInterrupt):
        fit(mlp(), stop_at=2 * SPE + 1, run_id="cut")
    model = mlp(seed=99)  # other weights: the checkpoint wins
    res, therm = fit(model, run_id="cut")
    assert res.resumed_from_epoch == 2
    assert res.history == ref.history and res.step_history == ref.step_history
    for a, b in zip(model.state_dict().values(), ref_model.state_dict().values()):
        assert torch.equal(a, b)
    assert therm.clock.eval_steps == [4, 8, 12, 16] and therm.clock.tau == pytest.approx(ref.history["phys_time"][-1])


def test_every_thermometer_times_its_own_work():
    res, therm = fit(mlp())
    seconds = therm.seconds()
    assert set(seconds) == {"alpha", "apt", "logit", "clock"} and all(v > 0 for v in seconds.values())
    assert sum(seconds.values()) < res.wall_seconds
    assert therm.record()["instrument_seconds"] == seconds


def test_layer_pairs_of_a_resnet_skip_the_shortcut():
    pairs = dict(th.layer_pairs(models.build("resnet20", (1, 28, 28), 10, width=0.5)))
    assert pairs["stem.2"] == "stem.0" and pairs["layers.3.relu1"] == "layers.3.conv1"
    assert pairs["layers.3.relu2"] == "layers.3.conv2"  # the shortcut conv is registered after relu2


def test_a_smoke_run_records_every_reading():
    """One smoke point of syn-schedules end to end (the MLP of the smoke profile)."""
    from thermo.papers.synthesis import runs

    rec = runs.syn_run(sync.point("smoke", "autol2", 43))
    assert rec["status"] == "ok"
    sh, info = rec["step_history"], rec["thermometers"]
    for key in ("apt_position", "logit_scale", "eff_lr", "phys_time", *(f"alpha:{n}" for n in info["alpha_layers"])):
        assert key in sh
    assert len(info["pairs"]) == 5 and rec["l2_decays"] == sorted(rec["l2_decays"])


# --- fabricated records --------------------------------------------------------------------------

EPOCHS, R_SPE, R_EVERY = 6, 10, 2
LAYERS = [f"l{k}" for k in range(5)]
RELUS = [f"r{k}" for k in range(5)]


def record(schedule="cosine", seed=43, beta=1.0, cool=None, excess=None, apt_of=None, tau_rate=1.0,
           logit=1.0, tstar=(50, 0.5), seconds=None, train_seconds=100.0):
    """A record of syn-schedules: ReLU k's APT halves at epoch ``cool[k]`` (exponential decay unless
    ``apt_of(step, tau)`` gives the mean), layer k ends with alpha excess ``excess[k]`` over a random
    alpha of 2 + k / 10, the clock runs at ``tau_rate`` per step, the final logit scale is ``logit``."""
    cool = cool if cool is not None else [2.0 + 0.5 * k for k in range(5)]
    excess = excess if excess is not None else [0.1 * k for k in range(5)]
    steps = list(range(R_EVERY, EPOCHS * R_SPE + 1, R_EVERY))
    epochs = list(range(0, EPOCHS * R_SPE + 1, R_SPE))
    sh = {}

    def put(key, xs, f):
        sh[f"step:{key}"], sh[key] = list(xs), [float(f(x)) for x in xs]

    for relu, c in zip(RELUS, cool):
        put(f"apt_position:{relu}", steps, lambda s, c=c: 4.0 * 2.0 ** (-(s / R_SPE) / c))
    mean_apt = (lambda s: apt_of(s, tau_rate * s)) if apt_of else (lambda s: float(np.mean(
        [sh[f"apt_position:{r}"][steps.index(s)] for r in RELUS])))
    put("apt_position", steps, mean_apt)
    for k, (layer, e) in enumerate(zip(LAYERS, excess)):
        put(f"alpha:{layer}", epochs, lambda s, k=k, e=e: 2 + k / 10 + e * s / (EPOCHS * R_SPE))
    put("logit_scale", epochs, lambda s: logit * (0.5 + 0.5 * s / (EPOCHS * R_SPE)))
    put("eff_lr", steps, lambda s: 0.1 * beta ** 2)
    put("phys_time", steps, lambda s: tau_rate * s)
    ev = list(range(R_SPE, EPOCHS * R_SPE + 1, R_SPE))
    history = {"epoch": list(range(1, EPOCHS + 1)), "test_acc": [0.5] * EPOCHS, "eval_step": ev,
               "phys_time": [tau_rate * s for s in ev], "tstar_step": [float(tstar[0])] * EPOCHS,
               "tstar_time": [float(tstar[1])] * EPOCHS}
    info = {"relu_layers": RELUS, "alpha_layers": LAYERS, "shapes": {n: [64, 64] for n in LAYERS},
            "alpha_baseline": {n: 2 + k / 10 for k, n in enumerate(LAYERS)},
            "pairs": [list(p) for p in zip(RELUS, LAYERS)],
            "beta": beta, "every": R_EVERY, "probe_size": 8,
            "instrument_seconds": seconds or {"alpha": 1.0, "apt": 2.0, "logit": 0.5, "clock": 0.5}}
    data = {"step_history": sh, "history": history, "thermometers": info, "final_test_acc": 0.5,
            "train_seconds": train_seconds, "steps_done": EPOCHS * R_SPE, "epochs_done": EPOCHS}
    cfg = {"schedule": schedule, "seed": seed, "beta": beta, "epochs": EPOCHS, "n_train": R_SPE * 32, "batch_size": 32}
    return {"config": cfg, "data": data, "status": "ok"}


SEEDS = (43, 37, 13)


def all_runs(**per_schedule):
    """Every schedule and seed; ``per_schedule[schedule](seed)`` gives the record's keywords."""
    return [record(s, seed, **per_schedule.get(s, lambda seed: {})(seed)) for seed in SEEDS for s in sync.SCHEDULES]


def test_cooling_time_interpolates_the_first_crossing_of_half():
    e, m = np.arange(1.0, 6.0), np.array([4.0, 3.0, 1.5, 1.0, 0.5])
    assert syn.cooling_time(e, m) == pytest.approx(np.interp(2.0, m[::-1], e[::-1]))
    assert syn.cooling_time(e, np.full(5, 2.0)) == 6.0  # never below half: censored one epoch after the end


def test_epoch_means_and_alpha_excess_of_a_record():
    r = record()
    e, m = syn.epoch_means(r, "apt_position:r0")
    assert e.tolist() == list(range(1, EPOCHS + 1))
    first = [4.0 * 2.0 ** (-(s / R_SPE) / 2.0) for s in range(2, 11, 2)]
    assert m[0] == pytest.approx(np.mean(first))
    ex = syn.alpha_excess(r)
    assert ex.values[0] == pytest.approx(0.0) and ex.values[-1] == pytest.approx(np.mean([0.1 * k for k in range(5)]))


def test_cool_alpha_correlation_is_spearman_of_cooling_and_excess():
    cool, excess = [2.0, 4.0, 3.0, 5.0, 2.5], [0.3, 0.1, 0.4, 0.0, 0.2]
    t = syn.layer_table(record(cool=cool, excess=excess))
    expected_cool = [syn.cooling_time(*syn.epoch_means(record(cool=cool), f"apt_position:{r}")) for r in RELUS]
    np.testing.assert_allclose(t["cooling epoch"], expected_cool)
    table = syn.cool_alpha_table([record(cool=cool, excess=excess)])
    rho = st.spearmanr(expected_cool, excess).statistic
    assert table["rho (cooling, excess)"].iloc[0] == pytest.approx(rho)
    alphas = [2 + k / 10 + e for k, e in enumerate(excess)]
    assert table["rho (cooling, alpha)"].iloc[0] == pytest.approx(st.spearmanr(expected_cool, alphas).statistic)


def test_within_shapes_correlates_only_square_layers_of_one_width():
    """Two widths of square layers (4 each) and one non-square layer: the within-shape value is the
    mean of the two widths' Spearman correlations, computed here with scipy on the groups by hand."""
    t = pd.DataFrame({"channels": [8] * 4 + [16] * 4 + [16], "square": [True] * 8 + [False],
                      "cooling epoch": [1.0, 2.0, 3.0, 4.0, 1.0, 2.0, 3.0, 4.0, 9.0],
                      "alpha excess": [0.4, 0.3, 0.2, 0.1, 0.1, 0.3, 0.2, 0.4, -5.0]})
    expected = np.mean([st.spearmanr([1, 2, 3, 4], [0.4, 0.3, 0.2, 0.1]).statistic,
                        st.spearmanr([1, 2, 3, 4], [0.1, 0.3, 0.2, 0.4]).statistic])
    assert syn.within_shapes(t) == pytest.approx(expected)
    assert np.isnan(syn.within_shapes(t.iloc[:3]))  # fewer than WITHIN_MIN layers of one width
    table = syn.cool_alpha_table(all_runs())  # every fixture layer is square, 64 channels, 5 of them
    expected = st.spearmanr([2.0 + 0.5 * k for k in range(5)], [0.1 * k for k in range(5)]).statistic
    np.testing.assert_allclose(table["rho (cooling, excess within shapes)"], expected)
    widths = syn.width_summary(all_runs())
    assert list(widths.index) == [64] and widths["alpha excess"].iloc[0] == pytest.approx(0.2)


def test_over_seeds_pools_every_run_of_a_seed():
    e = syn.over_seeds({1: [0.0, 0.0, 0.0], 2: [1.0]})
    assert e.value == pytest.approx(0.25) and e.method == "bootstrap over seeds" and e.n == 2
    assert 0.0 <= e.lo <= e.value <= e.hi <= 1.0
    with pytest.raises(MissingResults):
        syn.over_seeds({1: [0.5], 2: [np.nan]})


def test_order_difference_against_direct_correlations():
    base = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    orders = {("cosine", 43): base, ("cosine", 37): base[[1, 0, 2, 3, 4]], ("cosine", 13): base[[0, 1, 2, 4, 3]],
              ("tempbalance", 43): base[::-1], ("tempbalance", 37): base, ("tempbalance", 13): base[[2, 1, 0, 3, 4]]}
    pairs = syn.order_pairs(orders)
    assert len(pairs) == 3 + 6
    rho = {k: st.spearmanr(a, b).statistic for k, (a, b) in {
        "cc": (orders[("cosine", 43)], orders[("cosine", 37)])}.items()}
    row = pairs[(pairs.pair == "cosine vs cosine") & (pairs[["seed a", "seed b"]].min(axis=1) == 37)
                & (pairs[["seed a", "seed b"]].max(axis=1) == 43)]
    assert row.rho.iloc[0] == pytest.approx(rho["cc"])
    tb = [st.spearmanr(orders[("tempbalance", a)], orders[("cosine", b)]).statistic
          for a in SEEDS for b in SEEDS if a != b]
    cc = [st.spearmanr(orders[("cosine", a)], orders[("cosine", b)]).statistic
          for a, b in ((43, 37), (43, 13), (37, 13))]
    assert syn.order_estimate(pairs).value == pytest.approx(np.mean(tb) - np.mean(cc))


def test_alpha_shift_is_the_mean_difference_paired_by_seed():
    runs = all_runs(actcool=lambda seed: {"excess": [0.1 * k + 0.2 + seed / 1000 for k in range(5)]})
    shifts = syn.alpha_shift_table(runs)
    ac = shifts[shifts.schedule == "actcool"].set_index("seed")["alpha shift (1)"]
    for seed in SEEDS:
        assert ac[seed] == pytest.approx(0.2 + seed / 1000)
    assert syn.alpha_shift_estimate(shifts).value == pytest.approx(0.2 + np.mean(SEEDS) / 1000)


def test_clock_table_against_direct_correlations():
    rates = {"cosine": 1.0, "tempbalance": 2.0, "actcool": 0.25, "autol2": 4.0}
    runs = all_runs(**{s: (lambda seed, r=r: {"tau_rate": r, "apt_of": lambda step, tau: np.exp(-tau / 40)})
                       for s, r in rates.items()})
    points = syn.clock_points(runs)
    table = syn.clock_table(points)
    g = points[points.seed == 43]
    assert table.set_index("seed").loc[43, "rho (APT, step)"] == pytest.approx(st.spearmanr(g.apt, g.step).statistic)
    assert table.set_index("seed").loc[43, "rho (APT, eta lambda t)"] == pytest.approx(-1.0)
    assert syn.clock_estimate(table).value > 0


def test_peak_spread_is_the_sd_of_the_logs():
    taus = {"cosine": 1.0, "tempbalance": 2.0, "actcool": 4.0, "autol2": 8.0}
    runs = all_runs(**{s: (lambda seed, t=t: {"tstar": (50, t)}) for s, t in taus.items()})
    e = syn.peak_spread_estimate(syn.peak_table(runs))
    assert e.value == pytest.approx(np.std(np.log(list(taus.values())), ddof=1))
    assert syn.peak_spread_estimate(syn.peak_table(runs), "t* (steps)").value == pytest.approx(0.0)


def test_peaks_at_the_end_of_the_budget_do_not_count():
    """A run still improving at its last evaluation has t* = its budget: such runs are left out, and
    with too few runs left the spread is not measured (the claim says why)."""
    ends = all_runs(**{s: (lambda seed: {"tstar": (EPOCHS * R_SPE, 1.0)}) for s in sync.SCHEDULES})
    peaks = syn.peak_table(ends)
    assert peaks["at the end"].all()
    with pytest.raises(MissingResults, match=f"{len(ends)} of {len(ends)} runs peak at their last evaluation"):
        syn.peak_spread_estimate(peaks)
    mixed = all_runs(cosine=lambda seed: {"tstar": (EPOCHS * R_SPE, 100.0)},  # at the end: its tau* is ignored
                     tempbalance=lambda seed: {"tstar": (40, 2.0)})
    e = syn.peak_spread_estimate(syn.peak_table(mixed))
    assert e.value == pytest.approx(np.std(np.log([2.0, 0.5, 0.5]), ddof=1))


def test_beta_slope_is_the_log_log_least_squares_slope():
    rng = np.random.default_rng(0)
    runs = [record(seed=seed, beta=b, logit=3.0 * b ** 0.4 * np.exp(rng.normal(0, 0.05)))
            for seed in SEEDS for b in (0.5, 1.0, 2.0)]
    logits = syn.logit_table(runs)
    e = syn.beta_slope_estimate(logits)
    slope, _ = np.polyfit(np.log(logits.beta), np.log(logits["logit scale"]), 1)
    assert e.value == pytest.approx(slope) and e.method == "regression t" and e.n == 9
    np.testing.assert_allclose(logits["z scale"], logits["logit scale"] / logits.beta)


def test_cost_shares_are_seconds_over_the_rest_of_the_run():
    costs = syn.cost_table([record(seconds={"alpha": 2.0, "apt": 4.0, "logit": 1.0, "clock": 1.0},
                                   train_seconds=108.0)])
    row = costs.iloc[0]
    assert row["training (s)"] == 100.0 and row["apt (%)"] == pytest.approx(4.0) and row["all four (%)"] == 8.0


def test_reading_curves_average_the_seeds():
    runs = [record(seed=s, logit=v) for s, v in ((43, 1.0), (37, 3.0))]
    c = syn.reading_curves(runs)
    last = c[(c.reading == "logit_scale")].sort_values("epoch").iloc[-1]
    assert last.value == pytest.approx(2.0) and last.seeds == 2 and last.epoch == EPOCHS


def test_answer_says_when_the_data_cannot_tell():
    from thermo.claims import Estimate

    assert "cannot tell" in syn.answer(Estimate(0.1, -0.2, 0.3, 3, method="bootstrap over seeds"), "yes", "no")
    assert syn.answer(Estimate(0.4, 0.2, 0.6, 3, method="bootstrap over seeds"), "yes", "no").endswith("yes")
    assert syn.answer(Estimate(-0.4, -0.6, -0.2, 3, method="bootstrap over seeds"), "yes", "no").endswith("no")
    assert syn.answer(None, "yes", "no", "too few seeds") == "not measurable (too few seeds)"


# --- every claim flips both ways -----------------------------------------------------------------

def reversed_order(seed):
    return {"cool": [5.0 - 0.5 * k for k in range(5)]}


FLIPS = {  # claim: (records that reproduce it, records that contradict it); {experiment: records}
    "syn-cool-alpha": (all_runs(), all_runs(**{s: (lambda seed: {"excess": [0.4 - 0.1 * k for k in range(5)]})
                                               for s in sync.SCHEDULES})),
    "syn-tb-order": (all_runs(), all_runs(tempbalance=reversed_order)),
    "syn-actcool-alpha": (all_runs(), all_runs(actcool=lambda seed: {"excess": [0.1 * k + 0.5 for k in range(5)]})),
    "syn-apt-clock": (
        all_runs(**{s: (lambda seed, r=r: {"tau_rate": r, "apt_of": lambda step, tau: np.exp(-tau / 40)})
                    for s, r in {"cosine": 1.0, "tempbalance": 2.0, "actcool": 0.25, "autol2": 4.0}.items()}),
        all_runs(**{s: (lambda seed, r=r: {"tau_rate": r, "apt_of": lambda step, tau: np.exp(-step / 20)})
                    for s, r in {"cosine": 1.0, "tempbalance": 2.0, "actcool": 0.25, "autol2": 4.0}.items()})),
    "syn-peak-clock": (all_runs(), all_runs(**{s: (lambda seed, t=t: {"tstar": (50, t)})
                                               for s, t in {"cosine": 1.0, "actcool": 4.0, "autol2": 8.0}.items()})),
    "syn-cost": (all_runs(), all_runs(**{s: (lambda seed: {"train_seconds": 150.0,
                                                           "seconds": {"alpha": 20.0, "apt": 20.0, "logit": 5.0,
                                                                       "clock": 5.0}})
                                         for s in sync.SCHEDULES})),
}


def beta_runs(slope):
    rng = np.random.default_rng(1)
    return [record(seed=seed, beta=b, logit=2.0 * b ** slope * np.exp(rng.normal(0, 0.01)))
            for seed in SEEDS for b in (0.5, 2.0)]


def cosine_at_one(slope):
    rng = np.random.default_rng(2)
    return [record(seed=seed, logit=2.0 * np.exp(rng.normal(0, 0.01))) for seed in SEEDS] + [
        record(s, seed) for seed in SEEDS for s in sync.SCHEDULES[1:]]


def assess_with(monkeypatch, claim_id, schedules, betas=()):
    monkeypatch.setattr(claims, "cached_records",
                        lambda eid, profile: {"syn-schedules": schedules, "syn-beta": list(betas)}[eid])
    claim = next(c for c in syn_claims.CLAIMS if c.id == claim_id)
    return claims.assess(claim, "quick")


@pytest.mark.parametrize("claim_id", list(FLIPS))
def test_every_claim_flips_both_ways(monkeypatch, claim_id):
    good, bad = FLIPS[claim_id]
    yes = assess_with(monkeypatch, claim_id, good)
    no = assess_with(monkeypatch, claim_id, bad)
    assert yes.status == "reproduced", (yes.ours, yes.claim.rule.text)
    assert no.status == "contradicted", (no.ours, no.claim.rule.text)


def test_the_logit_claim_flips_both_ways(monkeypatch):
    assert assess_with(monkeypatch, "syn-logit-beta", cosine_at_one(0.0), beta_runs(0.0)).status == "reproduced"
    assert assess_with(monkeypatch, "syn-logit-beta", cosine_at_one(1.0), beta_runs(1.0)).status == "contradicted"


def test_claims_without_records_are_not_yet_tested(monkeypatch):
    def missing(eid, profile):
        raise MissingResults(f"{eid} is not cached")

    monkeypatch.setattr(claims, "cached_records", missing)
    table = syn_claims.table("quick")
    assert set(table.status) == {"not yet tested"} and len(table) == len(syn_claims.CLAIMS)


def test_claims_are_ours_and_worded_without_a_paper():
    for c in syn_claims.CLAIMS:
        assert c.paper == syn_claims.SOURCE and c.id.startswith("syn-") and c.paper_value == syn_claims.NO_PAPER
        assert "the paper's effect" not in c.rule.text and c.chapter == syn_claims.CHAPTER


def test_configs_use_the_same_seeds_for_every_schedule():
    for profile in ("smoke", "quick", "paper"):
        cfgs = sync.schedule_configs(profile)
        seeds = {s: sorted(c["seed"] for c in cfgs if c["schedule"] == s) for s in sync.SCHEDULES}
        assert len({tuple(v) for v in seeds.values()}) == 1 and len(seeds["cosine"]) >= 3
        assert all(math.isclose(c["lr"] * c["beta"], cfgs[0]["lr"]) for c in sync.beta_configs(profile))


def test_figures_are_legible_and_drawn_from_fabricated_records():
    from thermo import figures
    from thermo.papers.synthesis import plots

    runs = all_runs()
    peaks = syn.peak_table(runs)
    cool = syn.cool_alpha_table(runs)
    shifts = syn.alpha_shift_table(runs)
    orders = syn.cooling_orders(runs)
    pairs = syn.order_pairs(orders)
    logits = syn.logit_table(cosine_at_one(0.0) + beta_runs(0.0))
    figs = [plots.readings_figure(syn.reading_curves(runs), peaks),
            plots.cool_alpha_figure(syn.first_seed_layers(runs), cool, syn.cool_alpha_estimate(cool)),
            plots.order_figure(orders, pairs, syn.order_estimate(pairs)),
            plots.alpha_shift_figure(syn.alpha_profiles(runs), shifts, syn.alpha_shift_estimates(shifts)),
            plots.clock_figure(syn.clock_points(runs), peaks),
            plots.logit_figure(logits, syn.beta_slope_estimate(logits))]
    for fid, fig in zip(plots.CAPTIONS, figs):
        assert figures.legibility(fig)["page_font_px"] >= figures.MIN_FONT_PX, fid
        assert figures.plotted_rows(fig), fid
        matplotlib.pyplot.close(fig)
    assert all(fid.startswith("syn-") for fid in plots.CAPTIONS)


def test_tables_the_chapter_shows_have_units():
    from thermo import tables

    runs = all_runs()
    tables.show(syn.reading_summary(syn.final_readings(runs)), unitless=syn.UNITLESS)
    tables.show(syn.clock_table(syn.clock_points(runs)), unitless=syn.UNITLESS)
    tables.show(syn.cost_summary(syn.cost_table(runs)))
    assert isinstance(syn.reading_summary(syn.final_readings(runs)), pd.DataFrame)
