"""The Colab path, simulated end to end (issue: the book for its readers, section 3).

A fresh virtual environment stands in for a Colab runtime: it has the packages Colab would have
(hard links to this project's own site-packages, so nothing is downloaded) but no ``thermo``. A
chapter is then executed in the smoke profile from a folder outside the repository, in a kernel
of that environment, exactly as a reader would run it: its own install cell (switched on with
``THERMO_INSTALL=1`` instead of ``google.colab``) clones the repository from a ``file://`` URL of
this checkout's HEAD and pip-installs the library from the clone. Checked afterwards: every cell
ran, no preinstalled package changed version, the figure went to the clone's smoke folder with a
caption naming the smoke profile and the commit, and the quick profile finds the cached results
the clone brought along.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from thermo.results import git_state

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = ROOT / "notebooks" / "tempbalance" / "01-esd-and-hill.ipynb"
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900),
              pytest.mark.filterwarnings("ignore::nbformat.validator.MissingIDFieldWarning")]


def colab_like_venv(path: Path) -> Path:
    """A venv whose site-packages are hard links to ours, minus thermo (the 'preinstalled' stack)."""
    subprocess.run([sys._base_executable, "-m", "venv", "--without-pip", str(path)], check=True)
    ours = Path(next(p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir()))
    site = path / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    shutil.rmtree(site)
    subprocess.run(["cp", "-al", str(ours), str(site)], check=True)
    for entry in site.iterdir():
        if "thermo" in entry.name.lower():  # the editable install of this checkout
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    return path / "bin" / "python"


def installed(python: Path) -> dict:
    out = subprocess.run([str(python), "-m", "pip", "list", "--format=json", "--disable-pip-version-check"],
                         check=True, capture_output=True, text=True).stdout
    return {p["name"].lower(): p["version"] for p in json.loads(out)}


def test_a_chapter_runs_from_a_pip_installed_thermo_outside_the_repository(tmp_path, monkeypatch):
    head = git_state()
    if head["git_commit"] == "unknown":
        pytest.skip("needs a git checkout to clone from")
    python = colab_like_venv(tmp_path / "colab")
    before = installed(python)
    assert "thermo" not in before

    kernels = tmp_path / "jupyter" / "kernels" / "colab-sim"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "colab-sim", "language": "python"}))
    work = tmp_path / "content"  # Colab's working folder: nothing of the repository in it
    work.mkdir()
    for var in ("THERMO_ROOT", "THERMO_DATA", "THERMO_CHECKPOINTS", "PYTHONPATH", "VIRTUAL_ENV"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("THERMO_INSTALL", "1")
    monkeypatch.setenv("THERMO_INSTALL_FROM", ROOT.as_uri())
    monkeypatch.setenv("THERMO_PROFILE", "smoke")
    monkeypatch.setenv("THERMO_PROGRESS", "0")

    nb = nbformat.read(CHAPTER, as_version=4)
    NotebookClient(nb, kernel_name="colab-sim", timeout=600, resources={"metadata": {"path": str(work)}}).execute()

    clone = work / "thermo-book"
    after = installed(python)
    changed = {k: (before.get(k), v) for k, v in after.items() if before.get(k) != v and k != "thermo"}
    assert not changed, f"installing thermo changed preinstalled packages: {changed}"
    assert "thermo" in after
    where = subprocess.run([str(python), "-c", "import thermo; print(thermo.__file__)"], cwd=work,
                           capture_output=True, text=True, check=True).stdout
    assert str(tmp_path / "colab") in where, f"thermo imported from {where}"

    manifest = json.loads((clone / "book" / "_static" / "figures" / "smoke" / "tb-fig9-s-vs-alpha.json").read_text())
    assert manifest["profile"] == "smoke" and "; profile smoke;" in manifest["caption"]
    assert f"code {head['git_commit'][:10]}" in manifest["caption"], manifest["caption"]
    outputs = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "CUDA" not in outputs and "reetting" not in outputs, "third-party chatter reached the reader"

    # the quick profile of the installed library finds the results the clone brought along
    check = ("from thermo import experiments\nfrom thermo.results import Store\n"
             "exp = experiments.get('tb-s-vs-alpha')\n"
             "print(Store.for_profile('quick').load(exp.id, exp.version, exp.configs('quick')[0]) is not None)")
    found = subprocess.run([str(python), "-c", check], cwd=work, env={**os.environ, "THERMO_ROOT": str(clone)},
                           capture_output=True, text=True, check=True).stdout.strip()
    assert found == "True"
