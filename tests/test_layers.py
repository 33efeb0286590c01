"""The library's imports follow DESIGN.md section 1: layers run one way and no module cycles.

Every ``import`` of ``lib/thermo`` is parsed (module level and inside functions alike: a lazy
import is still a dependency), mapped to its component (``thermo.papers.l2.runs`` -> ``papers``)
and checked against the layer table below.
"""

import ast
from pathlib import Path

import pytest

LIB = Path(__file__).resolve().parents[1] / "lib" / "thermo"
LAYERS = [  # lowest first; a module may import its own layer and the ones below
    ("ground", {"__init__", "errors", "paths", "profiles", "citations", "text"}),
    ("core", {"data", "models", "stats", "records", "results"}),
    ("train", {"train"}),
    ("instruments", {"htsr", "tempbalance", "apt", "actcool", "l2", "softmax", "ntk", "nt_compat"}),
    ("registries", {"experiments", "claims", "figures", "tables"}),
    ("papers", {"papers"}),
    ("catalog", {"catalog"}),
    ("top", {"report", "sphinx_ext", "sweep", "__main__", "colab", "cost"}),
]
LEVEL = {name: i for i, (_, names) in enumerate(LAYERS) for name in names}


def module_name(path: Path) -> str:
    parts = path.relative_to(LIB.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def component(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The thermo modules ``path`` imports (``from thermo import x`` names a module when x is one)."""
    found = set()
    me = module_name(path)
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("thermo")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import
                base = me.split(".")
                base = base[: len(base) - node.level + (1 if path.name == "__init__.py" else 0)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if not mod.startswith("thermo"):
                continue
            for a in node.names:
                sub = f"{mod}.{a.name}"
                found.add(sub if sub in modules else mod)
    found.discard(me)
    return found


def graph() -> dict[str, set[str]]:
    files = [p for p in LIB.rglob("*.py") if "__pycache__" not in p.parts]
    modules = {module_name(p) for p in files}
    return {module_name(p): imports_of(p, modules) for p in files}


GRAPH = graph()


def test_every_module_has_a_layer():
    unknown = sorted({component(m) for m in GRAPH} - set(LEVEL))
    assert not unknown, f"components with no layer in DESIGN.md section 1: {unknown}"


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_no_import_runs_up_the_layers(module):
    mine = LEVEL.get(component(module))
    if mine is None:
        pytest.skip("no layer (see test_every_module_has_a_layer)")
    up = [m for m in sorted(GRAPH[module]) if LEVEL.get(component(m), -1) > mine]
    assert not up, f"{module} ({LAYERS[mine][0]}) imports higher layers: {up}"


def test_papers_do_not_import_each_other():
    crossing = []
    for module, deps in GRAPH.items():
        if component(module) != "papers" or module.count(".") < 2:
            continue
        paper = module.split(".")[2]
        for dep in deps:
            if component(dep) == "papers" and dep.count(".") >= 2 and dep.split(".")[2] != paper \
                    and paper != "synthesis":
                crossing.append((module, dep))
    assert not crossing


def test_no_import_cycles():
    state, stack, cycles = {}, [], []

    def visit(m):
        state[m] = "open"
        stack.append(m)
        for d in sorted(GRAPH.get(m, ())):
            if d not in GRAPH:
                continue
            if state.get(d) == "open":
                cycles.append(stack[stack.index(d):] + [d])
            elif d not in state:
                visit(d)
        stack.pop()
        state[m] = "done"

    for m in sorted(GRAPH):
        if m not in state:
            visit(m)
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles[:5])


def test_the_parser_sees_lazy_and_relative_imports(tmp_path):
    pkg = tmp_path / "thermo" / "papers" / "x"
    pkg.mkdir(parents=True)
    src = pkg / "runs.py"
    src.write_text("def f():\n    from thermo import report\n    from . import analysis\n")
    global LIB
    old, LIB = LIB, tmp_path / "thermo"
    try:
        found = imports_of(src, {"thermo.report", "thermo.papers.x.analysis"})
    finally:
        LIB = old
    assert found == {"thermo.report", "thermo.papers.x.analysis"}


def test_the_registries_hold_no_paper_code():
    """``experiments`` and ``claims`` are registries: a paper's experiments live in its package."""
    stray = sorted(m for m in GRAPH if m.startswith(("thermo.experiments.", "thermo.claims.", "thermo.plots")))
    assert not stray, f"paper code outside thermo.papers: {stray}"
