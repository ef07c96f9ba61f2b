#!/usr/bin/env bash
# One distillation step, distill4j against a current PyTorch, interleaved: ROUNDS rounds of
# (DistillationBenchmark, distill_step.py), STEPS measured steps each after three warm-up steps, on
# the same machine with nothing else running. distill4j runs in its own JVM with the environment
# ./distill gives it (scripts/native-env.sh); PyTorch runs with its defaults, as a user would run it.
# PYTHON is an interpreter with torch installed, e.g. a virtual environment:
#   python3 -m venv v && v/bin/pip install --index-url URL torch==2.13.0+cpu numpy
# Usage: PYTHON=v/bin/python scripts/bench/step-vs-pytorch.sh [STEPS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
steps="${1:-10}"
rounds="${2:-3}"
python="${PYTHON:-python3}"
mvn -B -q -DskipTests test-compile -pl distill-core >/dev/null
mvn -B -q -pl distill-core dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/bench.cp \
  >/dev/null
cp="distill-core/target/classes:distill-core/target/test-classes:$(cat distill-core/target/bench.cp)"
for r in $(seq 1 "$rounds"); do
  echo "round $r"
  (. scripts/native-env.sh && java -Xmx8g -Dai.djl.offline=true -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
    -cp "$cp" org.distill4j.bench.DistillationBenchmark "$steps" 2>/dev/null | grep -a 'distill4j (DJL')
  "$python" scripts/bench/distill_step.py "$steps" 2>/dev/null
done
