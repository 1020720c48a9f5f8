import gzip
import os
import struct

import numpy as np
import pytest
import torch

from utils import data


def test_registry_entries_are_complete():
    expected = {"fashion_mnist", "digits", "iris", "wine", "breast_cancer", "diabetes", "mnist_5k", "sunspots", "co2", "nile", "first_names", "python_docs"}
    assert expected <= set(data.names())
    for name in data.names():
        entry = data.info(name)
        assert entry.source and entry.licence and entry.install_hint and entry.files
        assert all(len(digest) == 64 for digest in entry.files.values())
    with pytest.raises(KeyError, match="unknown dataset 'nope'.*registered"):
        data.info("nope")


@pytest.mark.parametrize("name", ["digits", "iris", "wine", "breast_cancer", "diabetes", "mnist_5k"])
def test_bundled_tabular_datasets_load_and_verify(name):
    X, y = data.load(name)
    assert len(X) == len(y) > 100


def test_first_names_are_lower_case_words_once_each():
    first = data.load("first_names")
    assert len(first) == len(set(first)) > 5_000 and first == sorted(first)
    assert {"mary", "james", "zoe"} <= set(first) and all(name.isalpha() and name.islower() for name in first)


def test_python_docs_is_the_help_text_of_python():
    text = data.load("python_docs")
    assert isinstance(text, str) and 400_000 < len(text) < 600_000
    assert "The \"for\" statement" in text and "\n\n" in text


@pytest.mark.parametrize("name, rows", [("sunspots", 309), ("co2", 2284), ("nile", 100)])
def test_bundled_time_series_load(name, rows):
    assert len(data.load(name)) == rows


def test_missing_dataset_names_what_installs_it(tmp_path):
    with pytest.raises(data.DatasetNotFoundError) as error:
        data.load("fashion_mnist", root=tmp_path)
    message = str(error.value)
    assert "dataset-fashion-mnist" in message and "python -m utils.data download" in message
    assert str(tmp_path) in message


def _write_idx(path, array: np.ndarray):
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as handle:
        handle.write(header + array.astype(np.uint8).tobytes())


@pytest.fixture
def fake_fashion(tmp_path):
    folder = tmp_path / "fashion-mnist"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for split, n in (("train", 12), ("t10k", 5)):
        _write_idx(folder / f"{split}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        _write_idx(folder / f"{split}-labels-idx1-ubyte.gz", np.arange(n) % 10)
    return tmp_path


def test_wrong_checksum_is_reported_with_the_fix(fake_fashion):
    with pytest.raises(data.ChecksumError, match="SHA-256.*reinstall"):
        data.load("fashion_mnist", root=fake_fashion)


def test_fashion_loader_reads_local_files_through_torchvision(fake_fashion, tmp_path):
    train = data.load("fashion_mnist", root=fake_fashion, check=False, train=True, cache=tmp_path / "cache")
    test = data.load("fashion_mnist", root=fake_fashion, check=False, train=False, cache=tmp_path / "cache")
    assert len(train) == 12 and len(test) == 5
    image, label = train[3]
    assert image.size == (28, 28) and label == 3
    assert not list((tmp_path / "cache").rglob("*.partial"))


def test_download_is_opt_in_and_only_for_fashion_mnist():
    with pytest.raises(ValueError, match="ships inside a Python package"):
        data.download("digits")


def test_real_fashion_mnist_when_installed(tmp_path):
    """The Debian package is installed by `make setup` where apt-get is allowed (CI included)."""
    if not (data.DEBIAN_FASHION_MNIST / "train-labels-idx1-ubyte.gz").exists():
        if os.environ.get("CI"):
            pytest.fail("CI must have Fashion-MNIST: `make setup` installs dataset-fashion-mnist")
        pytest.skip("Fashion-MNIST not installed here (run `make data`)")
    test = data.load("fashion_mnist", train=False, cache=tmp_path)
    assert len(test) == 10_000
    assert torch.bincount(test.targets).tolist() == [1000] * 10
    images, labels = data.fashion_mnist_tensors(train=False)
    assert torch.equal(labels, test.targets) and torch.equal(images[:, 0], test.data.float() / 255)


def test_fashion_mnist_tensors_and_tensor_loader(fake_fashion, tmp_path):
    images, labels = data.fashion_mnist_tensors(train=True, root=fake_fashion, check=False)
    assert images.shape == (12, 1, 28, 28) and images.dtype == torch.float32
    assert 0.0 <= images.min() and images.max() <= 1.0 and labels.dtype == torch.int64
    dataset = data.load("fashion_mnist", root=fake_fashion, check=False, train=True, cache=tmp_path / "cache")
    assert torch.equal(images, dataset.data.unsqueeze(1).float() / 255)  # same content as torchvision reads
    assert torch.equal(labels, dataset.targets)
    assert data.fashion_mnist_tensors(train=False, root=fake_fashion, check=False)[0].shape == (5, 1, 28, 28)
    with pytest.raises(data.ChecksumError):
        data.fashion_mnist_tensors(train=True, root=fake_fashion)
    ordered = data.tensor_loader(images, labels, batch_size=5)
    assert [len(y) for _, y in ordered] == [5, 5, 2]
    assert torch.equal(torch.cat([y for _, y in ordered]), labels)
    shuffled = [torch.cat([y for _, y in data.tensor_loader(images, labels, batch_size=5, shuffle=True,
                                                             generator=torch.Generator().manual_seed(3))])
                for _ in range(2)]
    assert torch.equal(shuffled[0], shuffled[1]) and sorted(shuffled[0].tolist()) == sorted(labels.tolist())
    assert not torch.equal(shuffled[0], labels)
    with pytest.raises(ValueError, match="batch_size"):
        data.tensor_loader(images, labels, batch_size=0)


def test_random_windows_shift_targets_by_one_and_are_seeded():
    ids = torch.arange(100)
    windows = data.RandomWindows(ids, batch=4, length=10, steps=3, seed=0)
    batches = list(windows)
    assert len(windows) == 3 and len(batches) == 3
    for inputs, targets in batches:
        assert inputs.shape == targets.shape == (4, 10)
        assert torch.equal(targets, inputs + 1) and int(targets.max()) <= 99  # consecutive ids, inside the text
    again = list(data.RandomWindows(ids, 4, 10, 3, seed=0))
    assert all(torch.equal(a[0], b[0]) for a, b in zip(batches, again))
    assert not torch.equal(batches[0][0], list(windows)[0][0])  # a second pass draws new windows
    with pytest.raises(ValueError, match="does not fit"):
        data.RandomWindows(torch.arange(5), 1, 10, 1, 0)


def test_augmented_images_keep_size_label_and_pixels_and_work_in_spawned_workers():
    from torch.utils.data import DataLoader

    images = torch.rand(6, 1, 8, 8)
    dataset = data.AugmentedImages(images, torch.arange(6))
    torch.manual_seed(0)
    image, label = dataset[3]
    assert image.shape == (1, 8, 8) and int(label) == 3
    padded = torch.nn.functional.pad(images[3], (2, 2, 2, 2))
    windows = [padded[:, t:t + 8, l:l + 8] for t in range(5) for l in range(5)]
    assert any(torch.equal(image, w) or torch.equal(image, w.flip(-1)) for w in windows)
    loader = DataLoader(dataset, batch_size=3, num_workers=1, multiprocessing_context="spawn")
    assert [tuple(x.shape) for x, _ in loader] == [(3, 1, 8, 8)] * 2
    with pytest.raises(ValueError, match="6 images but 5 labels"):
        data.AugmentedImages(images, torch.arange(5))
