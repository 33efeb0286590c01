"""The bad-input table: each input fails before any work with one message saying what was wrong
and what to do. Messages are checked exactly (``re.fullmatch``; paths are matched by pattern)."""

import json
import os
import re

import numpy as np
import pytest
import torch
from torch import nn

import thermo
from thermo import actcool, apt, claims, data, figures, htsr, l2, models, results, softmax, stats, sweep, train
from thermo.errors import ConfigError, CorruptRecord, DatasetNotFound, MissingResults
from thermo.experiments import get as get_experiment
from thermo.papers.synthesis import configs as syn_configs
from thermo.papers.synthesis import runs as syn_runs
from thermo.papers.synthesis.thermometers import ThermometerSet
from thermo.papers.tempbalance.runs import check_s_vs_alpha
from thermo.tempbalance import SpectralNormRegularizer, TempBalance, layer_lr_scales

DATASETS = "fashion-mnist, mnist-5k, digits, mnist1d, cifar10, cifar100, svhn"
FINITE = "an ESD needs finite weights, so check the training run that produced them"
REAL = "an ESD needs real weights, so pass its real part (.real) or its modulus (.abs()) explicitly"
EIGS_FINITE = "the weights they came from are not finite, so check the training run that produced them"
EIGS_REAL = "an ESD holds the real eigenvalues of W^T W, so compute them with htsr.esd(W), not as the eigenvalues of W"
MODELS = "mlp, convnet, fmnist-convnet, resnet18, resnet34, resnet20, resnet32, vgg11, vgg16, vgg19, wrn-<depth>-<k>"


def fit_with(**kw):
    cfg = train.TrainConfig(**{"epochs": 1, "lr": 0.1, **kw})
    ds = data.ArrayDataset(torch.zeros(4, 1, 1, 2), torch.zeros(4, dtype=torch.long), "z", "train", 2)
    train.fit(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(2, 2)), ds, ds, cfg, progress=False)


def profile_from_env(monkeypatch, value):
    monkeypatch.setenv("THERMO_PROFILE", value)
    return thermo.profile()


def stored_record(tmp_path, text=None, version=1):
    store = results.Store(tmp_path)
    results.cached("exp-a", 1, {"n": 1}, lambda c: {"x": 1}, "quick", store=store)
    path = store.path("exp-a", 1, {"n": 1})
    if text is not None:
        path.write_text(text)
    return store.read(path, "exp-a", version)


def no_network(*args, **kwargs):
    import urllib.error

    raise urllib.error.URLError("[Errno -2] Name or service not known")


def load_without_network(mp, tp):
    import torchvision.datasets.cifar

    mp.setenv("THERMO_OFFLINE", "0")
    mp.setattr(torchvision.datasets.cifar, "download_and_extract_archive", no_network)
    return data.load("cifar10", root=tp)


def load_offline(mp, tp):
    mp.setenv("THERMO_OFFLINE", "1")
    return data.load("cifar10", root=tp)


def root_from_env(mp, value):
    mp.setenv("THERMO_ROOT", value)
    return thermo.paths.repo_root()


def record_edited(tmp_path, edit):
    store = results.Store(tmp_path)
    results.cached("exp-a", 1, {"n": 1}, lambda c: {"x": 1}, "quick", store=store)
    path = store.path("exp-a", 1, {"n": 1})
    edit(path)
    return store.read(path, "exp-a", 1)


def fifo_record(path):
    path.unlink()
    os.mkfifo(path)


def deep_record(path):
    text = path.read_text().rstrip().rstrip("}")
    path.write_text(text + ', "deep": ' + "[" * 50_000 + "]" * 50_000 + "}")


def null_data(path):
    rec = json.loads(path.read_text())
    path.write_text(json.dumps({**rec, "data": None}))


def empty_figure(mp, tp):
    import matplotlib.pyplot as plt

    mp.setenv("THERMO_ROOT", str(tp))
    (tp / "_config.yml").write_text("")
    rec = results.make_record("tb-x", 1, {}, {}, "ok", None, {"git_commit": "a" * 40, "profile": "smoke"})
    figures.save(plt.figure(), "tb-empty", rec, "nothing drawn", profile="smoke")


def book_build_without_a_record(mp, tp):
    mp.setenv("THERMO_COMPUTE", "0")
    results.cached("tb-x", 1, {"n": 1}, lambda c: {}, "quick", store=results.Store(tp))


def typo_in_config():
    exp = get_experiment("tb-s-vs-alpha")
    exp.check_config({**exp.configs("smoke")[0], "sead": 1})


def toy(n=4, classes=2, y=None, x=None):
    x = torch.zeros(n, 1, 1, 2) if x is None else x
    y = torch.zeros(n, dtype=torch.long) if y is None else torch.as_tensor(y)
    return data.ArrayDataset(x, y, "z", "train", classes)


