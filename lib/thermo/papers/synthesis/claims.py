"""The synthesis chapter's claims (``notebooks/synthesis/01-four-thermometers``): ours, not a
paper's. No paper measures the others' temperatures, so these claims have no paper value; each
states the answer we would expect if the four thermometers read one temperature, and the one policy
of DESIGN.md section 8 judges it. Each measure reads the cached records and returns the
:class:`~thermo.claims.Estimate` of the same :mod:`thermo.papers.synthesis.analysis` function the
chapter prints.

Where a rule needs an effect size (a direction claim's powered null), it is the margin of the
quantity's kind from :data:`thermo.claims.MARGINS` (0.1 for a correlation), never chosen per claim.

Source: the claims carry ``paper=SOURCE`` ("ours"). They are registered (and so shown on the report
page) once :data:`thermo.citations.PAPERS` lists that source; until then :func:`table` assesses
them for the chapter.
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from thermo import claims
from thermo.citations import PAPERS
from thermo.claims import Estimate
from thermo.papers.synthesis import analysis

CHAPTER = "notebooks/synthesis/01-four-thermometers"
SOURCE = "ours"
NO_PAPER = "none: our question (no paper measures it)"
EFFECT = claims.margin("correlation")[0]  # the smallest rank correlation (or change of one) we care about


def ours(rule: claims.Rule) -> claims.Rule:
    """The rule with its wording for a claim of ours: the effect it names is the policy's margin,
    not a paper's (the decision is the policy's own)."""
    return dataclasses.replace(rule, text=rule.text.replace("the paper's effect", "the smallest effect of interest"))


def schedule_runs(profile: str) -> list[dict]:
    return claims.cached_records("syn-schedules", profile)


def measure_cool_alpha(profile: str) -> Estimate:
    return analysis.cool_alpha_estimate(analysis.cool_alpha_table(schedule_runs(profile)))


def measure_tb_order(profile: str) -> Estimate:
    return analysis.order_estimate(analysis.order_pairs(analysis.cooling_orders(schedule_runs(profile))))


def measure_actcool_alpha(profile: str) -> Estimate:
    return analysis.alpha_shift_estimate(analysis.alpha_shift_table(schedule_runs(profile)), "actcool")


def measure_apt_clock(profile: str) -> Estimate:
    return analysis.clock_estimate(analysis.clock_table(analysis.clock_points(schedule_runs(profile))))


def measure_peak_clock(profile: str) -> Estimate:
    return analysis.peak_spread_estimate(analysis.peak_table(schedule_runs(profile)), "tau*")


def measure_logit_beta(profile: str) -> Estimate:
    cosine = [r for r in schedule_runs(profile) if r["config"]["schedule"] == "cosine"]
    return analysis.beta_slope_estimate(analysis.logit_table(cosine + claims.cached_records("syn-beta", profile)))


def measure_cost(profile: str) -> Estimate:
    return analysis.cost_estimate(analysis.cost_table(schedule_runs(profile)))


def _claim(cid: str, place: str, statement: str, rule: claims.Rule, measure, section: str) -> claims.Claim:
    return claims.Claim(cid, SOURCE, place, statement, NO_PAPER, ours(rule), measure=measure, chapter=CHAPTER,
                        section=section)


CLAIMS = [
    _claim("syn-cool-alpha", "question 1 (APT x alpha)",
           "The layers that cool first (ActCoolR's APT) end with the smallest alpha beyond their shape's random-matrix "
           "baseline (TempBalance's PL_Alpha_Hill): a layer's cooling epoch and its final alpha excess are "
           "positively rank-correlated",
           claims.direction(EFFECT, what="Spearman correlation of cooling epoch and final alpha excess"),
           measure_cool_alpha, "syn-q-cool-alpha"),
    _claim("syn-tb-order", "question 2 (TempBalance x APT)",
           "TempBalance leaves the order in which the layers cool as it is: its cooling order is as alike to cosine "
           "runs' as theirs are to each other",
           claims.point_value(0.0, "correlation"), measure_tb_order, "syn-q-tb-order"),
    _claim("syn-actcool-alpha", "question 3 (ActCoolLR x alpha)",
           "ActCoolLR leaves the layers' alphas as the cosine schedule leaves them",
           claims.point_value(0.0, "exponent"), measure_actcool_alpha, "syn-q-actcool-alpha"),
    _claim("syn-apt-clock", "question 4 (APT x the L2 clock)",
           "Across schedules, the activation pattern temperature cools on the L2 paper's clock: the physical time "
           "eta * lambda * t orders it better than the step count",
           claims.direction(EFFECT, what="rho(APT, step) - rho(APT, eta * lambda * t), every schedule pooled"),
           measure_apt_clock, "syn-q-clock"),
    _claim("syn-peak-clock", "question 4 (the L2 clock x the schedulers)",
           "The test accuracy peaks at one value of eta * lambda * t whatever the scheduler (the L2 paper's "
           "t* ~ c / (eta * lambda), applied across schedulers)",
           claims.point_value(0.0, "deviation", scale=100, unit=" %"), measure_peak_clock, "syn-q-clock"),
    _claim("syn-logit-beta", "question 5 (beta x the schedule)",
           "The final logit scale beta * ||z|| is set by training, not by beta: it does not grow with beta "
           "(exponent 0 in beta * ||z|| ~ beta^s)",
           claims.point_value(0.0, "exponent"), measure_logit_beta, "syn-q-logit"),
    _claim("syn-cost", "the cost of the four thermometers",
           "Reading all four thermometers in one run costs at most a quarter of the training time",
           claims.bound(0.25, at_most=True, scale=100, unit=" %", what="the thermometers' seconds over the rest of "
                                                                       "the run's"),
           measure_cost, "syn-cost"),
]

if SOURCE in PAPERS:  # the book lists its own claims as a source: they go on the report page
    for c in CLAIMS:
        claims.register(c)


def table(profile: str) -> pd.DataFrame:
    """The chapter's claims assessed in ``profile`` (the report's columns, without a paper)."""
    rows = []
    for c in CLAIMS:
        a = claims.assess(c, profile)
        rows.append({"claim": c.id, "statement": c.statement, "ours": a.ours, "status": a.status, "how": a.note,
                     "rule": c.rule.text})
    return pd.DataFrame(rows)
