#!/usr/bin/env bash
# Idempotent environment setup: system packages (when root), the locked Python set, fonts, kernel.
set -euo pipefail
cd "$(dirname "$0")/.."
export UV_PYTHON_DOWNLOADS=never

# System packages: a CJK font for charts and PDFs, Chromium for the HTML test, poppler for PDF checks,
# LibreOffice Calc for the test that takes intake templates through a real office suite.
need=()
for pkg in fonts-noto-cjk chromium poppler-utils libreoffice-calc; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if ((${#need[@]})); then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing system packages: ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "setup: please install these system packages: ${need[*]} (e.g. sudo apt-get install ${need[*]})" >&2
  fi
fi

# Python 3.11 (the lock file's): python3.11 when installed, else python3 when it is 3.11.
py=$(command -v python3.11 || command -v python3 || true)
if [ -z "$py" ] || ! "$py" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
  found=$([ -n "$py" ] && "$py" -V 2>&1 || echo "no python3")
  echo "setup: needs Python 3.11, the lock file's (found: $found); install it" \
    "(e.g. apt-get install python3.11, or pyenv install 3.11) and run make setup again" >&2
  exit 1
fi
# uv installs exactly the locked set into .venv.
uv=(uv)
if ! command -v uv >/dev/null; then
  if ! "$py" -m pip install --quiet "uv==0.13.8"; then
    echo "setup: cannot install uv with pip (a system-managed Python?): install uv 0.13.8" \
      "(e.g. pipx install uv==0.13.8, see https://docs.astral.sh/uv/) and run make setup again" >&2
    exit 1
  fi
  uv=("$py" -m uv)
fi
"${uv[@]}" sync --frozen --python "$py" --quiet

# One CJK font directory, given to vl-convert and to Typst alike.
fontdir=.venv/share/louyu-fonts
mkdir -p "$fontdir"
for f in NotoSansCJK-Regular.ttc NotoSansCJK-Bold.ttc; do
  src=/usr/share/fonts/opentype/noto/$f
  [ -f "$src" ] && cp -u "$src" "$fontdir/$f"
done

# The project's own Jupyter kernel, used by papermill.
.venv/bin/python -m ipykernel install --sys-prefix --name louyu --display-name "louyu-research" >/dev/null
echo "setup: ready (.venv, fonts in $fontdir, kernel 'louyu')"