def fit_on(train_set, test_set=None, callbacks=(), **kw):
    cfg = train.TrainConfig(**{"epochs": 1, "lr": 0.1, **kw})
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(2, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    train.fit(model, train_set, train_set if test_set is None else test_set, cfg, callbacks=callbacks,
              progress=False)


def with_nan(n=4):
    x = torch.zeros(n, 1, 1, 2)
    x[1, 0, 0, 1] = float("nan")
    return x


def with_inf(n=4):
    x = torch.zeros(n, 1, 1, 2)
    x[:2, 0, 0, 0] = float("-inf")
    return x


def cooling_below_zero():
    """A target that reaches -1 at the end of a 2-step run (batches of 2 of 4 examples)."""
    ctl = actcool.ActCoolLR(lambda i: 1.0 - i, lr_init=0.1, sigma=1.0)
    fit_on(toy(), callbacks=[ctl], batch_size=2)


def weight_with(value, shape=(60, 40), at=((3, 4),)):
    w = torch.randn(*shape, generator=torch.Generator().manual_seed(0))
    for i in at:
        w[i] = value
    return w


def net_with_nan_last_layer():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(60, 60), torch.nn.ReLU(), torch.nn.Linear(60, 10))
    with torch.no_grad():
        net[2].weight[0, 0] = float("nan")
    return net


def complex_net():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(60, 60, dtype=torch.complex64))


def eigs_of_w_not_of_wtw():
    return np.linalg.eigvals(np.random.default_rng(0).standard_normal((60, 60)))


def target_above_ceiling():
    ds = data.ArrayDataset(torch.rand(64, 1, 4, 4), torch.randint(0, 2, (64,)), "toy", "train", 2)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    ctl = actcool.ActCoolLR(actcool.linear_target(9.0, 10), lr_init=0.1, sigma=1.0)
    train.fit(model, ds, ds, train.TrainConfig(epochs=1, lr=0.1, batch_size=32), callbacks=[ctl], progress=False)


def all_experiments():
    from thermo import catalog, experiments

    catalog.load_all()
    return experiments.REGISTRY


def tb_model():
    return models.build("resnet20", (1, 8, 8), 3, width=0.5)


def zero_layer_alpha():
    return htsr.alpha_hill(htsr.esd(torch.zeros(64, 64)))


