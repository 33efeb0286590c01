"""The claims the book tests and the one policy that gives their status (DESIGN.md section 8).

A :class:`Claim` is data: an id, the paper and the place in it (figure, table, equation), the
statement, the paper's value, a ``measure`` (profile -> :class:`Estimate`: our value with its 95 %
interval ``[lo, hi]``, n, unit and the interval's method, computed by the paper's ``analysis``
from cached results) and a :class:`Rule` of one of three kinds:

- :func:`point_value`: a value with the margin of its kind from the one table :data:`MARGINS`;
- :func:`direction`: "A beats B", with the paper's effect and the smallest effect our data could
  detect (80 % power) separating *inconclusive* from *absent at this scale* (a powered null);
- :func:`bound`: at most / at least a threshold.

Each paper registers its claims from ``thermo.papers.<paper>.claims``. :func:`assess` never
computes anything and never raises for missing data: a claim whose results are not (all) cached
is ``not yet tested``. The report (:mod:`thermo.report`, the report page) shows every claim with
its estimate, n, the rule's margin and reason, and its status.

Statuses: ``reproduced``, ``partly``, ``contradicted``, ``inconclusive``, ``absent at this
scale``, ``not yet tested``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from thermo.citations import PAPERS
from thermo.errors import ConfigError, MissingResults  # noqa: F401 (re-exported)

STATUSES = ("reproduced", "partly", "contradicted", "inconclusive", "absent at this scale", "not yet tested")




# --- the one policy (DESIGN.md section 8) ----------------------------------------------------

LEVEL = 0.95  # every interval is a two-sided 95 % interval
POWER = 0.80  # the power at which "the smallest detectable effect" is computed
METHODS = ("paired t over seeds", "t over runs", "regression t", "bootstrap over seeds", "bootstrap over runs",
           "bootstrap over layers", "exact")

# Point-value margins, one per kind of quantity, with the reason printed on the report.
MARGINS = {
    "exponent": (0.15, "an exponent within 0.15 is the same law over the one to two decades we can fit"),
    "ratio": (0.10, "a ratio within 10 % of its prediction; our samples move ratios by a few %"),
    "accuracy": (0.005, "half a point of accuracy: below the seed-to-seed spread of one run"),
    "fraction": (0.05, "five points of a fraction (a share of layers, patterns or time)"),
    "correlation": (0.10, "a correlation within 0.1: the third digit is noise over our sample sizes"),
    "deviation": (0.10, "a relative deviation within 10 %"),
}


@dataclass(frozen=True)
class Estimate:
    """A measurement under the one policy: the estimate ``value`` with its 95 % interval
    ``[lo, hi]``, ``n`` (runs, seeds, pairs, layers or points behind it), ``unit``, the interval's
    ``method`` (one of :data:`METHODS`) and ``se``, the standard error the interval came from
    (for the smallest detectable effect). ``exact`` estimates (closed forms) have lo = hi = value."""

    value: float
    lo: float
    hi: float
    n: int | None
    unit: str = ""
    method: str = "exact"
    se: float | None = None
    df: int | None = None
    detail: str = ""
    facts: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.method not in METHODS:
            raise ConfigError(f"the interval's method must be one of {METHODS}, got {self.method!r}")
        if not all(math.isfinite(v) for v in (self.value, self.lo, self.hi)):
            raise ConfigError(f"an estimate needs finite numbers, got {self.value} [{self.lo}, {self.hi}]")
        if self.lo > self.hi:
            raise ConfigError(f"an interval needs lo <= hi, got [{self.lo:g}, {self.hi:g}]")
        if self.method != "exact" and not (isinstance(self.n, int) and self.n >= 2):
            raise ConfigError(f"an interval needs at least 2 samples, got n={self.n!r}")

    @property
    def uncertainty(self) -> float:  # the old Measurement's field: half the interval's width
        return (self.hi - self.lo) / 2

    def detectable(self, power: float = POWER) -> float:
        """The smallest effect this design detects with ``power`` at the 5 % level (two-sided):
        ``(t_{0.975} + t_{power}) * se``, with normal quantiles when there is no ``df``."""
        from scipy import stats as st

        if self.method == "exact":
            return 0.0
        se = self.se if self.se is not None else self.uncertainty / st.norm.ppf(0.5 + LEVEL / 2)
        q = st.t(self.df) if self.df else st.norm
        return float((q.ppf(0.5 + LEVEL / 2) + q.ppf(power)) * se)

    def text(self, digits: int = 3) -> str:
        """``est [lo, hi] unit`` (fractions shown as % or points when the unit says so)."""
        scale = 100.0 if self.unit in ("%", "pt") else 1.0
        unit = f" {self.unit}" if self.unit else ""
        if self.method == "exact":
            return f"{self.value * scale:.{digits}g}{unit}"
        return f"{self.value * scale:.{digits}g} [{self.lo * scale:.{digits}g}, {self.hi * scale:.{digits}g}]{unit}"

    @classmethod
    def paired(cls, a, b, unit: str = "", detail: str = "", method: str = "paired t over seeds") -> Estimate:
        """Mean of ``a - b`` over pairs with its t interval (n - 1 degrees of freedom)."""
        from thermo import stats

        d = stats.paired_difference(a, b, LEVEL)
        return cls(d.mean, d.mean - d.half_width, d.mean + d.half_width, d.n, unit, method,
                   se=d.std / math.sqrt(d.n), df=d.n - 1, detail=detail)

    @classmethod
    def mean(cls, values, unit: str = "", detail: str = "", method: str = "t over runs") -> Estimate:
        """Mean of ``values`` with its t interval."""
        import numpy as np

        v = np.asarray(values, dtype=float)
        return cls.paired(v, np.zeros_like(v), unit, detail, method)

    @classmethod
    def regression(cls, value: float, se: float, n: int, unit: str = "", detail: str = "") -> Estimate:
        """A fitted coefficient with its standard error and n - 2 degrees of freedom."""
        from scipy import stats as st

        if not (isinstance(n, int) and n >= 3):
            raise ConfigError(f"a regression interval needs at least 3 points, got n={n!r}")
        half = float(st.t.ppf(0.5 + LEVEL / 2, n - 2) * se)
        return cls(value, value - half, value + half, n, unit, "regression t", se=se, df=n - 2, detail=detail)

    @classmethod
    def bootstrap(cls, samples, statistic, n_boot: int = 2000, seed: int = 0, unit: str = "", detail: str = "",
                  method: str = "bootstrap over runs") -> Estimate:
        """``statistic`` of ``samples`` (a sequence resampled with replacement) with its percentile
        bootstrap interval."""
        import numpy as np

        items = list(samples)
        if len(items) < 2:
            raise ConfigError(f"an interval needs at least 2 samples, got n={len(items)}")
        rng = np.random.default_rng(seed)
        value = float(statistic(items))
        boots = np.array([statistic([items[i] for i in rng.integers(0, len(items), len(items))])
                          for _ in range(n_boot)], dtype=float)
        boots = boots[np.isfinite(boots)]
        lo, hi = np.quantile(boots, [(1 - LEVEL) / 2, (1 + LEVEL) / 2])
        return cls(value, float(min(lo, value)), float(max(hi, value)), len(items), unit, method,
                   se=float(boots.std(ddof=1)), detail=detail)

    @classmethod
    def exact(cls, value: float, unit: str = "", detail: str = "", n: int | None = None) -> Estimate:
        return cls(float(value), float(value), float(value), n, unit, "exact", detail=detail)


def margin(kind: str) -> tuple[float, str]:
    """The margin of a kind of quantity and its reason, from :data:`MARGINS` (never per claim)."""
    if kind not in MARGINS:
        raise ConfigError(f"no margin for {kind!r}: the kinds are {', '.join(MARGINS)}")
    m, why = MARGINS[kind]
    if not (isinstance(m, (int, float)) and math.isfinite(m) and m > 0):
        raise ConfigError(f"the margin of {kind!r} must be a positive number, got {m!r}")
    return m, why


def point_value(target: float, kind: str, scale: float = 1.0, unit: str = "") -> Rule:
    """Point value ``target`` with the margin of ``kind``: reproduced if the interval lies inside
    [target - m, target + m]; contradicted if it lies outside; inconclusive if it is wider than
    4 m; partly otherwise (it overlaps the band)."""
    m, why = margin(kind)

    def decide(e: Estimate) -> str:
        if e.lo >= target - m and e.hi <= target + m:
            return "reproduced"
        if e.hi < target - m or e.lo > target + m:
            return "contradicted"
        if e.hi - e.lo > 4 * m:
            return "inconclusive"
        return "partly"

    band = f"[{(target - m) * scale:g}, {(target + m) * scale:g}]{unit}"
    return Rule(f"point value {target * scale:g}{unit}, margin {m * scale:g}{unit} ({why}): reproduced if the 95 % "
                f"interval lies inside {band}, contradicted if outside, inconclusive if wider than "
                f"{4 * m * scale:g}{unit}, partly otherwise", decide, kind="point", margin=m)


def direction(paper_effect: float, scale: float = 1.0, unit: str = "", what: str = "A - B") -> Rule:
    """"A beats B": the estimate is A - B. Reproduced if its interval lies above 0; contradicted
    if below; otherwise inconclusive when the smallest effect the data could detect (80 % power)
    exceeds the paper's effect, and absent at this scale when it does not (a powered null)."""
    if not (math.isfinite(paper_effect) and paper_effect > 0):
        raise ConfigError(f"a direction claim needs the paper's effect > 0, got {paper_effect!r}")

    def decide(e: Estimate) -> str:
        if e.lo > 0:
            return "reproduced"
        if e.hi < 0:
            return "contradicted"
        return "inconclusive" if e.detectable() > paper_effect else "absent at this scale"

    return Rule(f"direction ({what} > 0; the paper's effect {paper_effect * scale:g}{unit}): reproduced if the 95 % "
                "interval lies above 0, contradicted if below; else inconclusive if the smallest effect detectable "
                f"with 80 % power exceeds {paper_effect * scale:g}{unit}, absent at this scale if not", decide,
                kind="direction", margin=paper_effect)


