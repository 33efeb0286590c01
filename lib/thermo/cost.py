"""What the experiments of a profile train and what that costs on a GPU, before anything runs:
``python -m thermo cost [--profile paper] [--json]`` (DESIGN.md section 3), and the sentence each
chapter's "Run it yourself" section shows (:func:`chapter_line`).

FLOPs are counted from each experiment's :class:`~thermo.experiments.RunPlan`, not estimated:

- **torch** runs: one batch of the run's batch size and input shape goes forward and backward
  through the run's model, then forward alone, under ``torch.utils.flop_counter.FlopCounterMode``.
  The model is built on the CPU and moved to the meta device, so the counter sees the operators
  and shapes of a CPU run without doing its arithmetic (a ResNet-18 batch is counted in about a
  second; tests/test_cost.py checks the counts equal the CPU's). Per example, times the examples
  the run trains on (epochs x training set, and probes that take a gradient) and the examples it
  only scores (evaluations, probes). The counter counts matrix products and convolutions, 2 FLOPs
  per multiply-add, the bulk of these networks' arithmetic; element-wise work (activations,
  BatchNorm, the optimizer's update) is not counted.
- **JAX** runs: XLA's own count for each compiled piece of the run at the run's shapes
  (``jax.jit(f).lower(*args).compile().cost_analysis()``: a gradient-descent step, a forward
  pass, a kernel), times how often the run calls it. XLA counts element-wise work too.
- What neither sees (eigensolvers, power iterations, Fig. 9's synthetic spectra) comes from the
  closed forms in the papers' plans, named in the notes.

Hours are FLOPs over a *sustained* throughput (:data:`DEVICES`), well below the datasheets' peaks,
since small batches of CIFAR-sized images keep a GPU far from its peak. They are a plan: data
loading, checkpoints and Python add to them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass

from thermo import catalog, claims, experiments
from thermo.errors import ConfigError, MissingResults
from thermo.paths import repo_root
from thermo.profiles import check_profile
from thermo.results import atomic_write_text, canonical_json, source_fingerprint


@dataclass(frozen=True)
class Device:
    """A GPU and the FLOP/s it sustains in our training loops, per precision."""

    name: str
    float32: float
    float64: float

    def hours(self, flops: float, precision: str) -> float:
        return flops / getattr(self, precision) / 3600.0


# Sustained rates, in FLOPs as counted here per second of training (so they absorb the element-wise
# work the torch counter leaves out). thermo.train trains in float32 without mixed precision.
# - T4: 8.1 TFLOP/s float32 peak (its 65 TFLOP/s are float16 on tensor cores, unused here), held back
#   by its 70 W power cap; a CIFAR ResNet-18 epoch in float32 takes about a minute (3.3 GFLOP x 50,000
#   images in 45-60 s: 3-3.7 TFLOP/s), so 3.5. Float64 runs at 1/32 of float32: 0.25 peak, 0.2 here.
# - A100: 19.5 TFLOP/s float32 peak, 156 with TF32 tensor cores (PyTorch's default for convolutions);
#   at batch 128 on 32 x 32 images the kernels are small and launch-bound (a ResNet-18 epoch takes
#   about 12-15 s: 11-14 TFLOP/s), so 12. Float64: 9.7 peak (19.5 for matrix products on tensor
#   cores), 5 here.
T4 = Device("T4", float32=3.5e12, float64=0.2e12)
A100 = Device("A100", float32=12e12, float64=5e12)
DEVICES = (T4, A100)

# Chapters by experiment id: the prefix names the paper (syn-: the synthesis chapter); TempBalance's
# first chapter trains the two experiments of its configs' "Chapter 1", its second every other tb- one.
CHAPTERS = {
    "notebooks/tempbalance/01-esd-and-hill": "TempBalance 1: ESDs and the Hill estimator",
    "notebooks/tempbalance/02-training-with-tempbalance": "TempBalance 2: training with TempBalance",
    "notebooks/actcoolr/01-activation-pattern-temperature": "ActCoolR: activation pattern temperature",
    "notebooks/temperature-check/01-softmax-temperature": "Temperature check: softmax temperature",
    "notebooks/l2-regularization/01-l2-and-the-learning-rate": "L2: L2 and the learning rate",
    "notebooks/synthesis/01-four-thermometers": "Synthesis: four thermometers",
}
PREFIXES = {"tb": "notebooks/tempbalance/02-training-with-tempbalance",
            "ac": "notebooks/actcoolr/01-activation-pattern-temperature",
            "tc": "notebooks/temperature-check/01-softmax-temperature",
            "l2": "notebooks/l2-regularization/01-l2-and-the-learning-rate",
            "syn": "notebooks/synthesis/01-four-thermometers"}
TEMPBALANCE_CHAPTER1 = frozenset({"tb-s-vs-alpha", "tb-esd-fits"})
OTHER = "(no chapter)"


def chapter_of(experiment_id: str) -> str:
    """The chapter (docname) whose experiment this is, by the rule above; OTHER for a reader's own."""
    if experiment_id in TEMPBALANCE_CHAPTER1:
        return "notebooks/tempbalance/01-esd-and-hill"
    return PREFIXES.get(experiment_id.split("-", 1)[0], OTHER)