CASES = [
    ("zero learning rate", lambda mp, tp: fit_with(lr=0.0), ConfigError,
     "learning rate must be a positive number, got 0.0"),
    ("negative learning rate", lambda mp, tp: fit_with(lr=-0.1), ConfigError,
     "learning rate must be a positive number, got -0.1"),
    ("zero epochs", lambda mp, tp: fit_with(epochs=0), ConfigError, "epochs must be a positive integer, got 0"),
    ("zero batch size", lambda mp, tp: fit_with(batch_size=0), ConfigError,
     "batch_size must be a positive integer, got 0"),
    ("unknown optimizer", lambda mp, tp: fit_with(optimizer="lion"), ConfigError,
     "optimizer must be one of ('sgd', 'adam'), got 'lion'"),
    ("s1 > s2", lambda mp, tp: layer_lr_scales([2.0, 3.0], 1.5, 0.5), ConfigError,
     "need 0 < s1 < s2 for the LR scaling range, got s1=1.5, s2=0.5"),
    ("(s1+s2)/2 != 1", lambda mp, tp: layer_lr_scales([2.0, 3.0], 0.5, 2.0), ConfigError,
     "(s1 + s2) / 2 must be 1 so the mean LR stays the base LR, got 1.25; "
     "pass allow_asymmetric=True to use this range anyway"),
    ("unknown dataset", lambda mp, tp: data.load("imagenet"), ConfigError,
     f"unknown dataset 'imagenet': choose one of {DATASETS}"),
    ("unknown model", lambda mp, tp: models.build("resnet19", (3, 32, 32), 10), ConfigError,
     f"unknown model 'resnet19': choose one of {MODELS}"),
    ("unknown profile", lambda mp, tp: thermo.profiles.check_profile("fast"), ConfigError,
     "unknown profile 'fast': choose one of smoke, quick, paper."),
    ("THERMO_PROFILE misspelled", lambda mp, tp: profile_from_env(mp, "qiuck"), ConfigError,
     "THERMO_PROFILE='qiuck' is not valid: unknown profile 'qiuck': choose one of smoke, quick, paper. "
     "Did you mean 'quick'?"),
    ("dataset missing, no network", lambda mp, tp: load_without_network(mp, tp), DatasetNotFound,
     r"dataset 'cifar10' is not available offline: looked in /\S+, and the download failed \(URLError: "
     r"<urlopen error \[Errno -2\] Name or service not known>\)\. It needs internet once: "
     r"`python -m thermo\.data prepare cifar10` \(torchvision download\)\."),
    ("dataset missing, downloads off", lambda mp, tp: load_offline(mp, tp), DatasetNotFound,
     r"dataset 'cifar10' is not available offline: looked in /\S+ \(RuntimeError: Dataset not found or "
     r"corrupted\. You can use download=True to download it\)\. It needs internet once: "
     r"`python -m thermo\.data prepare cifar10` \(torchvision download\)\."),
    ("results from another version", lambda mp, tp: stored_record(tp, version=2), CorruptRecord,
     r"/\S+\.json: written by version 1 of 'exp-a', the code is at version 2; recompute it"),
    ("empty results file", lambda mp, tp: stored_record(tp, text=""), CorruptRecord,
     r"/\S+\.json: not valid JSON \(Expecting value: line 1 column 1 \(char 0\)\); delete it to recompute"),
    ("results file missing fields", lambda mp, tp: stored_record(tp, text='{"experiment": "exp-a"}'), CorruptRecord,
     r"/\S+\.json: missing fields \['version', 'config_hash', 'config', 'status', 'data', 'provenance'\]; "
     r"delete it to recompute"),
    ("k > n in alpha_hill", lambda mp, tp: htsr.alpha_hill(np.arange(1.0, 11.0), k=20), ConfigError,
     "k must be between 1 and 9 for 10 eigenvalues (eq3), got 20"),
    ("a layer with one eigenvalue", lambda mp, tp: htsr.alpha_hill([3.0]), ConfigError,
     "the Hill estimator needs at least 2 eigenvalues, got 1; exclude this layer "
     "(layer_metrics flags layers with too few eigenvalues)"),
    ("all-zero weights", lambda mp, tp: zero_layer_alpha(), ConfigError,
     "the Hill threshold eigenvalue is 0 (not positive): the matrix is zero or rank-deficient below the "
     "tail; use a smaller k or check the weights"),
    ("unknown Hill threshold rule", lambda mp, tp: htsr.alpha_hill([1.0, 2.0, 3.0], xmin_rule="ks"), ConfigError,
     "xmin_rule must be one of ('eq3', 'official'), got 'ks'"),
    ("unknown experiment", lambda mp, tp: get_experiment("tb-fig99"), ConfigError,
     "unknown experiment 'tb-fig99': choose one of " + ", ".join(sorted(all_experiments()))),
    ("unknown executor", lambda mp, tp: sweep.run_sweep("tb-s-vs-alpha", "smoke", executor="k8s"), ConfigError,
     "executor must be one of ('local', 'submitit-local', 'slurm'), got 'k8s'"),
    ("zero jobs", lambda mp, tp: sweep.run_sweep("tb-s-vs-alpha", "smoke", jobs=0), ConfigError,
     "--jobs must be a positive integer, got 0"),
    ("shard past its count", lambda mp, tp: sweep.run_sweep("tb-s-vs-alpha", "smoke", shard=(3, 2)), ConfigError,
     "--shard must be K/N with 1 <= K <= N (e.g. 1/2), got '3/2'"),
    ("shard not K/N", lambda mp, tp: sweep.parse_shard("first half"), ConfigError,
     "--shard must be K/N with 1 <= K <= N (e.g. 1/2), got 'first half'"),
    ("bad figure id", lambda mp, tp: figures.save(None, "Fig 9", [], "x"), ConfigError,
     "figure id 'Fig 9' must be lower-case words joined by '-'"),
    ("WRN depth not 6n+4", lambda mp, tp: models.build("wrn-15-2", (3, 32, 32), 10), ConfigError,
     "WRN depth must be 6n + 4 (10, 16, 22, 28, ...), got 15"),
    ("unknown split", lambda mp, tp: data.load("digits", "val"), ConfigError,
     "split must be one of ('train', 'test'), got 'val'"),
    ("subset larger than the split", lambda mp, tp: data.load("digits", "test", n=1000), ConfigError,
     "n=1000 is out of range: digits test has 360 examples"),
    ("L2 coefficient < 0", lambda mp, tp: l2.physical_time([1], 0.1, -1e-3), ConfigError,
     "the L2 coefficient lambda must be >= 0, got -0.001"),
    ("learning rate eta <= 0 (L2 law)", lambda mp, tp: l2.predict_lambda(0.2, 0.0, 100), ConfigError,
     "the learning rate eta must be a positive number, got 0.0"),
    ("budget <= 0", lambda mp, tp: l2.predict_lambda(0.2, 0.1, 0), ConfigError,
     "the budget T must be a positive number of steps, got 0"),
    ("AutoL2 every < 1", lambda mp, tp: l2.AutoL2(every=0), ConfigError,
     "AutoL2 measures every `every` >= 1 steps, got 0"),
    ("eval_every < 1", lambda mp, tp: fit_with(eval_every=0), ConfigError,
     "eval_every must be a positive integer, got 0"),
    ("eval_steps not positive", lambda mp, tp: fit_with(eval_steps=(0, 5)), ConfigError,
     "eval_steps must be positive integers (global optimizer steps)"),
    ("l2-tstar point with a negative lambda",
     lambda mp, tp: get_experiment("l2-tstar").check({"eta": 0.1, "lam": -1.0, "steps": 10, "width": 8}),
     ConfigError, "the L2 coefficient lambda must be >= 0, got -1.0"),
    ("log-log fit on two points", lambda mp, tp: stats.loglog_fit([1, 2], [3, 4]), ConfigError,
     "a log-log fit with an uncertainty needs at least 3 points, got 2"),
    ("claim id with spaces", lambda mp, tp: claims.register(claims.Claim("TB 1", "l2", "", "", "", None)),
     ConfigError, "claim id 'TB 1' must be lower-case words joined by '-'"),
    ("homogeneity degree k < 1", lambda mp, tp: l2.kernel_decay(0.5, 0.01, [1.0]), ConfigError,
     "the homogeneity degree k must be >= 1 (1 is a linear model), got 0.5"),
    ("a network with biases in the homogeneous-kernel experiment",
     lambda mp, tp: get_experiment("l2-kernel-decay").check({**get_experiment("l2-kernel-decay").configs("smoke")[0],
                                                              "bias": True}),
     ConfigError, "a network with biases is not homogeneous in its parameters: build it with bias=False"),
    ("an empirical-NTK implementation that fails on jax 0.5.3",
     lambda mp, tp: __import__("thermo.ntk").ntk.check_implementation("structured_derivatives"), ConfigError,
     "empirical-NTK implementation 'structured_derivatives' (STRUCTURED_DERIVATIVES) fails with jax 0.5.3 "
     "(see shared/STACK.md); use 'jacobian' or 'vector_products'"),
    ("TempBalance with s1 >= s2", lambda mp, tp: TempBalance(tb_model(), 1.2, 0.8), ConfigError,
     "need 0 < s1 < s2 for the LR scaling range, got s1=1.2, s2=0.8"),
    ("TempBalance with an unknown metric", lambda mp, tp: TempBalance(tb_model(), metric="alpha_ks"), ConfigError,
     "metric must be one of ('alpha_hill', 'spectral_norm', 'alpha_weighted', 'alpha_excess'), got 'alpha_ks'"),
    ("TempBalance every < 1", lambda mp, tp: TempBalance(tb_model(), every=0), ConfigError,
     "every must be 'epoch' or a positive number of steps, got 0"),
    ("a model with no layer left to tune", lambda mp, tp: TempBalance(models.build("convnet", (1, 8, 8), 3, width=0.1)),
     ConfigError, "TempBalance found no layer to tune in ConvNet: it leaves out the first and the last Conv2d/Linear "
     "layer and every layer with fewer than 50 eigenvalues"),
    ("lambda_sr < 0", lambda mp, tp: SpectralNormRegularizer(tb_model(), -0.01), ConfigError,
     "lambda_sr must be a non-negative number, got -0.01"),
    ("unknown augmentation", lambda mp, tp: fit_with(augment="mixup"), ConfigError,
     "augment must be one of ('none', 'crop-flip'), got 'mixup'"),
    ("unknown APT granularity", lambda mp, tp: apt.APTProbe(granularity="channel"), ConfigError,
     "granularity must be one of ('example', 'position', 'neuron'), got 'channel'"),
    ("an LR grid that is not increasing", lambda mp, tp: apt.fit_erf([0.1, 0.01, 1.0], [0.1, 0.2, 0.9]), ConfigError,
     "the learning-rate grid must be positive, finite and strictly increasing"),
    ("an LR grid with zero", lambda mp, tp: apt.check_lr_grid([0.0, 0.1, 1.0]), ConfigError,
     "the learning-rate grid must be positive, finite and strictly increasing"),
    ("probabilities outside [0, 1] given to a fit", lambda mp, tp: apt.fit_exponential([0.1, 1, 10], [0.1, 0.5, 1.2]),
     ConfigError, "probabilities must lie in [0, 1]"),
    ("a model without ReLU modules", lambda mp, tp: apt.relu_layers(torch.nn.Sequential(torch.nn.Linear(2, 2))),
     ConfigError, "Sequential has no nn.ReLU modules: APT needs ReLU modules to hook (functional relu calls cannot "
     "be seen)"),
    ("a target temperature above the ceiling", lambda mp, tp: target_above_ceiling(), ConfigError,
     "the target temperature 9.00 is above the ceiling log2(2 n) = 6.00 for the 32 'position' patterns of the "
     "smallest layer (batches of 32)"),
    ("beta <= 0", lambda mp, tp: softmax.torch_beta_loss(0.0), ConfigError,
     "the inverse temperature beta must be a positive finite number, got 0.0"),
    ("beta not finite", lambda mp, tp: softmax.effective_lr(0.1, float("inf")),
     ConfigError, "the inverse temperature beta must be a positive finite number, got inf"),
    ("correlation c outside [-1, 1]", lambda mp, tp: softmax.check_correlation(1.5),
     ConfigError, "the correlation c must lie in [-1, 1], got 1.5"),
    ("labels out of range", lambda mp, tp: softmax.check_labels(np.array([0, 3]), 3),
     ConfigError, "labels must lie in 0..2 for 3 classes, got 0..3"),
    ("mismatched shapes given to tau_z_theory",
     lambda mp, tp: softmax.tau_z_theory(np.eye(4), np.zeros((5, 3)), np.zeros((5, 3)), 1.0),
     ConfigError, "ntk must be (5, 5) or (5, 5, 3, 3) for z0 of shape (5, 3), got (4, 4)"),
    ("kernel that does not match the logits in the conditioning of App. A.3",
     lambda mp, tp: softmax.linearized_condition(np.eye(3), np.zeros((4, 10))),
     ConfigError, "ntk must be (4, 4) for z of shape (4, 10), got (3, 3)"),
    ("a beta sweep asked for before its learning rate is tuned (Sec. 3.4)",
     lambda mp, tp: ((tp / "_config.yml").write_text(""), mp.setenv("THERMO_ROOT", str(tp)),
                    get_experiment("tc-fig6-beta-sweep").configs("quick")),
     claims.MissingResults, "10 of 10 points of tc-fig6-tune [quick] are not cached"),
    ("non-positive decay exponent", lambda mp, tp: check_s_vs_alpha({"sizes": [16], "s_values": [0.5, -1]}),
     ConfigError, r"every decay exponent s must be positive, got [0.5, -1]"),
    ("THERMO_ROOT that does not exist", lambda mp, tp: root_from_env(mp, str(tp / "thermo-bok")), ConfigError,
     r"THERMO_ROOT='/\S+/thermo-bok' does not exist: point it at a clone of thermo-book \(the folder that holds "
     r"_config.yml\) or unset it"),
    ("THERMO_ROOT that holds no book", lambda mp, tp: root_from_env(mp, str(tp)), ConfigError,
     r"THERMO_ROOT='/\S+' holds no book \(no _config.yml there\): point it at a clone of thermo-book or unset it"),
    ("a figure id with a trailing newline", lambda mp, tp: figures.save(None, "tb-fig9\n", [], "x"), ConfigError,
     "figure id 'tb-fig9\\n' must be lower-case words joined by '-'"),
    ("an experiment id that climbs out of the store",
     lambda mp, tp: results.Store(tp).path("../../etc", 1, {}), ConfigError,
     "experiment id '../../etc' must be lower-case words joined by '-'"),
    ("a record hash that is not 16 hex digits",
     lambda mp, tp: results.Store(tp).path_for_hash("exp-a", "../../passwd0000"), ConfigError,
     "a record hash must be 16 hex digits, got '../../passwd0000'"),
    ("a record whose data is null", lambda mp, tp: record_edited(tp, null_data), CorruptRecord,
     r"/\S+\.json: field 'data' must be an object, got None; delete it to recompute"),
    ("a record nested 50,000 deep", lambda mp, tp: record_edited(tp, deep_record), CorruptRecord,
     r"/\S+\.json: nested deeper than 40 levels; delete it to recompute"),
    ("a FIFO where a record should be", lambda mp, tp: record_edited(tp, fifo_record), CorruptRecord,
     r"/\S+\.json: not a regular file; delete it to recompute"),
    ("an unknown key in an experiment config", lambda mp, tp: typo_in_config(), ConfigError,
     "tb-s-vs-alpha: unknown config key 'sead'; its keys are s_values, seed, sizes"),
    ("a figure that draws nothing (a header-only CSV)", empty_figure, ConfigError,
     "figure 'tb-empty' draws no line, scatter, bar or image that its CSV could hold"),
    ("non-finite learning rate", lambda mp, tp: fit_with(lr=float("inf")), ConfigError,
     "learning rate must be a positive number, got inf"),
    ("boolean learning rate", lambda mp, tp: fit_with(lr=True), ConfigError,
     "learning rate must be a positive number, got True"),
    ("NaN weight decay", lambda mp, tp: fit_with(weight_decay=float("nan")), ConfigError,
     "weight_decay must be a finite number, got nan"),
    ("infinite weight decay", lambda mp, tp: fit_with(weight_decay=float("inf")), ConfigError,
     "weight_decay must be a finite number, got inf"),
    ("boolean weight decay", lambda mp, tp: fit_with(weight_decay=False), ConfigError,
     "weight_decay must be a finite number, got False"),
    ("empty test set", lambda mp, tp: fit_on(toy(), toy(0)), ConfigError, "the test set is empty"),
    ("training labels outside the classes", lambda mp, tp: fit_on(toy(y=[0, 1, 2, 1])), ConfigError,
     "labels of the training set must lie in 0..1 for 2 classes, got 0..2"),
    ("test labels outside the classes", lambda mp, tp: fit_on(toy(), toy(y=[0, -1, 1, 1])), ConfigError,
     "labels of the test set must lie in 0..1 for 2 classes, got -1..1"),
    ("NaN in the training inputs", lambda mp, tp: fit_on(toy(x=with_nan())), ConfigError,
     "the training set has NaN or infinite inputs (1 value); clean the data before training"),
    ("inf in the test inputs", lambda mp, tp: fit_on(toy(), toy(x=with_inf())), ConfigError,
     "the test set has NaN or infinite inputs (2 values); clean the data before training"),
    ("negative target temperature", lambda mp, tp: actcool.ActCoolLR(lambda i: -1.0, lr_init=0.1), ConfigError,
     "the target temperature must be a finite number >= 0, got -1.0 at step 0"),
    ("non-finite target temperature", lambda mp, tp: actcool.ActCoolLR(lambda i: float("nan"), lr_init=0.1),
     ConfigError, "the target temperature must be a finite number >= 0, got nan at step 0"),
    ("a target temperature that falls below 0 by the end", lambda mp, tp: cooling_below_zero(), ConfigError,
     "the target temperature must be a finite number >= 0, got -1.0 at step 2"),
    ("an erf fit on two points", lambda mp, tp: apt.fit_erf([0.1, 1.0], [0.2, 0.8]), ConfigError,
     "fitting a model of the LR range needs at least 3 learning rates, got 2"),
    ("an erf fit on a flat LR range", lambda mp, tp: apt.fit_erf([0.01, 0.1, 1.0], [0.5, 0.5, 0.5]), ConfigError,
     "the probabilities do not vary (all 0.5): a flat LR range has nothing to fit"),
    ("an exponential fit on a falling LR range",
     lambda mp, tp: apt.fit_exponential([0.01, 0.1, 1.0], [0.9, 0.5, 0.1]), ConfigError,
     "the probabilities do not grow with the learning rate (least-squares slope -0.174 against ln lr): "
     "a pattern changes more often at larger learning rates"),
    ("time to peak of a flat curve", lambda mp, tp: l2.time_to_peak([1, 10, 100], [0.5, 0.5, 0.5]), ConfigError,
     "the test accuracy is the same at every evaluation (0.5): a flat curve has no peak"),
    ("a NaN weight given to esd", lambda mp, tp: htsr.esd(weight_with(float("nan"))), ConfigError,
     f"the weight matrix has 1 NaN and 0 inf entries (of 2400): {FINITE}"),
    ("inf weights in a conv layer given to esd",
     lambda mp, tp: htsr.esd(weight_with(float("inf"), (8, 5, 3, 3), ((0, 0, 1, 1), (7, 4, 2, 2)))), ConfigError,
     f"the weight matrix has 0 NaN and 2 inf entries (of 360): {FINITE}"),
    ("a complex torch weight given to esd", lambda mp, tp: htsr.esd(torch.randn(60, 40, dtype=torch.complex64)),
     ConfigError, f"the weight matrix is complex (torch.complex64): {REAL}"),
    ("a complex numpy weight given to esd", lambda mp, tp: htsr.esd(np.ones((60, 40)) + 1j), ConfigError,
     f"the weight matrix is complex (torch.complex128): {REAL}"),
    ("a NaN conv_norm", lambda mp, tp: htsr.esd(torch.ones(8, 5, 3, 3), conv_norm=float("nan")), ConfigError,
     "conv_norm must be a positive finite number, got nan"),
    ("complex eigenvalues (of W, not of W^T W) given to alpha_hill",
     lambda mp, tp: htsr.alpha_hill(eigs_of_w_not_of_wtw()), ConfigError,
     f"the eigenvalues are complex (complex128): {EIGS_REAL}"),
    ("a Python complex number among the eigenvalues", lambda mp, tp: htsr.alpha_hill([1.0, 2 + 1j, 3.0]),
     ConfigError, f"the eigenvalues are complex (complex128): {EIGS_REAL}"),
    ("a NaN eigenvalue given to alpha_hill", lambda mp, tp: htsr.alpha_hill([1.0, float("nan"), 2.0, 3.0]),
     ConfigError, f"the eigenvalues contain 1 NaN and 0 inf (of 4): {EIGS_FINITE}"),
    ("an inf eigenvalue given to hill_fit (official rule)",
     lambda mp, tp: htsr.hill_fit([1.0, 2.0, float("inf")], xmin_rule="official"), ConfigError,
     f"the eigenvalues contain 0 NaN and 1 inf (of 3): {EIGS_FINITE}"),
    ("eigenvalues given as text", lambda mp, tp: htsr.alpha_hill(["1.0", "2.0", "3.0"]), ConfigError,
     "the eigenvalues must be real numbers, got an array of dtype <U3"),
    ("a NaN weight in the last layer given to layer_metrics",
     lambda mp, tp: htsr.layer_metrics(net_with_nan_last_layer()), ConfigError,
     f"the weight of layer '2' (Linear) has 1 NaN and 0 inf entries (of 600): {FINITE}"),
    ("a complex layer given to layer_metrics", lambda mp, tp: htsr.layer_metrics(complex_net()), ConfigError,
     f"the weight of layer '0' (Linear) is complex (torch.complex64): {REAL}"),
    ("an unknown Hill rule given to layer_metrics",
     lambda mp, tp: htsr.layer_metrics(torch.nn.Linear(60, 60), xmin_rule="ks"), ConfigError,
     "xmin_rule must be one of ('eq3', 'official'), got 'ks'"),
    ("a NaN eigenvalue given to matrix_with_eigs", lambda mp, tp: htsr.matrix_with_eigs([1.0, float("nan")]),
     ConfigError, f"the eigenvalues contain 1 NaN and 0 inf (of 2): {EIGS_FINITE}"),
    ("a NaN decay exponent given to powerlaw_eigs", lambda mp, tp: htsr.powerlaw_eigs(16, float("nan")),
     ConfigError, "the decay exponent s must be a positive finite number, got nan"),
    ("a missing record while the book is built", book_build_without_a_record, MissingResults,
     r"tb-x \[quick\]: no cached record for config [0-9a-f]{16} and THERMO_COMPUTE=0 \(the book build never trains\): "
     r"run `make results` \(or `python -m thermo run tb-x --profile quick`\) and commit results/"),
]


