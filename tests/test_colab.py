"""The Colab path, simulated end to end and offline (issue "Pages a reader enjoys", item 5).

A fresh virtual environment stands in for a Colab runtime. Its packages are hard links to this
project's site-packages *minus* what the chapters' install cell must bring (thermo, neural-tangents,
frozendict, JAX and its plugins), plus Colab's own newer JAX with flax, installed from the local
wheelhouse (``make wheelhouse`` -> ``_build/wheelhouse``, pinned in ``requirements-colab.txt``).
Pip in that environment sees only the wheelhouse (``PIP_NO_INDEX``, ``PIP_FIND_LINKS``, no pip
configuration), so nothing is downloaded.

The book is cloned from a temporary git repository holding this checkout's working tree (tracked
and untracked-but-not-ignored files, committed there), so uncommitted work is tested too; in CI it
equals HEAD. Every chapter of :data:`thermo.colab.CHAPTERS` then runs in the smoke profile, each in
a fresh kernel of that environment, from a folder outside the repository (Colab's ``/content``),
exactly as a reader runs it: its install cell (switched on by ``THERMO_INSTALL=1`` instead of
``google.colab``) clones the book and pip-installs what the chapter needs. The JAX experiments of
the JAX chapters are computed there; the torch experiments' smoke records are lent from this
checkout's smoke store when it has them (same torch, hard-linked: only time to save). Checked: no
output shows a missing module, a traceback, pip's conflict report or a JAX plugin/CUDA warning;
every number the prose glues is printed in some output (Colab shows prints, not glue); only JAX
moved among the preinstalled packages, and neural-tangents and frozendict were installed; figures
and records went into the clone. A last kernel plays the runtime after a restart (no
``THERMO_ROOT``): the library finds the clone again and a small JAX experiment writes its record and
figure there, not into ``/content``.

``THERMO_COLAB_NEW_CELLS=1`` writes :func:`thermo.colab.install_cell` into the temporary copy's
chapters first (``python -m thermo.colab``), to try a new install cell before the notebooks get it.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from packaging.version import Version

from thermo import colab

ROOT = Path(__file__).resolve().parents[1]
WHEELHOUSE = ROOT / "_build" / "wheelhouse"
PINS_FILE = ROOT / "requirements-colab.txt"
# What the install cell must bring: the simulated Colab stack lacks it (root names in site-packages).
NOT_PREINSTALLED = ("thermo", "neural_tangents", "frozendict", "jax", "jaxlib")
# A reader must never see these in a chapter's outputs.
FORBIDDEN = re.compile(r"ModuleNotFoundError|ImportError|Traceback|pip's dependency resolver|CUDA|cuda|xla_bridge"
                       r"|jax_plugins|[Pp]lugin|cuInit|reetting")
GLUE_TEXT = re.compile(r"\{glue:text\}`([A-Za-z0-9_.-]+)(?::([^`]*))?`")
GLUE_RECORD = "application/papermill.record/"


def pins() -> list[tuple[str, str]]:
    """``(name, version)`` of every line of requirements-colab.txt."""
    lines = (line.split("#")[0].strip() for line in PINS_FILE.read_text().splitlines())
    return [tuple(line.split("==")) for line in lines if line]


def preinstalled_pins() -> list[str]:
    """Colab's own newer JAX and flax: every pin that is not what the install cell installs."""
    return [f"{n}=={v}" for n, v in pins() if n == "flax" or (n in ("jax", "jaxlib") and v != colab.JAX)]


def test_the_wheelhouse_holds_what_the_install_cell_pins():
    have = set(pins())
    assert {("jax", colab.JAX), ("jaxlib", colab.JAX), ("neural-tangents", colab.NEURAL_TANGENTS)} <= have
    assert len(preinstalled_pins()) == 3, "requirements-colab.txt: a newer jax and jaxlib, and flax"
    ours = dict(line.split("==") for line in (ROOT / "requirements.txt").read_text().split() if "==" in line)
    assert ours["jax"] == colab.JAX, "the cell installs the JAX we verified"
    assert ("frozendict", ours["frozendict"]) in have, "the wheelhouse's frozendict is the one we verified"
    assert Version(ours["frozendict"]) >= Version(colab.FROZENDICT), "the cell's lower bound admits it"


