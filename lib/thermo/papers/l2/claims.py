"""The claims of the L2 chapter (``notebooks/l2-regularization/01-l2-and-the-learning-rate``), each
measured by the same :mod:`thermo.papers.l2.analysis` function the chapter states its numbers
with, as an :class:`~thermo.claims.Estimate` judged by one rule of the book's policy (DESIGN.md
section 8), and registered on import. Lewkowycz and Gur-Ari (2020), supplement: Fig. 2 (the law
t* ~ c / (eta lambda), at the widest and at the narrowest width of the sweep), Figs. S9-S11
(AutoL2 against a fixed lambda picked on a validation split), Theorem 1 and Fig. 5 (the kernel
decays).
"""

from __future__ import annotations

from thermo import claims
from thermo.papers.l2 import analysis

CHAPTER = "notebooks/l2-regularization/01-l2-and-the-learning-rate"

# The supplement gives no number for AutoL2's gain (Figs. S9 and S11 are curves, Section E says it
# "gets better accuracy" and "beats the optimal L2 parameter"): the smallest gain that counts as
# better is the book's accuracy margin, half a point.
AUTOL2_EFFECT = claims.margin("accuracy")[0]


def _law(profile: str, narrowest: bool) -> claims.Estimate:
    table = analysis.runs_table(claims.cached_records("l2-tstar", profile))
    width = analysis.narrowest(table) if narrowest else analysis.widest(table)
    if width is None:
        raise claims.MissingResults(f"the l2-tstar sweep of {profile} has one width: no narrower network")
    law = analysis.law_fit(table, width)
    e = law.estimate()
    if e is None:
        raise claims.MissingResults(f"{law.points} (eta, lambda) point(s) of width {law.width} passed their peak; "
                                    "a slope needs 3")
    return claims.Estimate(e.value, e.lo, e.hi, e.n, method=e.method, se=e.se, df=e.df,
                           detail=f"width {law.width}: the exponent of t* against eta * lambda over {law.points} "
                                  "(eta, lambda) points that passed their peak, t* the geometric mean over seeds, "
                                  f"least squares in log-log, 95 % regression t interval; R^2 = {law.fit.r2:.3f}")


def measure_tstar(profile: str) -> claims.Estimate:
    """Claim ``l2-tstar``: the exponent of t* against eta * lambda at the widest network
    (:func:`analysis.law_fit`, :meth:`analysis.LawFit.estimate`)."""
    return _law(profile, narrowest=False)


def measure_tstar_narrower(profile: str) -> claims.Estimate:
    """Claim ``l2-tstar-narrower``: the same exponent at the narrowest network of the sweep."""
    return _law(profile, narrowest=True)


def measure_autol2(profile: str) -> claims.Estimate:
    """Claim ``l2-autol2``: test accuracy of AutoL2 minus that of the fixed lambda chosen on the
    validation split, each at its own validation peak, paired over setups and seeds
    (:func:`analysis.validated_gain`); not yet tested while the validated lambda of a setup sits on
    the edge of its grid (:func:`analysis.edge_problems`)."""
    vt = analysis.val_runs_table(claims.cached_records("l2-autol2-val", profile))
    edges = analysis.edge_problems(vt)
    if edges:
        raise claims.MissingResults("not a fair baseline yet: " + "; ".join(edges) + "; extend the grid")
    pairs = analysis.validated_pairs(vt)
    if len(pairs) < 2:
        raise claims.MissingResults(f"{len(pairs)} AutoL2 / validated fixed-lambda pair(s); the interval needs 2")
    e = analysis.validated_gain(pairs)
    lams = ", ".join(f"{s} {lam:g}" for s, lam in pairs.groupby("setup").lam.first().items())
    per_pair = ", ".join(f"{100 * d:+.2f}" for d in pairs.difference)
    return claims.Estimate(e.value, e.lo, e.hi, e.n, e.unit, e.method, se=e.se, df=e.df,
                           detail=f"n = {e.n} pairs (setups x seeds), paired t; test accuracy at each run's "
                                  f"validation peak, AutoL2 minus the fixed lambda chosen on the validation split "
                                  f"({lams}); smallest effect detectable with 80 % power: "
                                  f"{100 * e.detectable():.2f} pt; per pair (pt): {per_pair}")


def measure_decay(profile: str) -> claims.Estimate:
    """Claim ``l2-ntk-decay``: measured / predicted decay rate for the widest network of each k with
    lambda > 0, mean over k and seeds with its t interval (:func:`analysis.decay_estimate`)."""
    recs = claims.cached_records("l2-kernel-decay", profile)
    table = analysis.decay_table(recs) if any(r["status"] == "ok" for r in recs) else None
    e = analysis.decay_estimate(table) if table is not None and len(table) else None
    if e is None:
        raise claims.MissingResults("fewer than 2 l2-kernel-decay runs with lambda > 0")
    widest = analysis.decay_ratios(table).groupby("k").width.max()
    return claims.Estimate(e.value, e.lo, e.hi, e.n, method=e.method, se=e.se, df=e.df,
                           detail=f"k = {', '.join(map(str, widest.index))}, widths "
                                  f"{', '.join(map(str, widest.values))}, n = {e.n} runs; rate fitted to "
                                  "ln||Theta_t|| after the first quarter of training, divided by 2 (k - 1) lambda; "
                                  "95 % t interval over runs")


TSTAR = claims.register(claims.Claim(
    "l2-tstar", "l2", "the paper's Fig. 2a-c (supplement)",
    "The step of peak test accuracy scales as t* ~ c / (eta lambda) (the widest network of the sweep)",
    "exponent -1 on log-log axes", claims.point_value(-1.0, "exponent"), measure=measure_tstar,
    chapter=CHAPTER, section="l2-fig2",
))
TSTAR_NARROWER = claims.register(claims.Claim(
    "l2-tstar-narrower", "l2", "the paper's Fig. 2a-c (supplement)",
    "The law t* ~ c / (eta lambda) at the narrowest width of the sweep (it still fits its training set)",
    "exponent -1 on log-log axes", claims.point_value(-1.0, "exponent"), measure=measure_tstar_narrower,
    chapter=CHAPTER, section="l2-fig2",
))
AUTOL2 = claims.register(claims.Claim(
    "l2-autol2", "l2", "the paper's Figs. S9, S11 (supplement, Section E)",
    "Without an LR schedule, AutoL2 reaches a higher test accuracy than the best fixed lambda (picked on a "
    "validation split) in the same steps",
    "higher accuracy (no number given; taken as 0.5 pt, the book's accuracy margin)",
    claims.direction(AUTOL2_EFFECT, scale=100, unit=" pt", what="AutoL2 - validated fixed lambda"),
    measure=measure_autol2, chapter=CHAPTER, section="l2-autol2-val",
))
NTK_DECAY = claims.register(claims.Claim(
    "l2-ntk-decay", "l2", "the paper's Theorem 1 (supplement eq. S8), Fig. 5",
    "The NTK of a k-homogeneous network trained with L2 decays as exp(-2 (k - 1) lambda t)",
    "rate 2 (k - 1) lambda: measured / predicted = 1", claims.point_value(1.0, "ratio"), measure=measure_decay,
    chapter=CHAPTER, section="l2-fig5",
))
