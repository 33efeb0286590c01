"""The claims the book tests, each with the rule that gives its status (DESIGN.md section 8).

A :class:`Claim` is data: an id, the paper and the place in it (figure, table, equation), the
statement, the paper's value, a ``measure`` function that computes *our* value and its
uncertainty from the cached results of a profile, and a :class:`Rule` that turns that
measurement into a status. Chapters register their claims next to the experiments that test
them (``thermo.experiments.*``); claims whose experiments do not exist yet are registered in
:mod:`thermo.experiments.planned` with no ``measure``.

:func:`assess` never computes anything and never raises for missing data: a claim without a
measure, or whose results are not (all) cached, is ``not yet tested``. The report page
(``book/report.md``, rendered by :mod:`thermo.sphinx_ext`) and :func:`table` show every claim.

Statuses, from best to worst: ``reproduced``, ``partly``, ``not at this scale`` (the effect is
not there at our reduced scale, without evidence against it), ``contradicted`` (our numbers
go against the claim), ``not yet tested``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from thermo.errors import ConfigError, MissingResults  # noqa: F401 (re-exported)

STATUSES = ("reproduced", "partly", "not at this scale", "contradicted", "not yet tested")
PAPERS = {
    "tempbalance": ("TempBalance", "zhou2023tempbalance"),
    "actcoolr": ("ActCoolR", "actcoolr"),
    "temperature-check": ("Temperature check", "agarwala2020temperature"),
    "l2": ("L2 and the optimal learning rate", "lewkowycz2020l2"),
}




@dataclass(frozen=True)
class Measurement:
    """Our number: ``value`` with its ``uncertainty`` (None when exact, e.g. a closed form),
    ``n`` the runs or points behind it, ``detail`` one sentence on how it was computed, and
    ``facts`` extra named numbers a rule may use (e.g. ``{"decreasing": 1.0}``)."""

    value: float
    uncertainty: float | None = None
    n: int | None = None
    detail: str = ""
    unit: str = ""
    facts: dict = field(default_factory=dict)

    def text(self, digits: int = 3) -> str:
        scale = 100.0 if self.unit in ("%", "pt") else 1.0  # fractions shown as percent or points
        unit = f" {self.unit}" if self.unit else ""
        out = f"{self.value * scale:.{digits}g}"
        if self.uncertainty is not None:
            out += f" ± {self.uncertainty * scale:.2g}"
        return out + unit


@dataclass(frozen=True)
class Rule:
    """How a measurement becomes a status: ``text`` is printed on the report page."""

    text: str
    decide: Callable[[Measurement], str]

    def __call__(self, m: Measurement) -> str:
        status = self.decide(m)
        if status not in STATUSES[:-1]:
            raise ConfigError(f"a rule returned {status!r}; it must be one of {STATUSES[:-1]}")
        return status


def slope_rule(target: float, tol: float) -> Rule:
    """A fitted exponent against the paper's: reproduced within ``tol``; partly if within
    ``2 tol`` or consistent with ``target +- tol`` at two standard errors; contradicted if its
    sign is opposite (and two standard errors exclude 0); not at this scale otherwise."""

    def decide(m: Measurement) -> str:
        err = abs(m.value - target)
        unc = m.uncertainty or 0.0
        if err <= tol:
            return "reproduced"
        if err <= 2 * tol or err - 2 * unc <= tol:
            return "partly"
        if m.value * target < 0 and abs(m.value) > 2 * unc:
            return "contradicted"
        return "not at this scale"

    text = (f"reproduced if |slope - ({target:g})| <= {tol:g}; partly if within {2 * tol:g} or within "
            f"{tol:g} at two standard errors; contradicted if the sign is opposite (beyond two standard "
            "errors); not at this scale otherwise")
    return Rule(text, decide)


def at_least(threshold: float, partly: float, name: str = "value") -> Rule:
    """A quality measure (e.g. R^2): reproduced at ``>= threshold``, partly at ``>= partly``."""

    def decide(m: Measurement) -> str:
        if m.value >= threshold:
            return "reproduced"
        return "partly" if m.value >= partly else "not at this scale"

    return Rule(f"reproduced if {name} >= {threshold:g}; partly if >= {partly:g}; not at this scale otherwise",
                decide)


def at_most(threshold: float, partly: float, name: str = "value", unit: str = "") -> Rule:
    """A deviation (e.g. a coefficient of variation): reproduced at ``<= threshold``."""
    scale, u = (100.0, " %") if unit == "%" else (1.0, unit)

    def decide(m: Measurement) -> str:
        if m.value <= threshold:
            return "reproduced"
        return "partly" if m.value <= partly else "not at this scale"

    return Rule(f"reproduced if {name} <= {threshold * scale:g}{u}; partly if <= {partly * scale:g}{u}; "
                "not at this scale otherwise", decide)


def within(target: float, tol: float, name: str = "value", unit: str = "") -> Rule:
    """``|value - target| <= tol`` (e.g. a measured/predicted ratio near 1, or two accuracies
    within one point): reproduced; partly within ``2 tol`` or at two standard errors."""
    scale, u = (100.0, " pt") if unit == "pt" else (1.0, unit)

    def decide(m: Measurement) -> str:
        err = abs(m.value - target)
        if err <= tol:
            return "reproduced"
        if err <= 2 * tol or err - 2 * (m.uncertainty or 0.0) <= tol:
            return "partly"
        return "not at this scale"

    return Rule(f"reproduced if |{name} - {target * scale:g}| <= {tol * scale:g}{u}; partly if within "
                f"{2 * tol * scale:g}{u} or at two standard errors; not at this scale otherwise", decide)


def positive_difference() -> Rule:
    """A paired difference (ours minus baseline, ``uncertainty`` = half-width of its 95 % CI)."""

    def decide(m: Measurement) -> str:
        half = m.uncertainty if m.uncertainty is not None else math.inf
        if m.value - half > 0:
            return "reproduced"
        if m.value + half < 0:
            return "contradicted"
        return "partly" if m.value > 0 else "not at this scale"

    return Rule("reproduced if the mean paired difference is > 0 and its 95 % CI excludes 0; partly if > 0 "
                "but the CI includes 0; contradicted if the CI lies below 0; not at this scale otherwise",
                decide)


@dataclass(frozen=True)
class Claim:
    id: str
    paper: str  # a key of PAPERS
    place: str  # "Fig. 9, App. A.2"
    statement: str
    paper_value: str
    rule: Rule
    measure: Callable[[str], Measurement] | None = None  # profile -> Measurement
    chapter: str | None = None  # docname of the chapter that tests it
    section: str | None = None  # label of the section that discusses it


@dataclass(frozen=True)
class Assessment:
    claim: Claim
    profile: str
    status: str
    measurement: Measurement | None
    note: str  # why "not yet tested", or the measurement's detail

    @property
    def ours(self) -> str:
        return self.measurement.text() if self.measurement else "-"


REGISTRY: dict[str, Claim] = {}
ID_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-")


def register(claim: Claim) -> Claim:
    """Add a claim (a chapter's experiment module calls this; a later registration of the same id
    replaces a planned one without a measure, never one that has a measure)."""
    if not claim.id or set(claim.id) - ID_CHARS:
        raise ConfigError(f"claim id {claim.id!r} must be lower-case words joined by '-'")
    if claim.paper not in PAPERS:
        raise ConfigError(f"unknown paper {claim.paper!r}: choose one of {', '.join(PAPERS)}")
    old = REGISTRY.get(claim.id)
    if old is not None and old.measure is not None and claim.measure is not None and old is not claim:
        raise ConfigError(f"claim {claim.id!r} is registered twice")
    if old is None or old.measure is None or claim.measure is not None:
        REGISTRY[claim.id] = claim
    return claim


def load_all() -> dict[str, Claim]:
    """Every claim: the chapters' (registered on import of their experiments) and the planned."""
    from thermo import experiments
    from thermo.experiments import planned  # noqa: F401

    experiments.load_all()
    return REGISTRY


