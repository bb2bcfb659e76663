#!/usr/bin/env bash
# Property-based tests of every parser with 10,000 generated inputs each (the "fuzz" Hypothesis profile;
# HARMSIM_FUZZ_EXAMPLES=N for another count); the test run uses fewer. Prints Hypothesis' statistics per property.
set -euo pipefail
cd "$(dirname "$0")/.."
HARMSIM_HYPOTHESIS_PROFILE=fuzz python -m pytest tests/test_fuzz.py -q -p no:cacheprovider --hypothesis-show-statistics "$@"
