"""TempBalance chapter 1's tables and panels draw and say what they should: checked on the artists,
against independent numbers (closed forms, numpy)."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from thermo import htsr  # noqa: E402
from thermo.errors import ConfigError  # noqa: E402
from thermo.htsr import hill_bias_factor  # noqa: E402
from thermo.papers.tempbalance import analysis, plots  # noqa: E402
from thermo.papers.tempbalance.runs import s_vs_alpha  # noqa: E402


@pytest.fixture(scope="module")
def rows():
    return s_vs_alpha({"sizes": [16, 64], "s_values": [0.5, 1.0, 2.0], "seed": 0})["rows"]


def test_s_error_table_matches_the_closed_form(rows):
    table = analysis.s_error_table(rows)
    assert list(table.M) == [16, 64]
    np.testing.assert_allclose(table["mean error, eq. 3"], [1 - hill_bias_factor(16), 1 - hill_bias_factor(64)],
                               rtol=1e-8)
    assert (table["eigenvalue round-off"] < 1e-10).all()


def test_s_error_by_size_against_numpy(rows):
    e = analysis.s_error_by_size(rows, "official")
    for m in (16, 64):
        errs = np.array([abs(r["s_hat_official"] - r["s"]) / r["s"] for r in rows if r["m"] == m])
        assert (e.loc[m, "mean"], e.loc[m, "std"], e.loc[m, "max"]) == pytest.approx(
            (errs.mean(), errs.std(), errs.max()))
    acc = analysis.s_alpha_accuracy(rows)
    assert acc.sizes == (16, 64) and acc.decreasing and acc.n_rows == 6 and acc.n_at_largest == 3
    assert acc.mean == pytest.approx(1 - hill_bias_factor(64), rel=1e-8)


def test_fig9_facts_format_the_smallest_and_largest_size(rows):
    facts = analysis.fig9_facts(rows)
    assert facts["tb-fig9-m-min"] == "16" and facts["tb-fig9-m-max"] == "64"
    assert facts["tb-fig9-err-min"] == f"{100 * (1 - hill_bias_factor(16)):.1f} %"
    assert facts["tb-fig9-err-max"] == f"{100 * (1 - hill_bias_factor(64)):.2f} %"
    assert analysis.fig9_grid(rows) == {"sizes": [16, 64], "n_s": 3, "s_min": 0.5, "s_max": 2.0}


@pytest.mark.parametrize("m,rule", [(1, "eq3"), (2.5, "eq3"), (True, "eq3"), (16, "ks")])
def test_hill_bias_factor_rejects_bad_input(m, rule):
    with pytest.raises(ConfigError):
        hill_bias_factor(m, rule)


def test_s_vs_alpha_panel_draws_every_point_and_the_curve(rows):
    fig, ax = plt.subplots()
    plots.s_vs_alpha(ax, rows)
    assert sum(len(c.get_offsets()) for c in ax.collections) == len(rows)
    (curve,) = ax.get_lines()
    x, y = curve.get_data()
    np.testing.assert_allclose(y, 1 / (x - 1))
    plt.close(fig)


def test_s_error_panel_draws_the_measured_error_and_the_closed_form(rows):
    fig = plots.fig9_figure(rows)
    lines = {ln.get_label(): ln for ln in fig.axes[1].get_lines()}
    np.testing.assert_allclose(lines["measured (eq3)"].get_ydata(), lines["closed form (eq3)"].get_ydata(), rtol=1e-8)
    np.testing.assert_allclose(lines["closed form (official)"].get_ydata(),
                               [1 - hill_bias_factor(m, "official") for m in (16, 64)])
    plt.close(fig)


def test_esd_panel_draws_threshold_and_a_line_of_slope_minus_alpha():
    rng = np.random.default_rng(0)
    eigs = np.sort(rng.pareto(1.2, size=400) + 1.0)
    fit = htsr.hill_fit(eigs)
    layer = {"name": "toy", "shape": [20, 20], "eigs": eigs, "xmin_eq3": fit.xmin, "alpha_hill": fit.alpha}
    fig, ax = plt.subplots()
    plots.esd_with_hill_fit(ax, layer)
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    assert lines["lambda_min"].get_xdata()[0] == pytest.approx(fit.xmin)
    x, y = lines[f"PL fit, alpha = {fit.alpha:.2f}"].get_data()
    slope = np.polyfit(np.log(x), np.log(y), 1)[0]
    assert slope == pytest.approx(-fit.alpha, rel=1e-9)
    # the fitted density at lambda_min is (k/n)(alpha - 1)/lambda_min
    assert y[0] == pytest.approx(0.5 * (fit.alpha - 1) / fit.xmin, rel=1e-9)
    plt.close(fig)


def test_crosscheck_tables_shapes():
    layer = {"name": "l", "n_eigs": 4, "too_few_eigs": True, "alpha_hill": 2.0, "alpha_official": 2.1,
             "ww_alpha": None, "powerlaw_alpha": None, "xmin_eq3": 1.0, "ww_xmin": None, "powerlaw_xmin": None,
             "eigs": [0.5, 1.0, 2.0, 4.0]}
    alphas, xmins = analysis.crosscheck_tables([layer])
    assert alphas.loc[0, "eq. 3 (ours)"] == 2.0 and xmins.loc[0, "tail size, eq. 3"] == 2


def test_fig1_facts_name_the_most_and_least_heavy_tailed_usable_layers():
    def layer(name, alpha, few=False):
        return {"name": name, "alpha_hill": alpha, "too_few_eigs": few}

    run = {"status": "ok", "data": {
        "train": {"history": {"epoch": [1, 2], "train_loss": [0.5, 0.25], "test_acc": [0.8, 0.9]}},
        "layers": [layer("a", 1.2, few=True), layer("b", 2.5), layer("c", 1.9), layer("d", 3.1)]}}
    facts = analysis.fig1_facts(run["data"]["layers"])
    assert facts == {"tb-fig1-heavy": "c (alpha = 1.90)", "tb-fig1-light": "d (alpha = 3.10)"}
    assert analysis.esd_training_facts(run) == {
        "tb-fig1-training": "status ok; after 2 epochs: train loss 0.250, test accuracy 0.900"}


def _fig9_store(monkeypatch, errors_at_largest):
    """A Fig. 9 record whose s_hat at M = 1024 has the given relative errors (one per s), 10 % at M = 16."""
    from thermo import claims

    s_grid = [0.5, 1.0, 2.0, 3.0][:len(errors_at_largest)]
    rows = [{"m": 16, "s": s, "s_hat_eq3": s * 0.9} for s in s_grid]
    rows += [{"m": 1024, "s": s, "s_hat_eq3": s * (1 - e)} for s, e in zip(s_grid, errors_at_largest)]
    monkeypatch.setattr(claims, "cached_records", lambda exp, profile: [{"data": {"rows": rows}}])


@pytest.mark.parametrize("errors,status", [
    ((0.006, 0.006, 0.006), "reproduced"),      # the closed-form bias at M = 1024: well inside 10 %
    ((0.20, 0.21, 0.19), "contradicted"),       # e.g. s = 1/alpha instead of 1/(alpha - 1): far outside
    ((0.08, 0.095, 0.11), "partly"),            # straddles the 10 % margin
])
def test_s_alpha_claim_flips_at_the_deviation_margin(monkeypatch, errors, status):
    from thermo import catalog, claims

    _fig9_store(monkeypatch, errors)
    a = claims.assess(catalog.all_claims()["tb-s-alpha"], "quick")
    assert a.status == status
    assert a.measurement.value == pytest.approx(np.mean(errors)) and a.measurement.n == len(errors)
    shrinks = "does not shrink" if errors[0] > 0.1 else "shrinks"
    assert f"the error {shrinks} at every step of M = 16, 1024" in a.note
