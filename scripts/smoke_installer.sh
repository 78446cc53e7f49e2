#!/usr/bin/env bash
# Release check of the Linux bundle (issue 9): build it with PyInstaller from build_installer.spec, then run
# the built programs the way a user's machine would — no Python, no source tree on their path.
#
#   scripts/smoke_installer.sh [WORKDIR]        (default: a new temporary folder; the bundle is left there)
#
# The build venv installs the versions of requirements/constraints.txt (the lock; see README, Dependencies).
# Checks: the bundle's unpacked size (target <= 250 MB), `carenet --version` (the version of pyproject.toml),
# a demo database built by the bundle, a PDF scorecard computed from it (measures, figures, reportlab),
# `CareNetDesktop --screenshot` offscreen on it (a PNG), the time from
# launch to the sign-in window of a store with accounts (<= 3 s, the best of three: the first start also
# warms the disk cache), and the sign-in itself (CARENET_USER/PASSWORD) through to the scorecard.
# CARENET_SMOKE_TIMING=report (as .ci/run sets it) reports a slow start instead of failing on it.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$(mktemp -d -t carenet-smoke.XXXXXX)}
mkdir -p "$work"
py=${PYTHON:-python3}
venv="$work/venv"
max_mb=${CARENET_BUNDLE_MAX_MB:-250}
max_start=${CARENET_BUNDLE_MAX_START_S:-3}

lock="$here/requirements/constraints.txt"
# every run of the bundle is bounded: a hang fails this check with the step's name instead of running on
# (stdin from /dev/null: nothing may wait for a person)
step_limit=${CARENET_SMOKE_STEP_LIMIT_S:-600}
bounded() { timeout --kill-after=10 "$step_limit" "$@" </dev/null; }
echo "== build environment ($venv, versions from requirements/constraints.txt)"
"$py" -m venv "$venv"
"$venv/bin/pip" install -q -c "$lock" pip
"$venv/bin/pip" install -q -c "$lock" --build-constraint "$lock" "$here[installer]"
echo "== pyinstaller"
(cd "$here" && "$venv/bin/pyinstaller" --noconfirm --log-level WARN --workpath "$work/build" \
  --distpath "$work/dist" build_installer.spec)
bundle="$work/dist/CareNetDesktop"
test -x "$bundle/carenet" && test -x "$bundle/CareNetDesktop"
size_mb=$(du -sm "$bundle" | cut -f1)
echo "bundle: $bundle, ${size_mb} MB unpacked (target <= ${max_mb} MB)"

# run it as a user would: away from the source tree, with its own data and settings folders
export HOME="$work/home" XDG_DATA_HOME="$work/home/data" XDG_CONFIG_HOME="$work/home/config" \
  XDG_CACHE_HOME="$work/home/cache" QT_QPA_PLATFORM=offscreen
unset CARENET_DB PYTHONPATH || true
mkdir -p "$HOME" && cd "$HOME"

want=$("$venv/bin/python" -c "import tomllib,sys; print(tomllib.load(open(sys.argv[1],'rb'))['project']['version'])" \
  "$here/pyproject.toml")
got=$(bounded "$bundle/carenet" --version)
echo "carenet --version: $got"
case "$got" in *"$want"*) ;; *) echo "FAIL: expected version $want"; exit 1 ;; esac

echo "== demo database built by the bundle"
bounded "$bundle/carenet" demo --no-encryption --db "$work/demo.db" --patients 3000 >/dev/null  # a throwaway demo
echo "== a PDF scorecard computed by the bundle"
practice=$(bounded "$bundle/carenet" --db "$work/demo.db" practices | sed -n 2p | cut -f1)
year=$(( $(date +%Y) - 1 ))  # the demo's data runs to last month: last year is a full one
bounded "$bundle/carenet" --db "$work/demo.db" report scorecard --practice "$practice" --period "$year" \
  --out "$work/scorecard.pdf" | tail -n 1
head -c 5 "$work/scorecard.pdf" | grep -q "%PDF-" || { echo "FAIL: no PDF scorecard"; exit 1; }
echo "== first window (screenshot)"
start=$(date +%s.%N)
bounded "$bundle/CareNetDesktop" --db "$work/demo.db" --screenshot "$work/window.png"
end=$(date +%s.%N)
test -s "$work/window.png"
head -c 8 "$work/window.png" | od -An -c | grep -q "P   N   G" || { echo "FAIL: not a PNG"; exit 1; }
window_s=$(echo "$end - $start" | bc)
echo "launch to the window's picture (the scorecard and its 12-month sparklines computed): ${window_s} s"

echo "== a store with accounts: the sign-in window"
cp "$work/demo.db" "$work/practice.db"
CARENET_NEW_PASSWORD="Smoke-Test-Password-1" bounded "$bundle/carenet" --db "$work/practice.db" users add admin \
  --role network_admin >/dev/null
best=""
for attempt in 1 2 3; do
  start=$(date +%s.%N)
  bounded "$bundle/CareNetDesktop" --db "$work/practice.db" --sign-in-screenshot "$work/sign-in.png"
  end=$(date +%s.%N)
  took=$(echo "$end - $start" | bc)
  echo "launch to the sign-in window (start $attempt): ${took} s"
  if [ -z "$best" ] || [ "$(echo "$took < $best" | bc)" = 1 ]; then best=$took; fi
done
test -s "$work/sign-in.png"
echo "launch to the sign-in window: best ${best} s (target <= ${max_start} s)"

echo "== signing in, through to the scorecard"
start=$(date +%s.%N)
CARENET_USER=admin CARENET_PASSWORD="Smoke-Test-Password-1" \
  bounded "$bundle/CareNetDesktop" --db "$work/practice.db" --screenshot "$work/signed-in.png"
end=$(date +%s.%N)
signin_s=$(echo "$end - $start" | bc)
test -s "$work/signed-in.png"
echo "launch through sign-in to the window's picture: ${signin_s} s"

fail=0
[ "$size_mb" -le "$max_mb" ] || { echo "FAIL: bundle ${size_mb} MB > ${max_mb} MB"; fail=1; }
if [ "$(echo "$best <= $max_start" | bc)" != 1 ]; then
  if [ "${CARENET_SMOKE_TIMING:-check}" = report ]; then  # CI: speed is measured, not asserted, on a shared machine
    echo "NOTE: sign-in window after ${best} s, over the ${max_start} s target (reported, not failed: CARENET_SMOKE_TIMING=report)"
  else
    echo "FAIL: sign-in window after ${best} s > ${max_start} s"; fail=1
  fi
fi
[ $fail = 0 ] && echo "SMOKE OK: ${size_mb} MB, sign-in window ${best} s, first window ${window_s} s, signed in to the scorecard ${signin_s} s"
exit $fail
