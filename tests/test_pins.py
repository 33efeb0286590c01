"""The pins live in requirements.txt; environment.yml and pyproject.toml must agree with it."""

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]


def pins(path):
    lines = [ln.split("#")[0].strip() for ln in path.read_text().splitlines()]
    return dict(ln.split("==") for ln in lines if ln)


def env_pins():
    text = (ROOT / "environment.yml").read_text()
    return dict(m.groups() for m in re.finditer(r"^\s+- ([A-Za-z0-9_.\-]+)==(\S+)\s*$", text, re.M))


def test_environment_yml_repeats_requirements_exactly():
    assert env_pins() == pins(ROOT / "requirements.txt")


def test_pyproject_dependencies_are_satisfied_by_the_pins():
    locked = {k.lower(): v for k, v in pins(ROOT / "requirements.txt").items()}
    locked.update({k.lower(): v for k, v in pins(ROOT / "requirements-nodeps.txt").items()})
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]
    for req in map(Requirement, reqs):
        assert req.name.lower() in locked, f"{req.name} is a dependency but has no pin"
        pin = locked[req.name.lower()]
        assert req.specifier.contains(pin), f"pin {req.name}=={pin} violates {req}"


def test_stack_pins_match_the_verified_stack():
    shared = ROOT.parent / "shared" / "stack" / "requirements-top.txt"
    if not shared.exists():
        pytest.skip("shared/ (the verified stack) is not beside this checkout")
    verified = pins(shared)
    ours = pins(ROOT / "requirements.txt")
    moved = {k: (v, ours[k]) for k, v in verified.items() if k in ours and ours[k] != v}
    assert not moved, f"pins moved away from the verified stack (re-run STACK.md checks): {moved}"


# What Colab had preinstalled in a recent runtime (and an older one) that the library must accept
# as it is: `pip install thermo` on Colab must upgrade none of these (issue: numpy 2.0.2 was
# upgraded to 2.4.6 and pandas 2.2.2 to 3.1.1 by mlxtend's requirements).
COLAB_LIKE = {
    "torch": "2.8.0", "torchvision": "0.23.0", "numpy": "2.0.2", "scipy": "1.14.1", "matplotlib": "3.8.0",
    "tqdm": "4.66.5", "scikit-learn": "1.5.2", "pandas": "2.2.2", "seaborn": "0.13.2", "ipython": "7.34.0",
}


def test_hard_dependencies_accept_a_colab_like_stack():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for req in map(Requirement, project["dependencies"]):
        assert req.name.lower() in COLAB_LIKE, f"{req.name}: a hard dependency Colab does not preinstall"
        assert req.specifier.contains(COLAB_LIKE[req.name.lower()]), f"{req} would upgrade Colab's {req.name}"


def test_offline_data_sources_are_an_extra():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    hard = {Requirement(r).name for r in project["dependencies"]}
    assert not hard & {"mlxtend", "mnist1d", "weightwatcher", "powerlaw", "jax", "neural-tangents"}
