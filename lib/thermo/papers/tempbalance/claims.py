"""TempBalance's claims (chapters ``notebooks/tempbalance/01-esd-and-hill`` and
``notebooks/tempbalance/02-training-with-tempbalance``) under the one policy of DESIGN.md section 8:
the paper's Fig. 9 / App. A.2 (``s = 1/(alpha - 1)``), Table 1 and Fig. 3 (TB beats CAL, at CAL's
validated learning rate; TB beats SNR; TB+SNR is the best), Figs. 5-7 (over the learning rate, the
width, the metric), Figs. 10-11 (more concentrated alphas), Sec. 5 (the cost of balancing), and one
question of ours beyond the paper (TB driven by alpha's excess over a random matrix of the same
shape). Each measure reads the cached records and returns the :class:`~thermo.claims.Estimate` of
the same :mod:`thermo.papers.tempbalance.analysis` function the chapter shows; every direction
claim takes the paper's effect from its own tables (:func:`~thermo.papers.tempbalance.analysis.paper_effect`).
"""

from __future__ import annotations

import dataclasses

from thermo import claims
from thermo.claims import Estimate
from thermo.errors import ConfigError, MissingResults
from thermo.papers.tempbalance import analysis, runs
from thermo.papers.tempbalance.configs import COMPARE_SEEDS

CHAPTER_1 = "notebooks/tempbalance/01-esd-and-hill"
CHAPTER_2 = "notebooks/tempbalance/02-training-with-tempbalance"
EFFECT = {k: analysis.paper_effect(k) for k in analysis.PAPER_EFFECTS}
NARROWER = claims.margin("ratio")[0]  # the paper gives no number for "more concentrated": the policy's ratio margin
PAPER_OVERHEAD = 0.06  # "using TB increases 6 % of training time" (ResNet18, CIFAR-100, one V100; the paper's Sec. 5)


def with_power(e: Estimate, what: str = "pairs") -> Estimate:
    """``e`` with its n and the smallest effect it could detect (80 % power) added to its detail."""
    scale, unit = (100.0, " pt") if e.unit == "pt" else (100.0, " %") if e.unit == "%" else (1.0, "")
    return dataclasses.replace(e, detail=f"{e.detail}; n = {e.n} {what}, smallest effect detectable with 80 % power "
                                         f"{e.detectable() * scale:.2g}{unit}")


def _records(profile: str, *experiment_ids: str) -> list[dict]:
    return [r for e in experiment_ids for r in claims.cached_records(e, profile)]


def _validated_cal_lr(profile: str) -> dict:
    try:
        return runs.cal_validated_lr(profile)
    except ConfigError as err:  # the best point is on the grid's edge: no fair baseline yet
        raise MissingResults(str(err)) from None


# --- chapter 1 -------------------------------------------------------------------------------------

def measure_s_alpha(profile: str) -> Estimate:
    """Claim ``tb-s-alpha``: the relative error of ``s_hat = 1/(alpha - 1)`` (eq. 3) at the largest M."""
    return analysis.s_alpha_estimate(claims.cached_records("tb-s-vs-alpha", profile)[0]["data"]["rows"])


# --- chapter 2 -------------------------------------------------------------------------------------

def _main(profile: str):
    return analysis.main_table(profile, _records(profile, "tb-fig3-main"))


def measure_tb_beats_cal(profile: str) -> Estimate:
    """Claim ``tb-beats-cal``: TB at the paper's eta_0 minus CAL at its LR validated on held-out
    training data (``tb-cal-tune``), paired by model and seed over ``tb-vs-cal`` and ``tb-fig3-main``."""
    lr = _validated_cal_lr(profile)
    pairs = analysis.compare_pairs(_records(profile, "tb-fig3-main", "tb-vs-cal"), profile, lr)
    return with_power(analysis.compare_estimate(pairs))


def _validated_main(profile: str):
    """The four methods at their validated settings over ``COMPARE_SEEDS`` (:func:`analysis.validated_main`)
    and the settings' text; MissingResults until ``tb-cal-tune``, ``tb-snr-tune`` (with interior best
    points), ``tb-vs-cal`` and ``tb-snr-val`` are all cached."""
    lr = _validated_cal_lr(profile)
    try:
        lam = runs.snr_validated_lambda(profile)
    except ConfigError as err:
        raise MissingResults(str(err)) from None
    recs = _records(profile, "tb-fig3-main", "tb-vs-cal", "tb-snr-val")
    return analysis.validated_main(recs, profile, lr, lam), analysis.validated_settings(lr, lam, profile)