def bound(threshold: float, at_most: bool, scale: float = 1.0, unit: str = "", what: str = "the value") -> Rule:
    """At most (or at least) ``threshold``: reproduced if the whole interval is on the claimed
    side, contradicted if it is wholly on the other, partly if it straddles the bound."""

    def decide(e: Estimate) -> str:
        good, bad = (e.hi <= threshold, e.lo > threshold) if at_most else (e.lo >= threshold, e.hi < threshold)
        return "reproduced" if good else "contradicted" if bad else "partly"

    side = "at most" if at_most else "at least"
    return Rule(f"bound ({what} {side} {threshold * scale:g}{unit}): reproduced if the 95 % interval lies on that "
                "side, contradicted if wholly on the other, partly if it straddles it", decide, kind="bound",
                margin=threshold)


@dataclass(frozen=True)
class Rule:
    """How a measurement becomes a status: ``text`` is printed on the report page."""

    text: str
    decide: Callable[[Estimate], str]
    kind: str = "point"  # "point" / "direction" / "bound": the three kinds of the one policy
    margin: float | None = None

    def __call__(self, m: Estimate) -> str:
        status = self.decide(m)
        if status not in STATUSES[:-1]:
            raise ConfigError(f"a rule returned {status!r}; it must be one of {STATUSES[:-1]}")
        return status


@dataclass(frozen=True)
class Claim:
    id: str
    paper: str  # a key of PAPERS
    place: str  # "Fig. 9, App. A.2"
    statement: str
    paper_value: str
    rule: Rule
    measure: Callable[[str], Estimate] | None = None  # profile -> Estimate
    chapter: str | None = None  # docname of the chapter that tests it
    section: str | None = None  # label of the section that discusses it


@dataclass(frozen=True)
class Assessment:
    claim: Claim
    profile: str
    status: str
    measurement: Estimate | None
    note: str  # why "not yet tested", or the measurement's detail

    @property
    def ours(self) -> str:
        """``est [lo, hi] unit (n = N, method)``; ``-`` when not measured."""
        m = self.measurement
        if m is None:
            return "-"
        if m.method == "exact":
            return m.text() + (f" (n = {m.n}, exact)" if m.n else " (exact)")
        return f"{m.text()} (n = {m.n}, {m.method})"


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