# --- configs, also of experiments whose configs come from other experiments' results ---------------

def stand_in_records(experiment_id: str, profile: str) -> list[dict]:
    """Fabricated records of every point of a tuning experiment, each scored (``final_val_acc``,
    ``final_test_acc``) by how close its numbers lie to the middle of their grids: the best point of
    every grid sits in its middle, never on an edge. Only for counting what a second stage would
    run; never saved."""
    configs = experiments.get(experiment_id).configs(profile)
    grids = {}
    for key in sorted({k for c in configs for k in c} - {"seed"}):
        values = [c.get(key) for c in configs]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values) and len(set(values)) > 1:
            grids[key] = sorted(set(values))

    def score(config: dict) -> float:
        off = sum(abs(g.index(config[k]) - (len(g) - 1) / 2) / len(g) for k, g in grids.items())
        return 0.9 - 0.1 * off

    return [{"config": c, "status": "ok",
             "data": {"final_val_acc": score(c), "final_test_acc": score(c), "history": {}}} for c in configs]


@contextlib.contextmanager
def stand_in_results():
    """While inside, :func:`thermo.claims.cached_records` answers for an experiment whose records
    are not cached with :func:`stand_in_records` (the second stages read their first stage's
    results through it)."""
    real = claims.cached_records

    def cached_or_stand_in(experiment_id: str, prof: str) -> list[dict]:
        try:
            return real(experiment_id, prof)
        except MissingResults:
            return stand_in_records(experiment_id, prof)

    claims.cached_records = cached_or_stand_in
    try:
        yield
    finally:
        claims.cached_records = real


def configs_for(exp: experiments.Experiment, profile: str) -> tuple[list[dict], str]:
    """``exp``'s configs in ``profile`` and a note: empty, or, for a second stage whose first stage
    is not cached, the configs built from :func:`stand_in_results` and a note saying so."""
    try:
        return exp.configs(profile), ""
    except MissingResults:
        if not exp.needs:
            raise
    with stand_in_results():
        configs = exp.configs(profile)
    return configs, (f"configs built from stand-in results of {', '.join(exp.needs)} (not cached in the {profile} "
                     "profile: each tuned value taken in the middle of its grid); the real count may differ")


# --- counting -----------------------------------------------------------------------------------------------

