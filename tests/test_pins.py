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
