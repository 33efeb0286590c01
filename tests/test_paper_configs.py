"""Every paper-profile config runs, before a GPU is rented for it: for every registered experiment
and every config of its ``paper`` profile, the experiment's ``check`` passes, its plan
(``Experiment.plan``, what ``python -m thermo cost`` counts) builds the run's model, and ONE
optimizer step on 2 synthetic examples of the dataset's shape, on the CPU, gives a finite loss and
moves the parameters. JAX experiments take one step of their gradient descent (kernel analyses: of
the network they measure). No data is loaded, nothing is written to the store.

The ``paper`` profile is passed explicitly to each experiment's ``configs``: the active profile
(``THERMO_PROFILE``, ``smoke`` under ``make test``) is left alone. A second stage whose configs come
from a first stage's results (``needs``) is built from stand-in results of that stage
(:func:`thermo.cost.configs_for`). Configs that differ only by seed, learning rate, regularization
strength, temperature, initialization scale or run length take the same step, so one of each kind
is stepped (every config is still checked and planned).
"""

import math
import os

import numpy as np
import pytest
import torch

from thermo import catalog, cost
from thermo.experiments import REGISTRY
from thermo.results import canonical_json

PROFILE = "paper"
# Keys whose values do not change what one step computes: the kinds of config are those that differ
# in anything else (model, width, data set, method, metric, schedule, probes, ...).
SCALARS = {"seed", "lr", "eta", "eta0", "lam", "lambda_sr", "l2_start", "beta", "betas", "eta_tilde", "lr_factor",
           "c", "cs", "gamma", "t_start", "steps", "epochs", "record", "n_val", "n_train", "n_test", "lr_grid",
           "labels"}

catalog.load_all()


def kind_of(config: dict) -> str:
    return canonical_json({k: v for k, v in config.items() if k not in SCALARS})


def all_configs() -> dict:
    """experiment id -> (its paper configs, a note when built from stand-in results)."""
    return {exp_id: cost.configs_for(REGISTRY[exp_id], PROFILE) for exp_id in sorted(REGISTRY)}


PROFILE_BEFORE = os.environ.get("THERMO_PROFILE")
CONFIGS = all_configs()


def one_of_each_kind() -> list:
    cases = []
    for exp_id, (configs, _) in CONFIGS.items():
        seen = {}
        for cfg in configs:
            seen.setdefault(kind_of(cfg), cfg)
        cases += [pytest.param(exp_id, cfg, id=f"{exp_id}-{i}") for i, cfg in enumerate(seen.values())]
    return cases


def test_every_experiment_has_paper_configs_and_a_plan():
    for exp_id, (configs, note) in CONFIGS.items():
        exp = REGISTRY[exp_id]
        assert exp.plan is not None, f"{exp_id} has no plan: python -m thermo cost cannot count it"
        assert configs, f"{exp_id} has no paper config"
        if note:  # built from stand-ins: only second stages may need them
            assert exp.needs and "stand-in results of" in note, (exp_id, note)


@pytest.fixture
def models_built_once(monkeypatch):
    """``thermo.models.build`` remembering what it built: the checks build a config's model only to
    see that it can be built, and many configs share one."""
    from thermo import models

    built, real = {}, models.build

    def build(name, in_shape, num_classes, width=1.0, **kwargs):
        key = (name, tuple(in_shape), num_classes, width, tuple(sorted(kwargs.items())))
        if key not in built:
            built[key] = real(name, in_shape, num_classes, width=width, **kwargs)
        return built[key]

    monkeypatch.setattr(models, "build", build)


@pytest.mark.parametrize("exp_id", sorted(CONFIGS))
def test_every_paper_config_passes_check_and_plans(exp_id, models_built_once):
    exp = REGISTRY[exp_id]
    for cfg in CONFIGS[exp_id][0]:
        exp.check_config(cfg)
        plan = exp.plan(cfg)
        assert plan.kind in ("torch", "jax", "analysis")
        if plan.kind == "torch":
            assert plan.steps >= 1 and plan.train_examples >= plan.steps and plan.forward_examples >= 1
        if plan.kind == "jax":
            assert plan.steps >= 1 and plan.jax_work and all(w.times > 0 for w in plan.jax_work)


def torch_step(plan) -> tuple[float, bool]:
    torch.manual_seed(0)
    model = plan.build().train()
    optimizer = plan.optimizer(model)
    x = torch.randn(2, *plan.in_shape)
    y = torch.randint(0, plan.num_classes, (2,))
    before = [p.detach().clone() for p in model.parameters()]
    optimizer.zero_grad()
    loss = (plan.loss or torch.nn.functional.cross_entropy)(model(x), y)
    loss.backward()
    optimizer.step()
    moved = any(not torch.equal(a, p.detach()) for a, p in zip(before, model.parameters()))
    return loss.item(), moved


def jax_step(plan) -> tuple[float, bool]:
    import jax

    with cost.jax_precision(plan.precision):
        step, args = plan.jax_step(2)
        loss, params = jax.jit(step)(*args)
        before, after = jax.tree_util.tree_leaves(args[0]), jax.tree_util.tree_leaves(params)
        moved = any(not np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(before, after))
        return float(loss), moved


@pytest.mark.parametrize("exp_id,config", one_of_each_kind())
def test_one_step_on_two_synthetic_examples(exp_id, config):
    exp = REGISTRY[exp_id]
    exp.check(config)
    plan = exp.plan(config)
    if plan.jax_step is None and plan.kind == "analysis":
        assert plan.extra_flops is not None and plan.extra_flops(None) > 0  # Fig. 9's spectra: nothing to train
        return
    loss, moved = torch_step(plan) if plan.kind == "torch" else jax_step(plan)
    assert math.isfinite(loss), f"{exp_id}: loss {loss}"
    assert moved, f"{exp_id}: one step changed no parameter"


def test_the_active_profile_is_left_alone():
    assert os.environ.get("THERMO_PROFILE") == PROFILE_BEFORE
