"""Numbers and symbols as a reader reads them: the analysis modules write plain ASCII
(``beta = 0.1``, ``eta_tilde``, ``1.6e-08``), which a terminal, a test and a log handle well; the page
shows ``β = 0.1``, ``η̃``, ``1.6 × 10⁻⁸``. :func:`readable` is that one translation, applied where text
meets a reader: glued facts (:func:`thermo.figures.glue_facts`), table cells (:func:`thermo.tables.show`)
and the report (:mod:`thermo.sphinx_ext`).

Only whole words are translated (``alpha_hill``, a metric's name, stays as it is), and nothing inside
inline math (``$...$``) or code (backticks) is touched.
"""

from __future__ import annotations

import re

# whole-word ASCII names -> their symbols (longer names first: eta_tilde before eta)
SYMBOLS = {
    "eta_tilde": "η̃", "eta_0": "η₀", "eta0": "η₀", "eta*": "η*", "lambda_sr": "λ_sr", "tau_z": "τ_z",
    "tau_nl": "τ_nl", "alpha": "α", "beta": "β", "eta": "η", "lambda": "λ", "tau": "τ", "kappa": "κ",
}
# not inside an identifier: letters, digits, "_", "." or "-" on either side (claim ids such as syn-cool-alpha)
_WORD = re.compile(r"(?<![\w.-])(" + "|".join(re.escape(k) for k in SYMBOLS) + r")(?![\w-])")
# a float in Python's e-notation (the exponent always signed: 1.6e-08, 9.3e+02), not inside a word or hash
_SCI = re.compile(r"(?<![\w.])(-?\d+(?:\.\d+)?)e([-+])(\d+)(?![\w.])")
_SUPER = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
_PROTECTED = re.compile(r"(\$[^$]*\$|`[^`]*`)")


def sci(mantissa: str, sign: str, exponent: str) -> str:
    """``1.6``, ``-``, ``08`` -> ``1.6 × 10⁻⁸`` (``1e+00`` -> ``1``)."""
    power = int(exponent) * (-1 if sign == "-" else 1)
    if power == 0:
        return mantissa
    tail = f"10{str(power).translate(_SUPER)}"
    return tail if mantissa in ("1", "1.0") else f"{mantissa} × {tail}"


_PRODUCT = re.compile(r"(?<=[\w)|*]) \* (?=[\w(|])")  # "eta * lambda * t" -> "η·λ·t"
_RELATIONS = {"<=": "≤", ">=": "≥"}


def _plain(text: str) -> str:
    text = _SCI.sub(lambda m: sci(m[1], m[2], m[3]), text)
    text = _WORD.sub(lambda m: SYMBOLS[m[1]], text)
    text = _PRODUCT.sub("·", text)
    for ascii_, symbol in _RELATIONS.items():
        text = text.replace(f" {ascii_} ", f" {symbol} ")
    return text


def readable(text: str) -> str:
    """``text`` with its ASCII names of symbols and its e-notation numbers as a reader writes them;
    inline math and code spans left alone. Idempotent."""
    parts = _PROTECTED.split(str(text))
    return "".join(p if i % 2 else _plain(p) for i, p in enumerate(parts))