def _fair_or_paper(profile: str, measure) -> Estimate:
    """``measure(table)`` on the validated settings; until their runs are cached, on the paper's
    settings (fig. 3's seeds, SNR at the paper's Table 1 lambda_sr), saying so and why."""
    try:
        table, settings = _validated_main(profile)
    except MissingResults as err:
        e = measure(_main(profile))
        return with_power(dataclasses.replace(e, detail=f"{e.detail}; SNR at the paper's Table 1 lambda_sr, not one "
                                                        f"validated here ({err})"))
    e = measure(table)
    return with_power(dataclasses.replace(e, detail=f"{e.detail}; {settings}"))


def powered_pairs(profile: str):
    """Every pair behind the four powered comparisons (:func:`analysis.powered_pairs`), from the
    same records and settings as their claims (SNR's validated runs when cached, else the paper's
    lambda_sr on fig. 3's seeds; TB on the excess once ``tb-excess`` is cached). A comparison whose
    runs are missing has no rows (its claim says which)."""
    try:
        lr = _validated_cal_lr(profile)
        recs = _records(profile, "tb-fig3-main", "tb-vs-cal")
    except MissingResults:
        return analysis.powered_pairs(None)
    table = validated_table(profile)
    try:
        excess = analysis.excess_pairs(recs + claims.cached_records("tb-excess", profile), profile, lr)
    except MissingResults:
        excess = None
    return analysis.powered_pairs(analysis.compare_pairs(recs, profile, lr),
                                  _main(profile) if table is None else table, excess)


def powered_records(profile: str) -> list[dict]:
    """The finished runs the powered comparisons can draw on (fig. 3's main settings, ``tb-vs-cal``,
    ``tb-snr-val``, ``tb-excess``; whatever of them is cached), for a figure's provenance."""
    from thermo import experiments
    from thermo.results import Store

    store = Store.for_profile(profile)
    try:
        recs = analysis.main_records(_records(profile, "tb-fig3-main"), profile)
    except MissingResults:
        recs = []
    for exp_id in ("tb-vs-cal", "tb-snr-val", "tb-excess"):
        exp = experiments.get(exp_id)
        try:
            points = exp.configs(profile)
        except MissingResults:  # tb-snr-val's points need SNR's tuning first
            continue
        recs += [r for r in (store.load(exp.id, exp.version, c) for c in points) if r and r["status"] == "ok"]
    return recs


def validated_table(profile: str):
    """The four methods at their validated settings (:func:`analysis.validated_main`), or ``None``
    until ``tb-cal-tune``, ``tb-snr-tune``, ``tb-vs-cal`` and ``tb-snr-val`` are all cached."""
    try:
        return _validated_main(profile)[0]
    except MissingResults:
        return None


def powered_setting(profile: str) -> str:
    """Which SNR the powered comparisons use, for a caption: the validated lambda_sr with the seeds
    of ``tb-vs-cal``, or (until ``tb-snr-val`` is cached) the paper's on fig. 3's seeds, and why."""
    try:
        _, settings = _validated_main(profile)
    except MissingResults as err:
        return (f"CAL at its validated learning rate; SNR and TB+SNR still at the paper's Table 1 lambda_sr on the "
                f"seeds of fig. 3 ({err}); TB on the excess, once cached, with the seeds of tb-vs-cal")
    return f"{settings}; every comparison over the seeds of tb-vs-cal ({len(COMPARE_SEEDS[profile])} per model)"


def snr_validation_text(profile: str) -> str:
    """Where the fair SNR baseline stands, for the page: SNR's validated lambda_sr per model (or why
    there is none yet) and how much of ``tb-snr-val`` is cached."""
    try:
        lam = runs.snr_validated_lambda(profile)
    except (ConfigError, MissingResults) as err:
        return f"no validated value yet ({err})"
    models = {arch: a.model for arch, a in analysis.ARCHS[profile].items()}
    text = ", ".join(f"{models[a]} {v:g}" for a, v in lam.items()) + " (best mean validation accuracy)"
    try:
        claims.cached_records("tb-snr-val", profile)
        return f"{text}; tb-snr-val is complete"
    except MissingResults as err:
        return f"{text}; {err}"


