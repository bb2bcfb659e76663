#!/usr/bin/env bash
# The full test profile: every test, including those marked slow (CI runs the
# README's short profile, -m "not slow"). Run from the repository root inside
# the environment the README sets up.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pytest "$@"
