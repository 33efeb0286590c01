"""ActCoolR's claims (chapter ``notebooks/actcoolr/01-activation-pattern-temperature``) under the one
policy of DESIGN.md section 8: the paper's Fig. 1 (1-cycle cools linearly, tested against the LR's
own shape), eq. 5 and Fig. 2 (the erf model against an exponential rival; its sigma stays nearly
constant), Fig. 3 (ActCoolLR follows its target) and Table 1 (ActCoolLR against a constant LR
tuned on a validation split, and against 1-cycle). Each measure reads the cached records and
returns the :class:`~thermo.claims.Estimate` of the same
:mod:`thermo.papers.actcoolr.analysis` function the chapter prints.
"""

from __future__ import annotations

import dataclasses

from thermo import claims
from thermo.claims import Estimate
from thermo.errors import ConfigError, MissingResults
from thermo.papers.actcoolr import analysis, configs, runs

CHAPTER = "notebooks/actcoolr/01-activation-pattern-temperature"
PAPER_T1_GAP = 0.0729 - 0.0695  # the paper's Table 1, Fashion-MNIST: ActCoolLR 7.29 %, constant LR 6.95 % (200 epochs)
CLOSE = claims.margin("deviation")[0]  # "close": a relative deviation within the policy's margin for deviations


def fig1_runs(profile: str, *schedules: str) -> dict:
    """The finished runs of ``ac-fig1-schedules`` by schedule; MissingResults unless ``schedules`` all finished."""
    runs_ = analysis.by_schedule(claims.cached_records("ac-fig1-schedules", profile))
    analysis.require(runs_, *schedules)
    return runs_


def with_power(e: Estimate, what: str = "seeds") -> Estimate:
    """``e`` with its n and the smallest effect it could detect (80 % power) added to its detail."""
    scale, unit = (100.0, " pt") if e.unit == "pt" else (1.0, "")
    return dataclasses.replace(e, detail=f"{e.detail}; n = {e.n} {what}, smallest effect detectable with 80 % power "
                                         f"{e.detectable() * scale:.2g}{unit}")


def measure_onecycle_linear(profile: str) -> Estimate:
    cycle = fig1_runs(profile, "onecycle")["onecycle"]
    e = analysis.linearity_estimate(analysis.layer_linearity(cycle))
    lin = analysis.onecycle_decay_linearity(cycle)
    lr_r2 = analysis.line_r2(lin["epochs"], analysis.epoch_lr(cycle, lin["epochs"]))
    return dataclasses.replace(e, detail=f"{e.detail}, epochs {lin['epochs'][0]}-{lin['epochs'][-1]}; the line's R^2 "
                                         f"on the network's mean APT is {lin['r2']:.3f}, the LR's own R^2 against a "
                                         f"line in the epoch {lr_r2:.3f}")


def measure_erf_fit(profile: str) -> Estimate:
    fits = analysis.range_fit_table(fig1_runs(profile, *configs.RANGE_SCHEDULES))
    e, s = analysis.erf_win_share(fits), analysis.erf_fit_summary(fits)
    return dataclasses.replace(e, detail=f"{e.detail}; the erf model's median R^2 is {s.median_r2:.3f} (an absolute "
                                         "R^2 does not tell the two models apart)")


def measure_sigma_const(profile: str) -> Estimate:
    return analysis.sigma_cv_estimate(analysis.network_fit_table(fig1_runs(profile, *configs.RANGE_SCHEDULES)))


def measure_tracks_target(profile: str) -> Estimate:
    track = analysis.tracking_table(claims.cached_records("ac-fig3-cooling", profile), profile)
    if not len(track):
        raise MissingResults("no finished ActCoolLR run")
    e = analysis.tracking_estimate(track)
    single = analysis.tracking_estimate(track, "tracking error (%)")
    return dataclasses.replace(e, detail=f"{e.detail}; single one-batch measurements deviate by {single.text()}")


def t1_records(profile: str) -> list[dict]:
    return claims.cached_records("ac-table1-fmnist", profile)


def measure_table1(profile: str) -> Estimate:
    """ActCoolLR minus the constant LR at its validated value (``ac-table1-const-tune``), paired by seed."""
    try:
        lr = runs.validated_constant_lr(profile)
    except ConfigError as err:  # the best point is on the grid's edge: no fair baseline yet
        raise MissingResults(str(err)) from None
    t1 = analysis.table1(t1_records(profile) + claims.cached_records("ac-table1-const-best", profile))
    d = analysis.actcool_minus(t1, "constant", lr)
    if d is None:
        raise MissingResults("fewer than 2 seeds with both ActCoolLR and the validated constant LR")
    return with_power(dataclasses.replace(d, detail=f"{d.detail}; the constant LR validated on "
                                                    f"{configs.CONST_TUNE[profile].n_val} held-out training examples"))