@pytest.mark.parametrize("gpu", ["nvidia-smi", "plugin", None])
def test_the_jax_install_cell_picks_the_cuda_build_only_on_a_gpu_runtime(gpu, tmp_path, monkeypatch, capsys):
    """The cell's own logic, with pip and git replaced by a recorder."""
    import importlib.util

    calls = []
    monkeypatch.setattr(subprocess, "run", lambda cmd, **kw: calls.append(cmd))
    monkeypatch.setattr(shutil, "which", lambda name: "/usr/bin/nvidia-smi" if gpu == "nvidia-smi" else None)
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: (
        object() if gpu == "plugin" and name == "jax_cuda12_plugin" else real_find_spec(name, *a)))
    monkeypatch.setenv("THERMO_INSTALL", "1")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "thermo-book").mkdir()  # already cloned: no git
    exec(colab.install_cell(jax=True), {})
    installs = [" ".join(c[c.index("install") + 1:]) for c in calls]
    want = f"jax[{'cuda12' if gpu else 'cpu'}]=={colab.JAX}"
    assert any(want in line for line in installs), installs
    assert any(f"frozendict>={colab.FROZENDICT}" in line for line in installs), installs
    assert any(f"--no-deps neural-tangents=={colab.NEURAL_TANGENTS}" in line for line in installs), installs
    assert os.environ.pop("THERMO_ROOT") == str(tmp_path / "thermo-book")
    assert capsys.readouterr().out.startswith(f"thermo installed from {tmp_path / 'thermo-book'}")


# --- the simulation ------------------------------------------------------------------------------

def _root_name(entry: Path) -> str:
    name = entry.name.removeprefix("__editable__.").removeprefix("__editable___")
    return re.match(r"[A-Za-z0-9_]*", name).group(0).lower()


def colab_like_venv(path: Path, env: dict) -> Path:
    """Our site-packages as hard links, minus what the install cell brings, plus Colab's newer JAX
    and flax from the wheelhouse."""
    subprocess.run([sys._base_executable, "-m", "venv", "--without-pip", str(path)], check=True)
    ours = Path(next(p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir()))
    site = path / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    shutil.rmtree(site)
    subprocess.run(["cp", "-al", str(ours), str(site)], check=True)
    for entry in site.iterdir():
        root = _root_name(entry)
        if root in NOT_PREINSTALLED or root.startswith("jax_") or root.startswith("thermo"):
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    python = path / "bin" / "python"
    pip = [str(python), "-m", "pip", "install", "-q"]
    flax = [p for p in preinstalled_pins() if p.startswith("flax==")]
    subprocess.run([*pip, *[p for p in preinstalled_pins() if p not in flax]], check=True, env=env)
    subprocess.run([*pip, "--no-deps", *flax], check=True, env=env)  # it only has to be there
    return python


def installed(python: Path, env: dict) -> dict:
    out = subprocess.run([str(python), "-m", "pip", "list", "--format=json"], env=env,
                         check=True, capture_output=True, text=True).stdout
    return {p["name"].lower().replace("_", "-"): p["version"] for p in json.loads(out)}


def working_tree_repository(dest: Path) -> str:
    """A git repository of this checkout's working tree (tracked and untracked-but-not-ignored
    files, as they are now), committed; returns the commit."""
    listed = subprocess.run(["git", "ls-files", "-z", "-co", "--exclude-standard"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout.split("\0")
    for rel in filter(None, listed):
        src = ROOT / rel
        if src.is_file() and not src.is_symlink():  # a deleted file is still listed until staged
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    if os.environ.get("THERMO_COLAB_NEW_CELLS") == "1":
        colab.write_cells(dest)
    git = ["git", "-c", "user.name=colab-test", "-c", "user.email=colab-test@localhost", "-c", "commit.gpgsign=false"]
    subprocess.run([*git, "init", "-q"], cwd=dest, check=True)
    subprocess.run([*git, "add", "-A"], cwd=dest, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "the working tree under test"], cwd=dest, check=True)
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=dest, check=True, capture_output=True,
                          text=True).stdout.strip()


def visible_text(nb) -> str:
    """What a reader sees of a notebook's outputs (glue records, hidden off the book, excluded)."""
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if out.output_type == "stream":
                parts.append(out.text)
            elif out.output_type == "error":
                parts.append("\n".join([f"{out.ename}: {out.evalue}", *out.traceback]))
            else:
                parts += [v for k, v in out.get("data", {}).items() if k.startswith("text/") and isinstance(v, str)]
    return re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(parts))  # without the terminal colours of tracebacks


def first_error(nb) -> str | None:
    """Which cell failed, and how."""
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if out.output_type == "error":
                return f"cell {i} ({cell.source.splitlines()[0][:60]!r}) failed: {out.ename}: {out.evalue}"
    return None


