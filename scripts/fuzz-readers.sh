#!/usr/bin/env bash
# Mutation fuzzing of every file reader, as a benchmark: CASES damaged files per reader (default
# 5000; CI runs 150), from SEED. Prints one line per reader: cases, loaded, refused with a message
# naming the file, defects (any other exception, a native crash, a read over 20 s). Exit 0 = none.
# Usage: scripts/fuzz-readers.sh [CASES] [SEED]
set -euo pipefail
cd "$(dirname "$0")/.."
cases=${1:-5000}; seed=${2:-20261205}
mvn -o -q install -DskipTests
mvn -o test -pl recipes -Dtest=ReaderFuzzTest -Dsurefire.failIfNoSpecifiedTests=false \
  -Dfuzz.cases="$cases" -Dfuzz.seed="$seed" 2>&1 | grep -E "^fuzz |Tests run:|defects in|FAIL|crash" || true
grep -q 'errors="0"' recipes/target/surefire-reports/TEST-org.distill4j.fault.ReaderFuzzTest.xml \
  && grep -q 'failures="0"' recipes/target/surefire-reports/TEST-org.distill4j.fault.ReaderFuzzTest.xml
