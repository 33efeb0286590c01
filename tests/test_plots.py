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