def torch_flops(model, in_shape, batch_size: int, loss=None, device: str = "meta") -> tuple[float, float]:
    """FLOPs per example of one training step (forward and backward of ``loss``, cross-entropy if
    None) and of one forward pass of ``model`` on a batch of ``batch_size`` inputs of shape
    ``in_shape``, counted by ``FlopCounterMode`` on ``device`` (the model is moved there)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    loss = loss or torch.nn.functional.cross_entropy
    model = model.to(device).train()
    x = torch.zeros(batch_size, *in_shape, device=device)
    y = torch.zeros(batch_size, dtype=torch.long, device=device)
    with FlopCounterMode(display=False) as step:
        loss(model(x), y).backward()
    model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as forward:
        model(x)
    model.zero_grad(set_to_none=True)
    return step.get_total_flops() / batch_size, forward.get_total_flops() / batch_size


@contextlib.contextmanager
def jax_precision(precision: str):
    """JAX computing in ``precision`` (float32 or float64) while inside."""
    from jax.experimental import enable_x64

    with enable_x64(precision == "float64"):
        yield


def xla_flops(fn, args) -> float:
    """XLA's count of the FLOPs of ``fn(*args)``, compiled for this machine's backend."""
    import jax

    analysis = jax.jit(fn).lower(*args).compile().cost_analysis()
    if isinstance(analysis, (list, tuple)):  # older JAX: one dict per device
        analysis = analysis[0] if analysis else {}
    flops = (analysis or {}).get("flops")
    if flops is None or not flops >= 0:
        raise ConfigError(f"XLA's cost analysis gave no FLOP count for {getattr(fn, '__name__', fn)}")
    return float(flops)


@dataclass
class RunCount:
    """The FLOPs of one run by what counted them."""

    torch: float = 0.0
    jax: float = 0.0
    closed_form: float = 0.0
    forward_share: float = 0.0  # of the torch FLOPs, the part in forward-only passes (evaluations, probes)

    @property
    def total(self) -> float:
        return self.torch + self.jax + self.closed_form


class Counter:
    """Counts runs, remembering what it compiled or traced (runs with equal keys cost the same)."""

    def __init__(self):
        self.per_example: dict = {}  # (model_key, in_shape, batch) -> (step FLOPs, forward FLOPs, meta model)
        self.pieces: dict = {}  # (precision, work key) -> FLOPs

    def model(self, plan: experiments.RunPlan):
        key = (plan.model_key or id(plan), plan.in_shape, plan.batch_size)
        if key not in self.per_example:
            model = plan.build()
            self.per_example[key] = (*torch_flops(model, plan.in_shape, plan.batch_size, plan.loss), model)
        return self.per_example[key]

    def piece(self, work: experiments.Work, precision: str) -> float:
        key = (precision, work.key)
        if key not in self.pieces:
            with jax_precision(precision):
                self.pieces[key] = xla_flops(*work.make())
        return self.pieces[key]

    def count(self, plan: experiments.RunPlan) -> RunCount:
        out, model = RunCount(), None
        if plan.kind == "torch":
            step, forward, model = self.model(plan)
            fwd = forward * plan.forward_examples
            out.torch = step * plan.train_examples + fwd
            out.forward_share = fwd / out.torch if out.torch else 0.0
        out.jax = sum(self.piece(w, plan.precision) * w.times for w in plan.jax_work)
        if plan.extra_flops is not None:
            out.closed_form = float(plan.extra_flops(model))
        return out


def _methods(counts) -> str:
    kinds = [("FlopCounterMode", sum(c.torch for c in counts)), ("XLA cost analysis", sum(c.jax for c in counts)),
             ("closed form", sum(c.closed_form for c in counts))]
    return " + ".join(name for name, flops in kinds if flops > 0) or "-"


def _span(values, unit: str) -> str:
    lo, hi = min(values), max(values)
    return f"{lo:,} {unit}" if lo == hi else f"{lo:,}-{hi:,} {unit}"


def _per_run(plans) -> str:
    """Epochs of minibatch runs and steps of full-batch ones (one step an epoch), as ranges."""
    if not plans:
        return "no points"
    trained = [p for p in plans if p.kind != "analysis"]
    if not trained:
        return "no training"
    minibatch = [p.epochs for p in trained if p.epochs is not None and p.steps > p.epochs]
    full_batch = [p.steps for p in trained if not (p.epochs is not None and p.steps > p.epochs)]
    return ", ".join(([_span(minibatch, "epochs")] if minibatch else []) + ([_span(full_batch, "steps")] if full_batch
                                                                            else []))


def _cache_path(profile: str):
    return repo_root() / "_build" / "cost" / f"{profile}.json"


def _row_key(exp: experiments.Experiment, configs: list, note: str | None, source: str) -> str:
    """What a row depends on: the experiment's configs and version, and the library's source (its plans,
    models and this counter); any change recounts."""
    text = canonical_json({"id": exp.id, "version": exp.version, "configs": configs, "note": note,
                           "source": source})
    return hashlib.sha256(text.encode()).hexdigest()


def cached_row(exp: experiments.Experiment, profile: str, counter: Counter, source: str | None = None) -> dict:
    """:func:`experiment_row`, kept in ``_build/cost/<profile>.json`` under a key of its configs and the
    library's source, so a chapter's "Run it yourself" line costs a count only once per code version
    (a damaged cache file is ignored and rewritten). ``source``: the library's fingerprint, if the
    caller has it (a table reads the library's files once, not once per row)."""
    configs, note = configs_for(exp, profile)
    key = _row_key(exp, configs, note, source or source_fingerprint())
    path = _cache_path(profile)
    try:
        cache = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(cache, dict):
            cache = {}
    except (OSError, ValueError):
        cache = {}
    hit = cache.get(exp.id)
    if isinstance(hit, dict) and hit.get("key") == key and isinstance(hit.get("row"), dict):
        return hit["row"]
    row = experiment_row(exp, profile, counter, (configs, note))
    cache[exp.id] = {"key": key, "row": row}
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(cache, sort_keys=True))
    return row


