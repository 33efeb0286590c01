"""The reproduction report (DESIGN.md section 8): every registered claim assessed in a profile,
from cached results only. Used by the report page (:mod:`thermo.sphinx_ext`), the chapters'
claims tables and Colab readers (:func:`table`)."""

from __future__ import annotations

from thermo import catalog
from thermo.citations import PAPERS
from thermo.claims import STATUSES, Assessment, assess


def assess_all(profile: str, prefix: str = "") -> list[Assessment]:
    """Every registered claim (optionally those whose id starts with ``prefix``), in paper order."""
    order = list(PAPERS)
    claims = sorted((c for c in catalog.all_claims().values() if c.id.startswith(prefix)),
                    key=lambda c: order.index(c.paper))  # stable: registration order within a paper
    return [assess(c, profile) for c in claims]


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


def ours_text(a: Assessment) -> str:
    """A claim's measurement as a chapter quotes it: ``est [lo, hi] (n = ...)``, or, with none yet, why
    (the assessment's note)."""
    return a.ours if a.measurement else f"not yet measured ({a.note})"
