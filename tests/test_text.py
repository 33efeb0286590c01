"""thermo.text.readable: the page's symbols and numbers, checked against hand-written expectations and
against float() on the numbers it rewrites."""

import re

import pandas as pd
import pytest

from thermo import tables
from thermo.text import readable, sci


@pytest.mark.parametrize("ascii_,page", [
    ("eta_tilde = 0.1: beta <= 0.3", "η̃ = 0.1: β ≤ 0.3"),
    ("classifier.1 (alpha = 1.38)", "classifier.1 (α = 1.38)"),
    ("TB at the paper's eta_0 - SNR at its lambda_sr", "TB at the paper's η₀ - SNR at its λ_sr"),
    ("eta * lambda * t orders the cooling", "η·λ·t orders the cooling"),
    ("tau_z and tau_nl, kappa(H)", "τ_z and τ_nl, κ(H)"),
    ("eta* ~ 1/beta", "η* ~ 1/β"),
    ("1.6e-08", "1.6 × 10⁻⁸"),
    ("from 0.049 to 9.3e+02", "from 0.049 to 9.3 × 10²"),
    ("lambda = 1e-05", "λ = 10⁻⁵"),
    ("2.5e+00", "2.5"),
])
def test_symbols_and_powers_of_ten(ascii_, page):
    assert readable(ascii_) == page
    assert readable(page) == page  # idempotent


@pytest.mark.parametrize("text", [
    "alpha_hill and alpha_excess are metric names", "run 4ce4f843e+01ff", "betas, etas and alphas",
    "$\\beta \\eta$ and `eta_tilde`", "a 2x2 grid", "ResNet-20 w0.5, seed 43", "syn-cool-alpha, syn-actcool-alpha",
    "tc-beta-no-norm and beta-sweep",
])
def test_names_math_code_and_hashes_are_left_alone(text):
    assert readable(text) == text


@pytest.mark.parametrize("x", [1.6e-08, 9.3e+02, -2.25e-11, 1e+30, 7.0e-3])
def test_powers_of_ten_keep_the_value(x):
    """The rewritten number, read back (superscripts to digits), is the number Python wrote."""
    text = readable(f"{x:.3g}" if abs(x) < 1e-3 or abs(x) > 1e3 else f"{x:.1e}")
    digits = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")
    m = re.fullmatch(r"(-?[\d.]+) × 10(\S+)|10(\S+)", text)
    assert m, text
    mantissa, power = (m[1], m[2]) if m[1] else ("1", m[3])
    assert float(mantissa) * 10 ** int(power.translate(digits)) == pytest.approx(x, rel=1e-2)


def test_sci_writes_a_bare_power_for_a_unit_mantissa():
    assert sci("1", "-", "03") == "10⁻³" and sci("3.2", "+", "04") == "3.2 × 10⁴" and sci("4", "+", "00") == "4"


def test_tables_show_their_cells_and_headers_readably():
    t = tables.show(pd.DataFrame({"eta_tilde": ["0.1"], "lambda (1)": [1.2e-7]}), caption="x")
    assert t.header == ("η̃", "λ (1)") and t.rows == (("0.1", "1.2 × 10⁻⁷"),)
