"""The one verdict policy (DESIGN.md section 8) against hand-computed cases: intervals, the
smallest detectable effect, and each rule's statuses."""

import pytest
from scipy import stats as st

from thermo import claims
from thermo.claims import Estimate
from thermo.errors import ConfigError


def est(lo, hi, value=None, n=10, se=None, df=None):
    value = (lo + hi) / 2 if value is None else value
    return Estimate(value, lo, hi, n, method="t over runs", se=se, df=df)


def test_a_paired_interval_by_hand():
    e = Estimate.paired([1, 2, 3, 4], [0, 0, 0, 0], unit="pt")
    se = (1.2909944487358056 / 2)  # sd of 1..4 over sqrt(4)
    assert e.value == 2.5 and e.n == 4 and e.df == 3 and e.se == pytest.approx(se)
    assert (e.lo, e.hi) == pytest.approx((2.5 - 3.182446305284263 * se, 2.5 + 3.182446305284263 * se))
    assert e.detectable() == pytest.approx((3.182446305284263 + 0.9784723123633045) * se)
    assert e.text() == "250 [44.6, 455] pt"  # 2.5 -+ 3.1824 * 0.6455 = [0.446, 4.55]


def test_a_regression_interval_and_an_exact_value():
    e = Estimate.regression(1.0, 0.1, 12)
    assert (e.lo, e.hi) == pytest.approx((1 - 0.2228138851986274, 1 + 0.2228138851986274))
    assert e.text() == "1 [0.777, 1.22]"
    x = Estimate.exact(0.25)
    assert x.text() == "0.25" and x.detectable() == 0.0


def test_a_bootstrap_interval_covers_the_mean_of_a_known_distribution():
    import numpy as np

    draws = np.random.default_rng(1).normal(3.0, 1.0, 400)
    e = Estimate.bootstrap(draws, np.mean)
    assert e.lo < 3.0 < e.hi and e.hi - e.lo == pytest.approx(2 * 1.96 / 20, rel=0.15)


@pytest.mark.parametrize("lo,hi,status", [(-1.1, -0.9, "reproduced"), (-0.8, -0.7, "contradicted"),
                                          (-1.5, -0.3, "inconclusive"), (-1.2, -0.8, "partly")])
def test_point_value_rule(lo, hi, status):
    rule = claims.point_value(-1.0, "exponent")
    assert rule(est(lo, hi)) == status
    assert "margin 0.15" in rule.text and rule.margin == 0.15


def test_direction_rule_separates_a_powered_null_from_an_underpowered_one():
    rule = claims.direction(0.004)
    assert rule(est(0.001, 0.01)) == "reproduced"
    assert rule(est(-0.01, -0.001)) == "contradicted"
    wide = est(-0.006, 0.006, n=6, se=0.006 / st.t.ppf(0.975, 5), df=5)  # detects ~0.009 > 0.004
    assert wide.detectable() > 0.004 and rule(wide) == "inconclusive"
    tight = est(-0.001, 0.001, n=40, se=0.001 / st.t.ppf(0.975, 39), df=39)  # detects ~0.0014 < 0.004
    assert tight.detectable() < 0.004 and rule(tight) == "absent at this scale"


@pytest.mark.parametrize("lo,hi,status", [(0.02, 0.05, "reproduced"), (0.07, 0.1, "contradicted"),
                                          (0.05, 0.07, "partly")])
def test_bound_rule(lo, hi, status):
    assert claims.bound(0.06, at_most=True)(est(lo, hi)) == status
    flipped = {"reproduced": "contradicted", "contradicted": "reproduced", "partly": "partly"}[status]
    assert claims.bound(0.06, at_most=False)(est(lo, hi)) == flipped


@pytest.mark.parametrize("make,message", [
    (lambda: Estimate(1.0, 2.0, 0.5, 5, method="t over runs"), "an interval needs lo <= hi, got [2, 0.5]"),
    (lambda: Estimate(1.0, 0.5, 2.0, 1, method="t over runs"), "an interval needs at least 2 samples, got n=1"),
    (lambda: Estimate(1.0, 0.5, 2.0, 5, method="eyeballed"), "the interval's method must be one of"),
    (lambda: claims.direction(0.0), "a direction claim needs the paper's effect > 0, got 0.0"),
    (lambda: claims.point_value(1.0, "vibes"), "no margin for 'vibes'"),
])
def test_bad_policy_inputs_get_one_clear_error(make, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        make()


def test_a_margin_that_is_not_positive_is_refused(monkeypatch):
    monkeypatch.setitem(claims.MARGINS, "exponent", (0.0, "no room"))
    with pytest.raises(ConfigError, match="the margin of 'exponent' must be a positive number, got 0.0"):
        claims.point_value(-1.0, "exponent")
