"""Loaders on small files written here in each dataset's real on-disk format."""

import pickle
import struct

import numpy as np
import pytest
import torch
import torchvision

from thermo import data
from thermo.errors import ConfigError, DatasetNotFound


def write_idx(path, array):
    array = np.asarray(array, dtype=np.uint8)
    magic = 0x0800 | array.ndim
    with open(path, "wb") as fh:
        fh.write(struct.pack(">I", magic))
        fh.write(struct.pack(f">{array.ndim}I", *array.shape))
        fh.write(array.tobytes())


@pytest.fixture
def fake_fashion(tmp_path):
    rng = np.random.default_rng(0)
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    sets = {"train": (rng.integers(0, 256, (30, 28, 28)), rng.integers(0, 10, 30)),
            "t10k": (rng.integers(0, 256, (12, 28, 28)), rng.integers(0, 10, 12))}
    for prefix, (x, y) in sets.items():
        write_idx(raw / f"{prefix}-images-idx3-ubyte", x)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", y)
    return tmp_path, sets


def test_fashion_mnist_reads_idx_files(fake_fashion):
    root, sets = fake_fashion
    for split, key in (("train", "train"), ("test", "t10k")):
        ds = data.load("fashion-mnist", split, root=root)
        x, y = sets[key]
        assert ds.x.shape == (len(y), 1, 28, 28) and ds.x.dtype == torch.float32
        np.testing.assert_allclose(ds.x[:, 0].numpy(), x / 255.0, rtol=1e-6)
        np.testing.assert_array_equal(ds.y.numpy(), y)
        assert ds.num_classes == 10 and ds.in_shape == (1, 28, 28)


def test_subsets_are_deterministic_by_seed(fake_fashion):
    root, _ = fake_fashion
    a = data.load("fashion-mnist", "train", n=10, seed=3, root=root)
    b = data.load("fashion-mnist", "train", n=10, seed=3, root=root)
    c = data.load("fashion-mnist", "train", n=10, seed=4, root=root)
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y)
    assert not torch.equal(a.x, c.x)
    with pytest.raises(ConfigError, match="n=31 is out of range: fashion-mnist train has 30"):
        data.load("fashion-mnist", "train", n=31, root=root)


def test_prepare_fashion_mnist_from_debian_gz(tmp_path, fake_fashion):
    import gzip

    src_root, _ = fake_fashion
    deb = tmp_path / "deb"
    deb.mkdir()
    for f in data.FASHION_FILES:
        (deb / f"{f}.gz").write_bytes(gzip.compress((src_root / "FashionMNIST" / "raw" / f).read_bytes()))
    out = tmp_path / "prepared"
    raw = data.prepare_fashion_mnist(out, debian_dir=deb)
    assert sorted(p.name for p in raw.iterdir()) == sorted(data.FASHION_FILES)
    assert len(data.load("fashion-mnist", "test", root=out)) == 12


def test_missing_dataset_names_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setenv("THERMO_OFFLINE", "1")  # no preparing on first use
    with pytest.raises(DatasetNotFound, match=r"looked in .*FashionMNIST.*make data"):
        data.load("fashion-mnist", "train", root=tmp_path)
    with pytest.raises(DatasetNotFound, match=r"'cifar10' is not available offline.*needs internet once"):
        data.load("cifar10", "train", root=tmp_path)


@pytest.mark.skipif(not data.DEBIAN_FASHION.is_dir(), reason="needs the Debian package dataset-fashion-mnist")
def test_a_missing_dataset_is_prepared_on_first_use(tmp_path, monkeypatch):
    monkeypatch.setenv("THERMO_OFFLINE", "0")
    ds = data.load("fashion-mnist", "test", root=tmp_path)
    assert len(ds) == 10_000 and (tmp_path / "FashionMNIST" / "raw" / "t10k-images-idx3-ubyte").is_file()


