"""thermo.claims: rules flip status where their numbers cross; missing results give
`not yet tested`, never an exception; the chapter-1 claim against its closed form."""

import pytest

from thermo import catalog, claims, experiments, report, results
from thermo.claims import Estimate
from thermo.errors import ConfigError
from thermo.htsr import hill_bias_factor


def _claim(measure):
    return claims.Claim("zz-test", "l2", "Fig. 0", "a statement", "1", claims.bound(0.5, at_most=False),
                        measure=measure)


def test_missing_results_give_not_yet_tested():
    def measure(profile):
        raise claims.MissingResults("3 of 4 points are not cached")

    a = claims.assess(_claim(measure), "quick")
    assert a.status == "not yet tested" and a.note == "3 of 4 points are not cached" and a.ours == "-"
    assert claims.assess(_claim(None), "quick").status == "not yet tested"


def test_a_rule_that_returns_nonsense_is_an_error():
    bad = claims.Claim("zz-bad", "l2", "x", "x", "x", claims.Rule("r", lambda m: "great"),
                       measure=lambda p: Estimate.exact(1))
    with pytest.raises(ConfigError, match="a rule returned 'great'"):
        claims.assess(bad, "quick")


def test_empty_store_never_raises(tmp_root):
    rows = report.assess_all("quick")
    assert {a.status for a in rows} == {"not yet tested"}
    assert len(rows) >= 12 and len({a.claim.id for a in rows}) == len(rows)
    table = report.table("quick")
    assert list(table.columns[:3]) == ["claim", "paper", "where"] and len(table) == len(rows)


def _store_fig9(errors_by_m: dict):
    """A Fig. 9 record for the current quick config whose s_hat has the given relative errors."""
    exp = experiments.get("tb-s-vs-alpha")
    cfg = exp.configs("quick")[0]
    rows = [{"m": m, "s": s, "s_hat_eq3": s * (1 - e)} for m, e in errors_by_m.items() for s in (0.5, 1.0, 2.0)]
    rec = results.make_record(exp.id, exp.version, cfg, {"rows": rows}, "ok", None,
                              results.provenance("quick", 0.0, 1.0))
    results.Store.for_profile("quick").save(rec)


def test_fig9_claim_on_the_cached_results_is_the_closed_form():
    a = claims.assess(catalog.all_claims()["tb-s-alpha"], "quick")
    assert a.measurement.value == pytest.approx(1 - hill_bias_factor(1024), rel=1e-6)
    assert a.status == "reproduced"


def test_register_checks_its_input():
    with pytest.raises(ConfigError, match="lower-case"):
        claims.register(claims.Claim("TB 1", "l2", "x", "x", "x", claims.bound(1, at_most=False)))
    with pytest.raises(ConfigError, match="unknown paper 'nature'"):
        claims.register(claims.Claim("zz-x", "nature", "x", "x", "x", claims.bound(1, at_most=False)))


def test_a_chapter_measure_replaces_a_planned_claim_but_not_the_reverse():
    reg = dict(claims.REGISTRY)
    try:
        planned = claims.Claim("zz-plan", "l2", "x", "x", "x", claims.bound(1, at_most=False))
        tested = claims.Claim("zz-plan", "l2", "x", "x", "x", claims.bound(1, at_most=False),
                              measure=lambda p: Estimate.exact(1))
        claims.register(planned)
        claims.register(tested)
        claims.register(planned)
        assert claims.REGISTRY["zz-plan"] is tested
    finally:
        claims.REGISTRY.clear()
        claims.REGISTRY.update(reg)


def test_ours_text_quotes_the_measurement_or_says_why_there_is_none():
    est = claims.Estimate(0.2, 0.1, 0.3, 5, method="paired t over seeds")
    c = claims.Claim("x-demo", "ours", "here", "a demo", "none", claims.point_value(0.2, "exponent"),
                     measure=lambda profile: est)
    a = claims.assess(c, "quick")
    assert report.ours_text(a) == a.ours and "[0.1, 0.3]" in a.ours
    missing = claims.Claim("x-none", "ours", "here", "a demo", "none", claims.point_value(0.2, "exponent"),
                           measure=lambda profile: (_ for _ in ()).throw(claims.MissingResults("3 runs missing")))
    assert report.ours_text(claims.assess(missing, "quick")) == "not yet measured (3 runs missing)"
