"""Plotting helpers of the chapters, one module per paper (DESIGN.md section 6), data in, axes out.

``thermo.plots.<name>`` keeps working for the helpers chapter 1 uses; new chapters import their
own module (``from thermo.plots import l2 as l2plots``).
"""

from thermo.plots.common import metric_vs_lr, sweep_table
from thermo.plots.tempbalance import (
    crosscheck_tables,
    esd_with_hill_fit,
    relative_error_by_size,
    s_error_by_size,
    s_error_table,
    s_vs_alpha,
)

__all__ = ["crosscheck_tables", "esd_with_hill_fit", "metric_vs_lr", "relative_error_by_size", "s_error_by_size",
           "s_error_table", "s_vs_alpha", "sweep_table"]