def experiment_row(exp: experiments.Experiment, profile: str, counter: Counter, built=None) -> dict:
    """One experiment's row of :func:`cost_table` (see there); ``built``: its ``configs_for`` if known."""
    row = {"experiment": exp.id, "chapter": chapter_of(exp.id), "title": exp.title, "error": None, "notes": []}
    configs, note = built or configs_for(exp, profile)
    row["notes"] += [note] if note else []
    if exp.plan is None:
        row.update(points=len(configs), runs=len(configs), per_run="", flops_total=None, flops_per_run=None,
                   hours={d.name: None for d in DEVICES}, method="not counted (no plan)", precision="")
        return row
    plans = [exp.plan(c) for c in configs]
    counts = [counter.count(p) for p in plans]
    total = sum(c.total for c in counts)
    torch_total = sum(c.torch for c in counts)
    forward = sum(c.torch * c.forward_share for c in counts)
    row.update(points=len(configs), runs=sum(p.kind != "analysis" for p in plans), per_run=_per_run(plans),
               flops_total=total, flops_per_run=total / len(plans) if plans else 0.0,
               forward_share=forward / torch_total if torch_total else None,
               hours={d.name: sum(d.hours(c.total, p.precision) for p, c in zip(plans, counts)) for d in DEVICES},
               method=_methods(counts), precision="/".join(sorted({p.precision for p in plans})))
    row["notes"] += sorted({p.note for p in plans if p.note})
    return row


COUNTER = Counter()  # what this process has counted: a second table (or a chapter's line) reuses it


def cost_table(profile: str = "paper", ids=None, counter: Counter | None = None, cache: bool = False) -> list[dict]:
    """One row per registered experiment (or per id of ``ids``), in chapter order: ``experiment``,
    ``chapter``, ``points`` (configs), ``runs`` (training runs: analyses count 0), ``per_run``
    (epochs or steps), ``flops_total`` and ``flops_per_run`` (the mean), ``forward_share``
    (evaluations and probes), ``hours`` per device of :data:`DEVICES`, ``method`` (what counted
    the FLOPs), ``precision``, ``notes``, and ``error`` (None, or why the experiment could not be
    counted, naming it: its plan raised, say). ``counter`` keeps what was counted (default: this
    process's :data:`COUNTER`); ``cache`` reuses rows counted before for the same configs and code
    (:func:`cached_row`)."""
    profile = check_profile(profile)
    registry = catalog.all_experiments()
    ids = sorted(registry) if ids is None else list(ids)
    order = list(CHAPTERS) + [OTHER]
    ids.sort(key=lambda i: (order.index(chapter_of(i)), i))
    counter, rows = counter or COUNTER, []
    source = source_fingerprint() if cache else None
    for exp_id in ids:
        exp = experiments.get(exp_id)
        try:
            rows.append(cached_row(exp, profile, counter, source) if cache else experiment_row(exp, profile, counter))
        except Exception as err:  # one experiment's failure is reported by name; the others are still counted
            rows.append({"experiment": exp.id, "chapter": chapter_of(exp.id), "title": exp.title, "notes": [],
                         "error": f"{exp.id}: could not be counted ({type(err).__name__}: {err})"})
    return rows


def chapter_totals(rows) -> list[dict]:
    """Per chapter (in book order): runs, FLOPs and hours per device of the counted rows."""
    out = []
    for chapter in [*CHAPTERS, OTHER]:
        mine = [r for r in rows if r["chapter"] == chapter and not r["error"] and r["flops_total"] is not None]
        if not mine:
            continue
        out.append({"chapter": chapter, "experiments": len(mine), "runs": sum(r["runs"] for r in mine),
                    "flops_total": sum(r["flops_total"] for r in mine),
                    "hours": {d.name: sum(r["hours"][d.name] for r in mine) for d in DEVICES}})
    return out


# --- words --------------------------------------------------------------------------------------------------

def throughput_words() -> str:
    def tf(x):
        return f"{x / 1e12:g}"

    return (f"sustained {' / '.join(tf(d.float32) for d in DEVICES)} TFLOP/s in float32, "
            f"{' / '.join(tf(d.float64) for d in DEVICES)} in float64")


def hours_words(hours: float) -> str:
    """A duration for a sentence: minutes under an hour, else hours to two significant digits."""
    if hours < 1:
        return f"{max(1, round(hours * 60))} min"
    return f"{float(f'{hours:.2g}'):,g} h"