def unprinted_glue(nb) -> list[str]:
    """``{glue:text}`` keys the prose cites whose text (as the site shows it) no output prints
    (myst-nb's glue records, hidden outside the book build, say what the site shows)."""
    from myst_nb.core.variables import format_plain_text

    glued = {}
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            name = out.get("metadata", {}).get("scrapbook", {}).get("name")
            if name:
                glued[name] = out.get("data", {}).get(GLUE_RECORD + "text/plain", out.get("data", {}).get("text/plain"))
    shown = visible_text(nb)
    missing = []
    prose = "".join(c.source for c in nb.cells if c.cell_type == "markdown")
    for key, fmt in sorted(set(GLUE_TEXT.findall(prose))):
        if glued.get(key) is None:
            missing.append(f"{key} (never glued)")
        elif format_plain_text(glued[key], fmt or "") not in shown:
            missing.append(f"{key} = {format_plain_text(glued[key], fmt or '')!r}")
    return missing


# The JAX chapters' JAX experiments: the simulated runtime computes these itself, with the JAX and
# neural-tangents its install cell brought (the restart kernel recomputes tc-a3-conditioning too).
COMPUTED_ON_COLAB = ("tc-fig1-collapse", "tc-timescales", "tc-fig5-phase-plane", "tc-nl-step-scaling", "tc-fig7-ntk",
                     "tc-a3-conditioning", "l2-kernel-decay", "l2-eq1")


def lend_torch_records(clone: Path) -> None:
    """Copy the checkout's smoke records (``make test`` builds the smoke book first) into the clone,
    except those of :data:`COMPUTED_ON_COLAB`. The torch experiments run the same hard-linked torch
    there as here, so recomputing them would double the test's time and check nothing Colab-specific."""
    code = "".join(c.source for doc, flags in colab.CHAPTERS.items() if flags.get("jax")
                   for c in nbformat.read(ROOT / f"{doc}.ipynb", as_version=4).cells if c.cell_type == "code")
    cited = set(re.findall(r'catalog\.run\("([a-z0-9-]+)"', code))
    assert set(COMPUTED_ON_COLAB) <= cited, f"not run by a JAX chapter: {set(COMPUTED_ON_COLAB) - cited}"
    ours = ROOT / "_build" / "smoke-results"
    for folder in sorted(ours.iterdir()) if ours.is_dir() else []:
        dest = clone / "_build" / "smoke-results" / folder.name
        if folder.is_dir() and folder.name not in COMPUTED_ON_COLAB and not dest.exists():
            shutil.copytree(folder, dest)


RESTART = [  # the runtime after Runtime > Restart session: THERMO_ROOT is gone, the clone is not
    "import os\nassert 'THERMO_ROOT' not in os.environ\nimport thermo\nfrom thermo import paths\n"
    "print(f'root: {paths.repo_root()}')",
    "from thermo import catalog, figures\nfrom thermo.papers.temperature_check import plots as tcp\n"
    "figures.set_chapter('notebooks/temperature-check/01-softmax-temperature')\n"
    "cond = catalog.run('tc-a3-conditioning', 'smoke', recompute=True)\n"
    "pub = figures.publish(tcp.conditioning_figure(cond), 'tc-a3-conditioning', cond, profile='smoke',\n"
    "                      **tcp.caption('tc-a3-conditioning'))\nprint(f'figure: {pub.png}')",
]