def assess(claim: Claim, profile: str) -> Assessment:
    """The claim's status in ``profile`` from cached results only (never an exception for
    missing results: ``not yet tested`` with the reason)."""
    if claim.measure is None:
        return Assessment(claim, profile, "not yet tested", None, "its chapter does not measure it yet")
    try:
        m = claim.measure(profile)
    except MissingResults as err:
        return Assessment(claim, profile, "not yet tested", None, str(err))
    return Assessment(claim, profile, claim.rule(m), m, m.detail)


def assess_all(profile: str, prefix: str = "") -> list[Assessment]:
    """Every registered claim (optionally those whose id starts with ``prefix``), in paper order."""
    order = list(PAPERS)
    claims = sorted((c for c in load_all().values() if c.id.startswith(prefix)),
                    key=lambda c: order.index(c.paper))  # stable: registration order within a paper
    return [assess(c, profile) for c in claims]


def cached_records(experiment_id: str, profile: str) -> list[dict]:
    """The cached records of every point the experiment runs in ``profile`` (its current configs
    and version); raise :class:`MissingResults` naming how many are missing."""
    from thermo import experiments
    from thermo.results import Store

    try:
        exp = experiments.get(experiment_id)
    except ConfigError:
        raise MissingResults(f"experiment {experiment_id} does not exist yet") from None
    store = Store.for_profile(profile)
    configs = exp.configs(profile)
    recs = [store.load(exp.id, exp.version, c) for c in configs]
    missing = sum(r is None or r["status"] == "failed" for r in recs)
    if missing:
        raise MissingResults(f"{missing} of {len(configs)} points of {experiment_id} [{profile}] are not cached")
    return recs


def table(profile: str, prefix: str = ""):
    """The report as a pandas DataFrame (for notebooks and Colab)."""
    import pandas as pd

    return pd.DataFrame([{
        "claim": a.claim.id, "paper": PAPERS[a.claim.paper][0], "where": a.claim.place,
        "statement": a.claim.statement, "paper's value": a.claim.paper_value, "ours": a.ours,
        "status": a.status, "how": a.note, "rule": a.claim.rule.text,
    } for a in assess_all(profile, prefix)])


def counts(assessments) -> dict[str, int]:
    out = dict.fromkeys(STATUSES, 0)
    for a in assessments:
        out[a.status] += 1
    return out
