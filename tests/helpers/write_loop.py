"""Writes results records to one path in a loop until killed: ``python write_loop.py ROOT``."""

import sys
from pathlib import Path

from thermo.results import Store, make_record

store = Store(Path(sys.argv[1]))
i = 0
while True:
    data = {"i": i, "payload": [float(i)] * (200_000 if i % 2 else 1_000)}  # big and small versions
    store.save(make_record("exp-w", 1, {"k": 1}, data, "ok", None, {"profile": "quick", "git_commit": "unknown"}))
    i += 1