def measure_tb_beats_snr(profile: str) -> Estimate:
    """Claim ``tb-beats-snr``: TB at the paper's eta_0 minus SNR at its validated lambda_sr, paired by
    model and seed over ``COMPARE_SEEDS`` (until ``tb-snr-val`` is cached: SNR at the paper's lambda_sr)."""
    return _fair_or_paper(profile, lambda t: analysis.method_difference(t, "tb", "snr"))


def measure_tbsnr_best(profile: str) -> Estimate:
    """Claim ``tb-snr-best``: TB+SNR minus the best other method per model, every method at its
    validated setting (as :func:`measure_tb_beats_snr`)."""
    return _fair_or_paper(profile, analysis.best_other_difference)


def measure_tb_lr_grid(profile: str) -> Estimate:
    recs = analysis.lr_grid_records(_records(profile, "tb-fig3-main"), _records(profile, "tb-fig5-lr"), profile)
    return with_power(analysis.lr_grid_estimate(analysis.lr_grid_pairs(analysis.lr_grid_frame(recs))), "points")


def measure_tb_width(profile: str) -> Estimate:
    recs = analysis.width_records(_records(profile, "tb-fig3-main"), _records(profile, "tb-fig6-width"), profile)
    return with_power(analysis.width_estimate(analysis.width_pairs(analysis.width_frame(recs))))


def measure_tb_metric(profile: str) -> Estimate:
    recs = analysis.metric_records(_records(profile, "tb-fig3-main"), _records(profile, "tb-fig7-metric"), profile)
    return with_power(analysis.metric_estimate(analysis.metric_pairs(analysis.metric_frame(recs))), "seeds")


def measure_tb_alpha_spread(profile: str) -> Estimate:
    """All layers (the paper's statement); the detail adds the same with shape held fixed."""
    recs = _records(profile, "tb-fig3-main")
    e = with_power(analysis.alpha_spread_estimate(analysis.alpha_spread_pairs(recs, profile)))
    try:
        fixed = analysis.spread_estimates(analysis.with_baselines(analysis.main_alphas(recs, profile), profile))
    except MissingResults:
        return e
    more = "; ".join(f"{what}: {analysis.estimate_text(fixed[k])}" for k, what in (
        ("square", "among the square layers only"), ("excess", "of the excess over each layer's random alpha"))
        if fixed[k] is not None)
    return dataclasses.replace(e, detail=f"{e.detail}. The same narrowing {more}" if more else e.detail)


def measure_tb_overhead(profile: str) -> Estimate:
    return analysis.overhead_estimate(_records(profile, "tb-fig3-main"))


def measure_tb_excess(profile: str) -> Estimate:
    """Claim ``tb-excess`` (ours): TB on ``alpha_excess`` minus TB on PL_Alpha_Hill, paired by model
    and seed (``tb-excess`` beside ``tb-vs-cal`` and ``tb-fig3-main``)."""
    lr = _validated_cal_lr(profile)
    pairs = analysis.excess_pairs(_records(profile, "tb-fig3-main", "tb-vs-cal", "tb-excess"), profile, lr)
    return with_power(analysis.excess_estimate(pairs))


def _pt(effect: analysis.PaperEffect, what: str) -> claims.Rule:
    return claims.direction(effect.median, scale=100, unit=" pt", what=what)


