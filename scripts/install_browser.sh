#!/bin/sh
# The browser the dashboard's test drives: Debian's Chromium, driven by Playwright (no browser download).
# Installs it when it is missing and this user may (root, or sudo without a password); otherwise says how
# and leaves the browser test to skip (CI sets HARMSIM_REQUIRE_BROWSER=1, and there a missing browser fails).
# HARMSIM_CHROMIUM may name another Chromium binary.
set -e
if [ -n "${HARMSIM_CHROMIUM:-}" ] || command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO="sudo -n"
else
  echo "install_browser: Chromium is missing; install Debian's package (apt-get install chromium) to run the browser test" >&2
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install_browser: no apt-get here; install Chromium and set HARMSIM_CHROMIUM to run the browser test" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
echo "install_browser: installing Debian's chromium (once)" >&2
$SUDO apt-get install -y -qq chromium >/dev/null 2>&1 || { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium >/dev/null; }
command -v chromium >/dev/null