@pytest.mark.parametrize("what,call,exc,message", CASES, ids=[c[0] for c in CASES])
def test_bad_input_gets_one_clear_message(what, call, exc, message, monkeypatch, tmp_path):
    with pytest.raises(exc) as info:
        call(monkeypatch, tmp_path)
    text = str(info.value)
    assert text == message or re.fullmatch(message, text), f"{what}: got {text!r}"


def test_the_table_is_long_enough():
    assert len(CASES) >= 20


def test_prepare_without_network_says_so_in_one_line(monkeypatch, tmp_path, capsys):
    import torchvision.datasets.cifar

    monkeypatch.setattr(torchvision.datasets.cifar, "download_and_extract_archive", no_network)
    monkeypatch.setenv("THERMO_DATA", str(tmp_path))
    assert data.main(["prepare", "cifar100"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: dataset 'cifar100' is not available offline")
    assert "download failed (URLError" in err


def test_an_environment_problem_leaves_no_failed_record(tmp_path):
    store = results.Store(tmp_path)

    def compute(config):
        raise DatasetNotFound("dataset 'cifar10' is not available offline")

    with pytest.raises(DatasetNotFound):
        results.cached("exp-env", 1, {"n": 1}, compute, "quick", store=store)
    assert not list(tmp_path.rglob("*.json"))


# --- python -m thermo cost (thermo.cost) ------------------------------------------------------------------

def test_cost_of_an_unknown_profile_is_one_clear_error(capsys):
    from thermo import __main__ as cli

    assert cli.main(["cost", "--profile", "papr"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "error: unknown profile 'papr': choose one of smoke, quick, paper. Did you mean 'paper'?\n"


def test_cost_names_the_experiment_whose_plan_raises(monkeypatch, capsys):
    from thermo import __main__ as cli
    from thermo import catalog, cost, experiments

    def plan(config):
        raise ValueError("no model for this config")

    good = experiments.REGISTRY["tb-s-vs-alpha"]
    bad = experiments.Experiment("tb-bad-plan", 1, lambda profile: [{"n": 1}], lambda config: {}, "a broken plan",
                                 plan=plan)
    monkeypatch.setitem(experiments.REGISTRY, bad.id, bad)
    monkeypatch.setattr(catalog, "all_experiments", lambda: {bad.id: bad, good.id: good})
    rows = cost.cost_table("smoke")
    assert [r["error"] for r in rows] == [None, "tb-bad-plan: could not be counted (ValueError: no model for this "
                                                "config)"]
    assert cli.main(["cost", "--profile", "smoke"]) == 1
    captured = capsys.readouterr()
    assert "tb-s-vs-alpha" in captured.out and re.search(r"tb-bad-plan +FAILED \[\d\]", captured.out)
    assert captured.err == "error: tb-bad-plan: could not be counted (ValueError: no model for this config)\n"
    with pytest.raises(ConfigError, match=r"^tb-bad-plan: could not be counted \(ValueError: no model for this "
                                          r"config\)$"):
        cost.chapter_line("notebooks/tempbalance/02-training-with-tempbalance", "smoke")


# --- synthesis chapter: an instrument asked for on a model it cannot read, or a run it cannot time, fails
# before any training with one message saying what was wrong (messages checked exactly).

SYN_PROBE = torch.zeros(4, 1, 4, 4)
SYN_RELU = "Sequential has no nn.ReLU modules: APT needs ReLU modules to hook (functional relu calls cannot be seen)"
SYN_SCHEDULES = "('cosine', 'tempbalance', 'actcool', 'autol2')"


def syn_mlp(width=64):
    return nn.Sequential(nn.Flatten(), nn.Linear(16, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(),
                         nn.Linear(width, 3))


def syn_thermometers(model=None, probe=SYN_PROBE, beta=1.0, every=10, granularity="position"):
    return ThermometerSet(syn_mlp() if model is None else model, probe, beta, every, granularity)


def syn_config(**kw):
    return {**syn_configs.point("smoke", "cosine", 43), **kw}


SYN_CASES = [
    # APT needs ReLU modules, alpha needs Conv2d/Linear layers with enough eigenvalues, the logit scale needs beta
    (lambda: syn_thermometers(nn.Sequential(nn.Flatten(), nn.Linear(16, 3))), SYN_RELU),
    (lambda: syn_thermometers(nn.Sequential(nn.Flatten(), nn.ReLU())),
     "Sequential has no Conv2d or Linear layer: alpha (TempBalance's PL_Alpha_Hill) reads the spectra of their weight "
     "matrices"),
    (lambda: syn_thermometers(syn_mlp(width=8)),
     "no Conv2d/Linear layer of Sequential has 50 eigenvalues or more: the Hill estimate of alpha needs them (make the "
     "network wider)"),
    (lambda: syn_thermometers(beta=None),
     "the logit scale reads beta * ||z||: give the inverse temperature beta of the run's loss (1.0 for plain "
     "cross-entropy)"),
    (lambda: syn_thermometers(beta=0.0), "the inverse temperature beta must be a positive finite number, got 0.0"),
    (lambda: syn_thermometers(beta=float("nan")),
     "the inverse temperature beta must be a positive finite number, got nan"),
    (lambda: syn_thermometers(beta=True), "the inverse temperature beta must be a positive finite number, got True"),
    (lambda: syn_thermometers(probe=None),
     "the logit scale needs a probe batch of inputs (a tensor with one example per row)"),
    (lambda: syn_thermometers(every=0), "every must be a positive integer number of steps, got 0"),
    (lambda: syn_thermometers(every=2.5), "every must be a positive integer number of steps, got 2.5"),
    (lambda: syn_thermometers(granularity="layer"),
     "granularity must be one of ('example', 'position', 'neuron'), got 'layer'"),
    # a run's config, checked before any data is loaded
    (lambda: syn_runs.syn_run(syn_config(schedule="onecycle")),
     f"schedule must be one of {SYN_SCHEDULES}, got 'onecycle'"),
    (lambda: syn_runs.syn_run(syn_config(beta=-1.0)),
     "the inverse temperature beta must be a positive finite number, got -1.0"),
    (lambda: syn_runs.syn_run(syn_config(probe_size=0)), "probe_size must be a positive number of examples, got 0"),
    (lambda: syn_runs.syn_run(syn_config(init="xavier")), "init must be None (torch's default) or 'he', got 'xavier'"),
    (lambda: syn_runs.syn_run(syn_config(model="resnet20", width=0.05, hidden=None, init=None)),
     "no Conv2d/Linear layer of ResNet has 50 eigenvalues or more: the Hill estimate of alpha needs them (make the "
     "network wider)"),
    (lambda: syn_runs.syn_run({**syn_configs.point("smoke", "tempbalance", 43), "s1": 1.5, "s2": 0.5}),
     "need 0 < s1 < s2 for the LR scaling range, got s1=1.5, s2=0.5"),
    (lambda: syn_runs.syn_run({**syn_configs.point("smoke", "autol2", 43), "l2_every": 0}),
     "AutoL2 measures every `every` >= 1 steps, got 0"),
    (lambda: get_experiment("syn-schedules").check_config(syn_config(betas=2.0)),
     "syn-schedules: unknown config key 'betas'; its keys are .*"),
]


@pytest.mark.parametrize("make, message", SYN_CASES, ids=[f"case{i}" for i in range(len(SYN_CASES))])
def test_synthesis_one_clear_error_before_any_work(monkeypatch, make, message):
    def no_data(*args, **kwargs):
        raise AssertionError("data were loaded before the config was checked")

    monkeypatch.setattr(data, "load", no_data)
    with pytest.raises(ConfigError) as err:
        make()
    assert re.fullmatch(message if message.endswith(".*") else re.escape(message), str(err.value)), str(err.value)


def test_the_clock_without_weight_decay_stops_before_the_first_step():
    model = syn_mlp()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    ds = data.ArrayDataset(torch.randn(8, 1, 4, 4), torch.zeros(8, dtype=torch.long), "z", "train", 3)
    therm = ThermometerSet(model, ds.x[:4], 1.0, every=2)
    with pytest.raises(ConfigError) as err:
        train.fit(model, ds, ds, train.TrainConfig(epochs=1, lr=0.1, batch_size=4, weight_decay=0.0),
                  callbacks=therm.callbacks, progress=False)
    assert str(err.value) == "the L2 clock eta * lambda * t needs a weight decay lambda > 0 in the optimizer"
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k