def _cifar_batch(n, label_key, classes, rng):
    return {"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            label_key: rng.integers(0, classes, n).tolist()}


def test_cifar10_loader_on_files_in_its_format(tmp_path, monkeypatch):
    # torchvision checks the md5 sums of the real files; these are made-up files in the same format
    monkeypatch.setattr(torchvision.datasets.CIFAR10, "_check_integrity", lambda self: True)
    monkeypatch.setattr(torchvision.datasets.cifar, "check_integrity", lambda *a, **k: True)
    rng = np.random.default_rng(1)
    base = tmp_path / "cifar-10-batches-py"
    base.mkdir()
    batches = {f"data_batch_{i}": _cifar_batch(4, "labels", 10, rng) for i in range(1, 6)}
    batches["test_batch"] = _cifar_batch(3, "labels", 10, rng)
    for name, content in {**batches, "batches.meta": {"label_names": [str(i) for i in range(10)]}}.items():
        (base / name).write_bytes(pickle.dumps(content))
    train = data.load("cifar10", "train", root=tmp_path)
    assert train.x.shape == (20, 3, 32, 32) and train.num_classes == 10
    first = batches["data_batch_1"]["data"][0].reshape(3, 32, 32) / 255.0
    np.testing.assert_allclose(train.x[0].numpy(), first, rtol=1e-6)
    assert train.y[:4].tolist() == batches["data_batch_1"]["labels"]
    assert len(data.load("cifar10", "test", root=tmp_path)) == 3


def test_cifar100_loader_on_files_in_its_format(tmp_path, monkeypatch):
    monkeypatch.setattr(torchvision.datasets.CIFAR10, "_check_integrity", lambda self: True)
    monkeypatch.setattr(torchvision.datasets.cifar, "check_integrity", lambda *a, **k: True)
    rng = np.random.default_rng(2)
    base = tmp_path / "cifar-100-python"
    base.mkdir()
    train = _cifar_batch(5, "fine_labels", 100, rng)
    for name, content in {"train": train, "test": _cifar_batch(2, "fine_labels", 100, rng),
                          "meta": {"fine_label_names": [str(i) for i in range(100)]}}.items():
        (base / name).write_bytes(pickle.dumps(content))
    ds = data.load("cifar100", "train", root=tmp_path)
    assert ds.num_classes == 100 and ds.y.tolist() == train["fine_labels"]


def test_svhn_loader_on_mat_files(tmp_path, monkeypatch):
    from scipy.io import savemat

    monkeypatch.setattr(torchvision.datasets.SVHN, "_check_integrity", lambda self: True)
    rng = np.random.default_rng(3)
    (tmp_path / "svhn").mkdir()
    x = rng.integers(0, 256, (32, 32, 3, 6), dtype=np.uint8)
    y = np.array([[10], [1], [2], [3], [10], [9]], dtype=np.uint8)  # SVHN stores digit 0 as 10
    savemat(tmp_path / "svhn" / "train_32x32.mat", {"X": x, "y": y})
    ds = data.load("svhn", "train", root=tmp_path)
    assert ds.x.shape == (6, 3, 32, 32)
    assert ds.y.tolist() == [0, 1, 2, 3, 0, 9]
    np.testing.assert_allclose(ds.x[1, 2].numpy(), x[:, :, 2, 1] / 255.0, rtol=1e-6)


def test_mnist5k_is_shuffled_and_balanced():
    train, test = data.load("mnist-5k", "train"), data.load("mnist-5k", "test")
    assert len(train) == 4000 and len(test) == 1000
    assert train.x.max() <= 1.0 and train.x.min() >= 0.0
    # the file is sorted by label; after the seeded shuffle each split holds every class
    counts = torch.bincount(test.y, minlength=10)
    assert counts.min() > 60 and counts.max() < 140
    assert (train.y[1:] != train.y[:-1]).float().mean() > 0.8


def test_digits_and_mnist1d_shapes():
    d = data.load("digits", "train")
    assert d.x.shape == (1437, 1, 8, 8) and float(d.x.max()) == 1.0
    assert len(data.load("digits", "test")) == 360
    m = data.load("mnist1d", "test")
    assert m.x.shape == (1000, 1, 1, 40) and m.num_classes == 10


@pytest.mark.parametrize("name,split,message", [
    ("imagenet", "train", "unknown dataset 'imagenet'"),
    ("digits", "val", "split must be one of"),
])
def test_bad_dataset_arguments(name, split, message):
    with pytest.raises(ConfigError, match=message):
        data.load(name, split)


def test_split_validation_keeps_the_training_subset_and_holds_out_the_rest():
    """The training part is exactly load(n=n_train); the validation part shares no example with it."""
    full = data.load("digits", "train", n=300, seed=0)
    tr, val = data.split_validation(full, 200)
    ref = data.load("digits", "train", n=200, seed=0)
    assert torch.equal(tr.x, ref.x) and torch.equal(tr.y, ref.y)
    assert len(val) == 100 and val.split == "validation"
    seen = {tuple(r.flatten().tolist()) for r in tr.x}
    assert not any(tuple(r.flatten().tolist()) in seen for r in val.x)
    with pytest.raises(ConfigError, match="n_train must leave a validation split"):
        data.split_validation(full, 300)
