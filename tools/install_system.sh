#!/usr/bin/env bash
# Installs the Debian packages the grading tools need, where the system allows it; otherwise says
# what to do. bubblewrap (`bwrap`) builds the jail in which a submission's code runs (tools/sandbox.py).
set -u
if command -v bwrap >/dev/null 2>&1; then
  echo "system: bubblewrap present ($(bwrap --version))"
  exit 0
fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "system: installing the Debian package bubblewrap"
  if (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap) >/dev/null; then
    echo "system: bubblewrap installed ($(bwrap --version))"
    exit 0
  fi
  echo "system: apt-get could not install bubblewrap (see above)"
fi
cat <<MSG
system: bubblewrap is not installed. Students do not need it; instructors who grade do: without it
  a submission's code runs with the grader's rights (tools.grade warns). Install it with
    sudo apt-get install bubblewrap      (Debian/Ubuntu; dnf/pacman: package bubblewrap)
MSG
exit 0