CLAIMS = [claims.register(c) for c in (
    claims.Claim(
        "tb-s-alpha", "tempbalance", "Fig. 9, App. A.2",
        "For a spectrum decaying as k^-s, PL_Alpha_Hill gives s = 1/(alpha - 1): at the largest matrix size "
        "(M = 1024) s_hat = 1/(alpha - 1) deviates from s by less than the policy's margin for a relative deviation",
        "the fit becomes increasingly accurate with M, accurate at M = 1024 (the paper's Fig. 9, by eye)",
        claims.point_value(0.0, "deviation", scale=100, unit=" %"),
        measure=measure_s_alpha, chapter=CHAPTER_1, section="tb-fig9"),
    claims.Claim(
        "tb-beats-cal", "tempbalance", "Table 1, Fig. 3",
        "TempBalance (TB, at the paper's eta_0) reaches a higher test accuracy than cosine annealing (CAL) at its "
        "own initial learning rate validated on held-out training data, with the same budget",
        f"TB above CAL in every setting: {EFFECT['tb-cal'].text()}",
        _pt(EFFECT["tb-cal"], "TB - CAL at its validated LR, paired by model and seed"),
        measure=measure_tb_beats_cal, chapter=CHAPTER_2, section="tb-fig3"),
    claims.Claim(
        "tb-beats-snr", "tempbalance", "Sec. 4.2, Table 1, Fig. 3",
        "TB reaches a higher test accuracy than spectral-norm regularization (SNR) in almost all settings",
        f"TB above SNR in most settings: {EFFECT['tb-snr'].text()}",
        _pt(EFFECT["tb-snr"], "TB - SNR, paired by model and seed"),
        measure=measure_tb_beats_snr, chapter=CHAPTER_2, section="tb-fig3"),
    claims.Claim(
        "tb-snr-best", "tempbalance", "Fig. 3, Table 1",
        "TB combined with SNR (TB+SNR) is the best of the four methods",
        f"TB+SNR best in every experiment (the paper's Fig. 3): {EFFECT['tbsnr-best'].text()}",
        _pt(EFFECT["tbsnr-best"], "TB+SNR - the best other method, paired by seed"),
        measure=measure_tbsnr_best, chapter=CHAPTER_2, section="tb-fig3"),
    claims.Claim(
        "tb-lr-grid", "tempbalance", "Fig. 5", "TB beats CAL at every initial learning rate of the grid",
        f"TB above CAL at every LR (ResNet18/34, VGG16/19): {EFFECT['lr-grid'].text()}",
        _pt(EFFECT["lr-grid"], "TB - CAL pooled over (model, LR) points"), measure=measure_tb_lr_grid,
        chapter=CHAPTER_2, section="tb-fig5"),
    claims.Claim(
        "tb-width", "tempbalance", "Fig. 6", "TB beats CAL at every network width",
        f"TB above CAL at widths 50 %, 100 %, 150 % (ResNet18/34, VGG16/19): {EFFECT['width'].text()}",
        _pt(EFFECT["width"], "TB - CAL pooled over (width, seed) pairs"), measure=measure_tb_width,
        chapter=CHAPTER_2, section="tb-fig6"),
    claims.Claim(
        "tb-metric", "tempbalance", "Fig. 7", "PL_Alpha_Hill is the best HT-SR metric to drive TB",
        f"PL_Alpha_Hill best of the three metrics: {EFFECT['metric'].text()}",
        _pt(EFFECT["metric"], "TB on PL_Alpha_Hill - TB on the better other metric, paired by seed"),
        measure=measure_tb_metric, chapter=CHAPTER_2, section="tb-fig7"),
    claims.Claim(
        "tb-alpha-spread", "tempbalance", "Figs. 10-11",
        "TB leaves the layers' PL_Alpha_Hill more concentrated than CAL does (a smaller standard deviation over "
        "layers)",
        "more concentrated in every subgroup (the paper's Figs. 10-11, histograms: no number given; the rule uses "
        f"the policy's ratio margin, a {100 * NARROWER:g} % narrower spread, as the effect)",
        claims.direction(NARROWER, scale=100, unit=" %", what="1 - sd_TB / sd_CAL, paired by model and seed"),
        measure=measure_tb_alpha_spread, chapter=CHAPTER_2, section="tb-fig10"),
    claims.Claim(
        "tb-overhead", "tempbalance", "Sec. 5 (limitations)",
        "Balancing once per epoch costs at most the paper's share of training time",
        "1.4 s per epoch, 6 % of a CIFAR-100 ResNet18 run on one V100 (the paper's Sec. 5)",
        claims.bound(PAPER_OVERHEAD, at_most=True, scale=100, unit=" %", what="the share of training time"),
        measure=measure_tb_overhead, chapter=CHAPTER_2, section="tb-cost"),
    claims.Claim(
        "tb-excess", "tempbalance", "beyond the paper (ours)",
        "Part of TB's layer ranking is shape: a random matrix's PL_Alpha_Hill depends on its aspect ratio. Driving "
        "TB by the excess of alpha over a random matrix of the same shape (alpha - random alpha) reaches a higher "
        "test accuracy than driving it by alpha",
        "ours (the effect used is the paper's median TB - CAL gain, "
        f"+{100 * EFFECT['tb-cal'].median:.3g} pt: the size of effect the paper attributes to balancing)",
        _pt(EFFECT["tb-cal"], "TB on the excess - TB on alpha, paired by model and seed"),
        measure=measure_tb_excess, chapter=CHAPTER_2, section="tb-shape"),
)]
