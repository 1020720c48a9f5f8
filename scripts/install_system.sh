#!/usr/bin/env bash
# Installs the Debian packages the course's tools need, where the system allows it; otherwise says
# what to do. bubblewrap (`bwrap`) builds the jail in which a submission's code runs
# (dlcourse/grading/sandbox.py); chromium is the browser of the tests that open the formgrader and the
# feedback (Playwright drives it; it never downloads a browser of its own); python3.11-venv and npm
# build the hub of `make hub` (dlcourse/hub.py: the course's environment from the system's Python,
# JupyterHub's proxy from npm).
set -u
missing=()
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
[ -x /usr/bin/chromium ] || missing+=(chromium)
/usr/bin/python3.11 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3.11-venv)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} = 0 ]; then
  echo "system: bubblewrap, chromium, python3.11-venv and npm present"
  exit 0
fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "system: installing the Debian packages ${missing[*]}"
  if (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}") >/dev/null; then
    echo "system: installed ${missing[*]}"
    exit 0
  fi
  echo "system: apt-get could not install ${missing[*]} (see above)"
fi
cat <<MSG
system: missing Debian packages: ${missing[*]}. Students need none. Instructors who grade need
  bubblewrap: without it a submission's code runs with the grader's rights (dlcourse.grading.grade warns).
  The browser tests of \`make test\` need chromium; \`make hub\` needs python3.11-venv and npm. Install them with
    sudo apt-get install ${missing[*]}
MSG
exit 0
