# Shared set-up for scripts/test and scripts/demo: sourced, not run.
# Finds Python 3.13, keeps .venv in step with the pinned requirement files and installs
# the OS packages the project runs (Mosquitto, Chromium) when their binaries are missing.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$REPO_ROOT/.venv"
REQUIREMENT_FILES=(
  "$REPO_ROOT/requirements/test.txt"
  "$REPO_ROOT/requirements/constraints.txt"
  "$REPO_ROOT/addon/requirements.txt"
)

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

find_python313() {
  if command -v python3.13 >/dev/null 2>&1 && python3.13 -c 'import sys' >/dev/null 2>&1; then
    command -v python3.13
    return
  fi
  local root candidate
  root="$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"
  for candidate in "$root"/versions/3.13*/bin/python3.13; do
    if [ -x "$candidate" ]; then
      echo "$candidate"
      return
    fi
  done
  echo "error: Python 3.13 not found (neither python3.13 on PATH nor pyenv's 3.13.x)" >&2
  return 1
}

requirements_hash() {
  cat "${REQUIREMENT_FILES[@]}" | sha256sum | cut -d' ' -f1
}

ensure_venv() {
  local stamp="$VENV/.requirements.sha256" want
  want="$(requirements_hash)"
  if [ -x "$VENV/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return
  fi
  local python
  python="$(find_python313)"
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating .venv with $("$python" --version)"
    "$python" -m venv "$VENV"
  fi
  say "installing pinned requirements (first run takes a few minutes)"
  pip_quiet install --upgrade pip
  pip_quiet install -r "$REPO_ROOT/requirements/test.txt" -c "$REPO_ROOT/requirements/constraints.txt"
  echo "$want" >"$stamp"
}

# pip, without the per-package notes some mirrors' configs print about missing find-links folders.
pip_quiet() {
  "$VENV/bin/python" -m pip --quiet --disable-pip-version-check "$@" 2>&1 \
    | { grep -v '^WARNING: Location .* is ignored' || true; }
}

apt_install() {
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  say "installing OS packages: $*"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

ensure_mosquitto() {
  if ! command -v mosquitto >/dev/null 2>&1 && [ ! -x /usr/sbin/mosquitto ]; then
    apt_install mosquitto
  fi
}

# PostgreSQL proves the ledger's SQL is portable; tests start their own throw-away server.
ensure_postgresql() {
  if ! command -v initdb >/dev/null 2>&1 && ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
    apt_install postgresql
  fi
}

# Statement PDFs embed these fonts: DejaVu Sans (Latin, Greek, Cyrillic, Arabic, Hebrew) and
# Droid Sans Fallback (Chinese, Japanese, Korean).
ensure_fonts() {
  if [ ! -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] \
    || [ ! -f /usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf ]; then
    apt_install fonts-dejavu-core fonts-droid-fallback
  fi
}

ensure_chromium() {
  if ! command -v chromium >/dev/null 2>&1; then
    apt_install chromium
  fi
}

# What only scripts/demo needs (Home Assistant's frontend), on top of ensure_venv's packages;
# re-installed only when requirements/demo.txt changes.
ensure_demo_requirements() {
  local file="$REPO_ROOT/requirements/demo.txt" stamp="$VENV/.demo-requirements.sha256" want
  want="$(sha256sum "$file" | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return
  fi
  say "installing the demo's pinned requirements"
  pip_quiet install -r "$file" -c "$REPO_ROOT/requirements/constraints.txt"
  echo "$want" >"$stamp"
}
