"""thermo.claims: rules flip status where their numbers cross; missing results give
`not yet tested`, never an exception; the chapter-1 claim against its closed form."""

import pytest

from thermo import claims, experiments, results
from thermo.claims import Measurement
from thermo.errors import ConfigError
from thermo.experiments.tempbalance_esd import hill_bias_factor


@pytest.mark.parametrize("value,unc,status", [
    (-1.0, 0.0, "reproduced"), (-1.14, 0.0, "reproduced"), (-0.84, 0.0, "partly"), (-1.29, 0.0, "partly"),
    (-0.5, 0.2, "partly"), (-0.5, 0.05, "not at this scale"), (0.4, 0.1, "contradicted"),
    (0.4, 0.3, "not at this scale"),
])
def test_slope_rule(value, unc, status):
    assert claims.slope_rule(-1.0, 0.15)(Measurement(value, unc)) == status


@pytest.mark.parametrize("value,status", [(0.95, "reproduced"), (0.9, "reproduced"), (0.89, "partly"),
                                          (0.7, "partly"), (0.69, "not at this scale")])
def test_at_least(value, status):
    assert claims.at_least(0.9, 0.7)(Measurement(value)) == status


@pytest.mark.parametrize("value,status", [(0.1, "reproduced"), (0.2, "reproduced"), (0.21, "partly"),
                                          (0.41, "not at this scale")])
def test_at_most(value, status):
    assert claims.at_most(0.2, 0.4)(Measurement(value)) == status


@pytest.mark.parametrize("value,unc,status", [(1.05, None, "reproduced"), (0.85, None, "partly"),
                                              (1.5, 0.2, "partly"), (1.5, 0.1, "not at this scale")])
def test_within(value, unc, status):
    assert claims.within(1.0, 0.1)(Measurement(value, unc)) == status


@pytest.mark.parametrize("value,half,status", [(0.5, 0.3, "reproduced"), (0.2, 0.3, "partly"),
                                               (-0.2, 0.3, "not at this scale"), (-0.5, 0.3, "contradicted"),
                                               (0.5, None, "partly")])
def test_positive_difference(value, half, status):
    assert claims.positive_difference()(Measurement(value, half)) == status


def test_rules_print_their_thresholds():
    assert "0.15" in claims.slope_rule(-1, 0.15).text and "0.3" in claims.slope_rule(-1, 0.15).text
    assert "20 %" in claims.at_most(0.2, 0.4, unit="%").text
    assert "1 pt" in claims.within(0.0, 0.01, unit="pt").text


def _claim(measure):
    return claims.Claim("zz-test", "l2", "Fig. 0", "a statement", "1", claims.at_least(0.5, 0.2), measure=measure)


def test_missing_results_give_not_yet_tested():
    def measure(profile):
        raise claims.MissingResults("3 of 4 points are not cached")

    a = claims.assess(_claim(measure), "quick")
    assert a.status == "not yet tested" and a.note == "3 of 4 points are not cached" and a.ours == "-"
    assert claims.assess(_claim(None), "quick").status == "not yet tested"


def test_a_rule_that_returns_nonsense_is_an_error():
    bad = claims.Claim("zz-bad", "l2", "x", "x", "x", claims.Rule("r", lambda m: "great"),
                       measure=lambda p: Measurement(1))
    with pytest.raises(ConfigError, match="a rule returned 'great'"):
        claims.assess(bad, "quick")


def test_empty_store_never_raises(tmp_root):
    rows = claims.assess_all("quick")
    assert {a.status for a in rows} == {"not yet tested"}
    assert len(rows) >= 12 and len({a.claim.id for a in rows}) == len(rows)
    table = claims.table("quick")
    assert list(table.columns[:3]) == ["claim", "paper", "where"] and len(table) == len(rows)


def _store_fig9(errors_by_m: dict):
    """A Fig. 9 record for the current quick config whose s_hat has the given relative errors."""
    exp = experiments.get("tb-s-vs-alpha")
    cfg = exp.configs("quick")[0]
    rows = [{"m": m, "s": s, "s_hat_eq3": s * (1 - e)} for m, e in errors_by_m.items() for s in (0.5, 1.0, 2.0)]
    rec = results.make_record(exp.id, exp.version, cfg, {"rows": rows}, "ok", None,
                              results.provenance("quick", 0.0, 1.0))
    results.Store.for_profile("quick").save(rec)


@pytest.mark.parametrize("errors,status", [
    ({16: 0.10, 256: 0.03, 1024: 0.019}, "reproduced"),
    ({16: 0.10, 256: 0.03, 1024: 0.021}, "partly"),          # shrinks, but not under 2 %
    ({16: 0.10, 256: 0.01, 1024: 0.015}, "partly"),          # under 2 %, but does not shrink at every step
    ({16: 0.01, 256: 0.03, 1024: 0.05}, "contradicted"),
])
def test_fig9_claim_flips_where_its_rule_says(tmp_root, errors, status):
    _store_fig9(errors)
    a = claims.assess(claims.load_all()["tb-s-alpha"], "quick")
    assert a.status == status
    assert a.measurement.value == pytest.approx(errors[1024])


def test_fig9_claim_on_the_cached_results_is_the_closed_form():
    a = claims.assess(claims.load_all()["tb-s-alpha"], "quick")
    assert a.measurement.value == pytest.approx(1 - hill_bias_factor(1024), rel=1e-6)
    assert a.status == "reproduced"


def test_register_checks_its_input():
    with pytest.raises(ConfigError, match="lower-case"):
        claims.register(claims.Claim("TB 1", "l2", "x", "x", "x", claims.at_least(1, 0)))
    with pytest.raises(ConfigError, match="unknown paper 'nature'"):
        claims.register(claims.Claim("zz-x", "nature", "x", "x", "x", claims.at_least(1, 0)))


def test_a_chapter_measure_replaces_a_planned_claim_but_not_the_reverse():
    reg = dict(claims.REGISTRY)
    try:
        planned = claims.Claim("zz-plan", "l2", "x", "x", "x", claims.at_least(1, 0))
        tested = claims.Claim("zz-plan", "l2", "x", "x", "x", claims.at_least(1, 0), measure=lambda p: Measurement(1))
        claims.register(planned)
        claims.register(tested)
        claims.register(planned)
        assert claims.REGISTRY["zz-plan"] is tested
    finally:
        claims.REGISTRY.clear()
        claims.REGISTRY.update(reg)
