"""``python -m thermo``: list experiments, run their points (see thermo.sweep) and say what a profile costs
(``cost``, see thermo.cost)."""

from __future__ import annotations

import argparse
import json
import sys

from thermo import catalog, experiments
from thermo.errors import MissingResults, ThermoError
from thermo.profiles import PROFILES, check_profile
from thermo.profiles import profile as active_profile
from thermo.results import Store, library_dirty
from thermo.sweep import EXECUTORS, parse_shard, run_sweep


def cmd_list(args) -> int:
    catalog.load_all()
    store = Store.for_profile(args.profile)
    print(f"profile {args.profile}, results in {store.root}")
    for exp_id in sorted(experiments.REGISTRY):
        exp = experiments.REGISTRY[exp_id]
        try:
            configs = exp.configs(args.profile)
        except MissingResults as err:  # a second stage whose points come from another experiment's results
            print(f"  {exp.id} v{exp.version}: waits for other results ({err})  -- {exp.title}")
            continue
        recs = [store.load(exp.id, exp.version, c) for c in configs]
        done = sum(r is not None and r["status"] != "failed" for r in recs)
        print(f"  {exp.id} v{exp.version}: {len(configs)} points, {done} cached  -- {exp.title}")
        if args.verbose:
            for cfg, rec in zip(configs, recs):
                state = rec["status"] if rec else "missing"
                print(f"      {store.path(exp.id, exp.version, cfg).stem}  {state}")
    return 0


def cmd_run(args) -> int:
    catalog.load_all()
    ids = sorted(experiments.REGISTRY) if args.all else args.experiments
    if not ids:
        raise ThermoError("name an experiment (see `python -m thermo list`) or pass --all")
    for exp_id in ids:
        experiments.get(exp_id)  # every name is checked before any work starts
    ids = experiments.in_dependency_order(ids)
    if args.profile != "smoke" and library_dirty() and not args.allow_dirty:
        raise ThermoError(f"lib/thermo has uncommitted changes: records of the {args.profile} profile must name the "
                          "code that made them. Commit first, or pass --allow-dirty (the records then say +dirty "
                          "and carry the source fingerprint)")
    shard = parse_shard(args.shard) if args.shard else None
    failed = 0
    for exp_id in ids:
        missing = [d for d in experiments.get(exp_id).needs if d not in ids]
        try:
            experiments.get(exp_id).configs(args.profile)
        except MissingResults as err:
            raise ThermoError(f"{exp_id} is built from the results of {', '.join(missing) or 'another experiment'}: "
                              f"run that first ({err})") from None
        summary = run_sweep(exp_id, args.profile, jobs=args.jobs, executor=args.executor,
                            recompute=args.recompute, shard=shard)
        print(summary.line())
        for h, reason in summary.failures:
            print(f"  failed {h}: {reason}")
        failed += summary.counts["failed"]
    return 1 if failed else 0


def cmd_cost(args) -> int:
    """The cost table of a profile (or its rows and the chapters' totals as JSON); 1 if an
    experiment could not be counted (named on stderr)."""
    from thermo import cost

    rows = cost.cost_table(args.profile)
    if args.json:
        devices = {d.name: {"float32": d.float32, "float64": d.float64} for d in cost.DEVICES}
        print(json.dumps({"profile": args.profile, "sustained_flops_per_second": devices, "experiments": rows,
                          "chapters": cost.chapter_totals(rows)}, indent=1))
    else:
        print(cost.format_table(rows, args.profile))
    failed = [r["error"] for r in rows if r["error"]]
    for message in failed:
        print(f"error: {message}", file=sys.stderr)
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m thermo", description="thermo-book experiments")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p_list = sub.add_parser("list", help="experiments, their points and which are cached")
    p_run = sub.add_parser("run", help="run (or load) the points of experiments")
    p_run.add_argument("experiments", nargs="*")
    p_run.add_argument("--all", action="store_true", help="every registered experiment")
    p_run.add_argument("--jobs", type=int, default=1, help="parallel processes (or array tasks)")
    p_run.add_argument("--executor", choices=EXECUTORS, default="local")
    p_run.add_argument("--recompute", action="store_true", help="ignore cached records")
    p_run.add_argument("--shard", metavar="K/N", default=None,
                       help="run only every N-th point starting at the K-th (split one experiment over N stores)")
    p_run.add_argument("--allow-dirty", action="store_true",
                       help="run the quick/paper profile with uncommitted changes in lib/thermo")
    for p in (p_list, p_run):
        p.add_argument("--profile", choices=PROFILES, default=None)
    p_list.add_argument("-v", "--verbose", action="store_true")
    p_cost = sub.add_parser("cost", help="runs, FLOPs and GPU hours of every experiment of a profile")
    p_cost.add_argument("--profile", default="paper", help=f"one of {', '.join(PROFILES)} (default: paper)")
    p_cost.add_argument("--json", action="store_true", help="the rows and the chapters' totals as JSON")
    args = parser.parse_args(argv)
    try:
        args.profile = check_profile(args.profile) if args.cmd == "cost" else args.profile or active_profile()
        return {"list": cmd_list, "run": cmd_run, "cost": cmd_cost}[args.cmd](args)
    except ThermoError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as err:
        done = f" ({err.args[0]})" if err.args else ""
        print(f"interrupted{done}: finished points are saved; run the same command again to resume",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
