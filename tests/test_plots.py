"""Plot helpers draw what they say: checked on the artists, against independent numbers."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from thermo import htsr, plots  # noqa: E402
from thermo.experiments.tempbalance_esd import hill_bias_factor, s_vs_alpha  # noqa: E402


@pytest.fixture(scope="module")
def rows():
    return s_vs_alpha({"sizes": [16, 64], "s_values": [0.5, 1.0, 2.0], "seed": 0})["rows"]


def test_s_error_table_matches_the_closed_form(rows):
    table = plots.s_error_table(rows)
    assert list(table.M) == [16, 64]
    np.testing.assert_allclose(table["mean error, eq. 3"], [1 - hill_bias_factor(16), 1 - hill_bias_factor(64)],
                               rtol=1e-8)
    assert (table["eigenvalue round-off"] < 1e-10).all()


def test_s_vs_alpha_panel_draws_every_point_and_the_curve(rows):
    fig, ax = plt.subplots()
    plots.s_vs_alpha(ax, rows)
    assert sum(len(c.get_offsets()) for c in ax.collections) == len(rows)
    (curve,) = ax.get_lines()
    x, y = curve.get_data()
    np.testing.assert_allclose(y, 1 / (x - 1))
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
    alphas, xmins = plots.crosscheck_tables([layer])
    assert alphas.loc[0, "eq. 3 (ours)"] == 2.0 and xmins.loc[0, "tail size, eq. 3"] == 2


# --- L2 chapter ------------------------------------------------------------------------------------

def _tstar_record(width, seed, eta, lam, t_star, peak_at_end=False, steps=1000):
    from thermo import results

    steps_grid = [1, 10, 100, 1000]
    data = {"eval_steps": steps_grid, "test_acc": [0.1, 0.5, 0.9, 0.8], "train_acc": [0.1, 0.5, 1.0, 1.0],
            "t_star": t_star, "peak_acc": 0.9, "c": eta * lam * t_star, "peak_at_end": peak_at_end}
    cfg = {"width": width, "seed": seed, "eta": eta, "lam": lam, "steps": steps}
    return results.make_record("l2-tstar", 1, cfg, data, "ok", None, results.provenance("quick", 0, 1))


def test_l2_slopes_recover_an_exact_law_and_skip_unpassed_peaks():
    from thermo.plots import l2 as l2plots

    recs = [_tstar_record(64, s, eta, lam, 0.3 / (eta * lam) ** 0.8)
            for s in (0, 1) for eta in (0.05, 0.1, 0.2) for lam in (1e-3, 3e-3)]
    recs.append(_tstar_record(64, 0, 0.1, 1e-5, 50.0, peak_at_end=True))  # would spoil the fit if used
    fits = l2plots.slopes(l2plots.runs_table(recs))
    assert len(fits) == 1 and fits.slope.iloc[0] == pytest.approx(-0.8) and fits.slope_se.iloc[0] < 1e-6
    fig, ax = plt.subplots()
    l2plots.tstar_vs_product(ax, l2plots.runs_table(recs))
    hollow = [c for c in ax.collections if len(c.get_offsets()) and not c.get_facecolor().any()]
    assert sum(len(c.get_offsets()) for c in hollow) == 1
    plt.close(fig)


def test_l2_budget_table_picks_the_best_lambda_within_each_budget():
    from thermo import results
    from thermo.plots import l2 as l2plots

    def run(lam, accs):
        cfg = {"width": 8, "seed": 0, "eta": 0.1, "lam": lam, "steps": 100}
        return results.make_record("l2-tstar", 1, cfg, {"eval_steps": [10, 100, 1000], "test_acc": accs}, "ok",
                                   None, results.provenance("quick", 0, 1))

    recs = [run(1e-2, [0.8, 0.85, 0.85]), run(1e-3, [0.6, 0.8, 0.95])]  # big lambda early, small late
    table = l2plots.budget_table(recs, eta=0.1, width=8, budgets=[10, 100, 1000], c=0.1)
    assert list(table["best lambda (sweep)"]) == [1e-2, 1e-2, 1e-3]
    assert list(table["predicted lambda"]) == pytest.approx([0.1, 0.01, 0.001])