def measure_onecycle_parity(profile: str) -> Estimate:
    """ActCoolLR minus 1-cycle at its peak LR validated on held-out data (``ac-onecycle-tune``,
    ``ac-onecycle-best``), paired by seed; until those runs are cached, 1-cycle at the peak LR of the
    paper's Fig. 1, saying so and why."""
    try:
        lr = runs.validated_onecycle_lr(profile)
        t1 = analysis.table1(t1_records(profile) + claims.cached_records("ac-onecycle-best", profile))
        why = f"1-cycle's peak LR validated on {configs.ONECYCLE_TUNE[profile].n_val} held-out training examples"
    except (ConfigError, MissingResults) as err:
        lr, t1 = None, analysis.table1(t1_records(profile))
        why = f"1-cycle at the peak LR of Fig. 1, not yet tuned ({err})"
    d = analysis.actcool_minus(t1, "onecycle", lr)
    if d is None:
        raise MissingResults("fewer than 2 seeds with both ActCoolLR and 1-cycle")
    return with_power(dataclasses.replace(d, detail=f"{d.detail}; {why}"))


CLAIMS = [claims.register(c) for c in (
    claims.Claim("ac-onecycle-linear", "actcoolr", "Sec. 3.2, Fig. 1",
                 "Under the 1-cycle schedule the activation pattern temperature cools about linearly in its decay "
                 "phase, and not only because the learning rate does: a line in time fits each layer's temperature "
                 "better than a function of the learning rate alone (affine, or a power of it)",
                 "approximately linear decrease (Sec. 3.2, the paper's Fig. 1)",
                 claims.bound(1.0, at_most=True, what="RMSE of the line / RMSE of the LR-only fit, mean over layers"),
                 measure=measure_onecycle_linear, chapter=CHAPTER, section="ac-fig1"),
    claims.Claim("ac-erf-fit", "actcoolr", "Eq. 5, Sec. 3.4, Fig. 2",
                 "The probability that a pattern changes over the LR range follows a normal CDF in log LR (the erf "
                 "model): it fits the transition better than the one-parameter exponential 1 - exp(-lr/lr0) in most "
                 "fits", "the model fits in practice (Sec. 3.4, the paper's Fig. 2)",
                 claims.bound(0.5, at_most=False, scale=100, unit=" %",
                              what="share of fits where the erf model beats the exponential"),
                 measure=measure_erf_fit, chapter=CHAPTER, section="ac-fig2"),
    claims.Claim("ac-sigma-const", "actcoolr", "Sec. 3.4, Fig. 2",
                 "The erf model's width sigma stays nearly constant over training",
                 "only small drifts of sigma (Sec. 3.4, the paper's Fig. 2)",
                 claims.point_value(0.0, "deviation", scale=100, unit=" %"),
                 measure=measure_sigma_const, chapter=CHAPTER, section="ac-fig2"),
    claims.Claim("ac-tracks-target", "actcoolr", "Sec. 4.2, Fig. 3",
                 "ActCoolLR makes the measured temperature follow its target cooling curve",
                 "close by eye (the paper's Fig. 3, top row)",
                 claims.bound(CLOSE, at_most=True, scale=100, unit=" %",
                              what="mean relative deviation of the epoch-mean temperature from the target"),
                 measure=measure_tracks_target, chapter=CHAPTER, section="ac-fig3"),
    claims.Claim("ac-fmnist-table1", "actcoolr", "Table 1",
                 "On Fashion-MNIST, ActCoolLR ends with a higher test error than a constant LR tuned on a validation "
                 "split", "7.29 % vs 6.95 %: +0.34 pt (the paper's Table 1, 200 epochs)",
                 claims.direction(PAPER_T1_GAP, scale=100, unit=" pt",
                                  what="ActCoolLR's test error - the validated constant LR's"),
                 measure=measure_table1, chapter=CHAPTER, section="ac-table1"),
    claims.Claim("ac-fmnist-onecycle", "actcoolr", "Sec. 4.3, Sec. 5, Table 1",
                 "ActCoolLR reaches the test error of 1-cycle (on par)",
                 "comparable to 1-cycle (Secs. 4.3 and 5; the paper's Table 1, ImageNet: 27.88 % vs 27.27 %)",
                 claims.point_value(0.0, "accuracy", scale=100, unit=" pt"),
                 measure=measure_onecycle_parity, chapter=CHAPTER, section="ac-table1"),
)]