def flops_words(flops: float) -> str:
    """FLOPs to three significant digits in PFLOP (1e15), the unit of the table (so chapters compare),
    or in TFLOP / GFLOP below a hundredth of a PFLOP."""
    for unit, scale in (("PFLOP", 1e15), ("TFLOP", 1e12), ("GFLOP", 1e9)):
        if flops >= scale / 100:
            return f"{float(f'{flops / scale:.3g}'):,g} {unit}"
    return f"{flops:.3g} FLOP"


def chapter_line(chapter_docname: str, profile: str = "paper") -> str:
    """One sentence for a chapter's "Run it yourself": what its ``profile`` trains and costs."""
    if chapter_docname not in CHAPTERS:
        raise ConfigError(f"unknown chapter {chapter_docname!r}: choose one of {', '.join(CHAPTERS)}")
    profile = check_profile(profile)
    ids = [i for i in catalog.all_experiments() if chapter_of(i) == chapter_docname]
    rows = cost_table(profile, ids, cache=True)
    broken = [r["error"] for r in rows if r["error"]]
    if broken:
        raise ConfigError("; ".join(broken))
    (total,) = chapter_totals(rows) or [{"runs": 0, "flops_total": 0.0, "hours": {d.name: 0.0 for d in DEVICES}}]
    hours = " / ".join(f"{hours_words(total['hours'][d.name])} on {'an' if d.name[0] in 'AEIOU' else 'a'} {d.name}"
                       for d in DEVICES)
    runs = f"{total['runs']:,} run{'s' if total['runs'] != 1 else ''}"
    return (f"The {profile} profile of this chapter trains {runs}, {flops_words(total['flops_total'])}, about "
            f"{hours} ({throughput_words()}; `python -m thermo cost --profile {profile}` itemizes it).")


def _number(x: float) -> str:
    """A table number: whole above 1,000 (with thousands separators), else four significant digits."""
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.4g}"


def _cell(value, width: int) -> str:
    return ("-" if value is None else _number(value)).rjust(width)


def format_table(rows, profile: str) -> str:
    """The rows of :func:`cost_table` and the chapters' totals as plain text, units in the headers."""
    head = (f"{'experiment':<22} {'runs':>5} {'per run':>30} {'PFLOP/run':>10} {'PFLOP total':>12} "
            f"{'eval %':>6} {'T4 h':>9} {'A100 h':>9}  counted by")
    lines = [f"Training cost of the {profile} profile: FLOPs counted per run (thermo.cost); hours at "
             f"{throughput_words()} on a T4 / an A100.",
             "runs: training runs (analyses: 0); eval %: the share of a torch run's FLOPs in forward-only passes "
             "(evaluations, probes); 1 PFLOP = 1e15 FLOP.", "", head, "-" * len(head)]
    notes: list[str] = []
    for chapter in [*CHAPTERS, OTHER]:
        mine = [r for r in rows if r["chapter"] == chapter]
        if not mine:
            continue
        lines.append(f"{chapter}")
        for r in mine:
            lines.append(_table_line(r, notes))
    lines += ["", f"{'chapter':<56} {'runs':>6} {'PFLOP':>12} {'T4 h':>9} {'A100 h':>9}"]
    for t in chapter_totals(rows):
        lines.append(f"{t['chapter']:<56} {t['runs']:>6,} {_cell(t['flops_total'] / 1e15, 12)} "
                     f"{_cell(t['hours']['T4'], 9)} {_cell(t['hours']['A100'], 9)}")
    if notes:
        lines += ["", "Notes:"] + [f"[{i}] {n}" for i, n in enumerate(notes, 1)]
    return "\n".join(lines)


def _table_line(r: dict, notes: list) -> str:
    marks = ""
    for n in r["notes"] + ([r["error"]] if r["error"] else []):
        if n not in notes:
            notes.append(n)
        marks += f"[{notes.index(n) + 1}]"
    if r["error"]:
        return f"  {r['experiment']:<20} FAILED {marks}"
    runs = f"{r['runs']}" if r["runs"] or r["per_run"] != "no training" else "0"
    per = r["flops_per_run"] / 1e15 if r["flops_per_run"] is not None else None
    tot = r["flops_total"] / 1e15 if r["flops_total"] is not None else None
    share = 100 * r["forward_share"] if r.get("forward_share") is not None else None
    hours = r["hours"]
    precision = " (float64)" if r["precision"] == "float64" else ""
    return (f"  {r['experiment']:<20} {runs:>5} {r['per_run']:>30} {_cell(per, 10)} {_cell(tot, 12)} "
            f"{'-' if share is None else f'{share:.1f}':>6} {_cell(hours.get('T4'), 9)} {_cell(hours.get('A100'), 9)}  "
            f"{r['method']}{precision} {marks}".rstrip())