@pytest.mark.slow
@pytest.mark.timeout(1500)
@pytest.mark.filterwarnings("ignore::nbformat.validator.MissingIDFieldWarning")
def test_every_chapter_runs_on_a_colab_like_runtime_offline(tmp_path, monkeypatch):
    if not (WHEELHOUSE / ".complete").is_file():
        if os.environ.get("CI"):
            pytest.fail("no wheelhouse: `make wheelhouse` (a prerequisite of `make test`) downloads it")
        pytest.skip("no wheelhouse: run `make wheelhouse` once (it needs the package registry)")
    if shutil.which("git") is None:
        pytest.skip("needs git")
    source = tmp_path / "source"
    commit = working_tree_repository(source)

    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))  # the kernel spec below
    env = {k: v for k, v in os.environ.items()  # PYTEST_CURRENT_TEST would stop ipykernel capturing pip's output
           if not k.startswith(("PIP_", "THERMO_", "PYTEST_")) and k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update({"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(WHEELHOUSE), "PIP_CONFIG_FILE": os.devnull,
                "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1", "THERMO_INSTALL": "1",
                "THERMO_INSTALL_FROM": source.as_uri(), "THERMO_PROFILE": "smoke", "THERMO_PROGRESS": "0"})

    python = colab_like_venv(tmp_path / "colab", env)
    before = installed(python, env)
    assert not {"thermo", "neural-tangents", "frozendict"} & set(before)
    assert before["jax"] != colab.JAX and "flax" in before

    kernels = tmp_path / "jupyter" / "kernels" / "colab-sim"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "colab-sim", "language": "python"}))
    work = tmp_path / "content"  # Colab's working folder: nothing of the repository in it
    work.mkdir()
    clone = work / "thermo-book"

    def execute(nb, after_install=None):
        def hook(cell_index, **_):
            if cell_index == 0 and after_install:
                after_install()
        first = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
        NotebookClient(nb, kernel_name="colab-sim", timeout=600, resources={"metadata": {"path": str(work)}},
                       on_cell_executed=lambda cell_index, **kw: hook(cell_index - first, **kw)).execute(env=env)

    problems, seconds, cited = [], {}, 0
    for docname in colab.CHAPTERS:
        nb = nbformat.read(source / f"{docname}.ipynb", as_version=4)
        start = time.monotonic()
        try:  # a fresh kernel per chapter
            execute(nb, lambda: lend_torch_records(clone))
        except CellExecutionError as err:
            problems.append(f"{docname}: {first_error(nb) or err}")
        else:
            cited += len(set(GLUE_TEXT.findall("".join(c.source for c in nb.cells if c.cell_type == "markdown"))))
            if unprinted := unprinted_glue(nb):
                problems.append(f"{docname}: glued but never printed: {', '.join(unprinted)}")
        seconds[docname.split("/", 1)[1]] = round(time.monotonic() - start)
        shown = visible_text(nb)
        if bad := sorted({m.group(0) for m in FORBIDDEN.finditer(shown)}):
            lines = dict.fromkeys(ln.strip()[:160] for ln in shown.splitlines() if FORBIDDEN.search(ln))
            problems.append(f"{docname}: the reader sees {bad}: " + " | ".join(list(lines)[:4]))
    print(f"seconds per chapter: {seconds}")
    assert not problems, "\n".join(problems)
    assert cited > len(colab.CHAPTERS), f"only {cited} glued numbers cited: is the {{glue:text}} pattern stale?"

    assert sorted(p.name for p in work.iterdir()) == ["thermo-book"], "files landed in /content, outside the clone"
    for exp in COMPUTED_ON_COLAB:  # computed there, by the clone's code, with the JAX the cell installed
        records = [json.loads(p.read_text()) for p in (clone / "_build" / "smoke-results" / exp).glob("*.json")]
        assert records, f"{exp}: no record in the clone"
        assert {(r["provenance"]["git_commit"], r["provenance"]["packages"]["jax"]) for r in records} == {
            (commit, colab.JAX)}, exp
    after = installed(python, env)
    changed = {k: (v, after.get(k)) for k, v in before.items() if after.get(k) != v and k not in ("jax", "jaxlib")}
    assert not changed, f"installing the chapters changed preinstalled packages: {changed}"
    assert set(after) - set(before) == {"thermo", "neural-tangents", "frozendict"}
    assert (after["jax"], after["jaxlib"], after["neural-tangents"]) == (colab.JAX, colab.JAX, colab.NEURAL_TANGENTS)
    assert ("frozendict", after["frozendict"]) in pins()
    where = subprocess.run([str(python), "-c", "import thermo; print(thermo.__file__)"], cwd=work, env=env,
                           capture_output=True, text=True, check=True).stdout
    assert str(tmp_path / "colab") in where, f"thermo imported from {where}"

    # the runtime after a restart finds the clone again, and computes and publishes into it
    start = time.time()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code) for code in RESTART])
    execute(nb)
    shown = visible_text(nb)
    assert f"root: {clone}" in shown, shown
    assert not FORBIDDEN.search(shown), shown
    records = list((clone / "_build" / "smoke-results" / "tc-a3-conditioning").glob("*.json"))
    assert records and all(p.stat().st_mtime >= start for p in records), records
    figure = clone / "book" / "_static" / "figures" / "smoke" / "tc-a3-conditioning"
    assert figure.with_suffix(".png").stat().st_mtime >= start and f"figure: {figure}.png" in shown
    manifest = json.loads(figure.with_suffix(".json").read_text())
    assert manifest["profile"] == "smoke" and "; profile smoke;" in manifest["caption"]
    assert f"code {commit[:10]}" in manifest["caption"], manifest["caption"]
    assert sorted(p.name for p in work.iterdir()) == ["thermo-book"], "files landed in /content, outside the clone"

    # ... and its quick profile finds the results the clone brought along
    check = ("from thermo import catalog\nfrom thermo.results import Store\n"
             "exp = catalog.experiment('tb-s-vs-alpha')\n"
             "print(Store.for_profile('quick').load(exp.id, exp.version, exp.configs('quick')[0]) is not None)")
    found = subprocess.run([str(python), "-c", check], cwd=work, env=env,
                           capture_output=True, text=True, check=True).stdout.strip()
    assert found == "True"
