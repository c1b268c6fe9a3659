#!/usr/bin/env bash
# Make sure Debian's Chromium is installed for the browser tests (tests-e2e/test_console.py drive it
# with Playwright through executable_path; Playwright's own browser download is not reachable here).
# Idempotent: does nothing when /usr/bin/chromium exists.
set -euo pipefail

CHROMIUM=${QUINTET_CHROMIUM:-/usr/bin/chromium}
if [ -x "$CHROMIUM" ]; then
  exit 0
fi
echo "Chromium is not installed; installing Debian's chromium with apt-get"
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core \
  || { $sudo apt-get update -q && $sudo apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core; }
[ -x "$CHROMIUM" ] || { echo "chromium did not install at $CHROMIUM" >&2; exit 1; }
