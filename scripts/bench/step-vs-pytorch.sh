#!/usr/bin/env bash
# One distillation step, distill4j against a current PyTorch, interleaved: ROUNDS rounds of
# (DistillationBenchmark, distill_step.py), STEPS measured steps each, on the same machine with
# nothing else running. PYTHON is an interpreter with torch installed, e.g. a virtual environment:
#   python3 -m venv v && v/bin/pip install --index-url URL torch==2.13.0+cpu numpy
# Usage: PYTHON=v/bin/python scripts/bench/step-vs-pytorch.sh [STEPS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
steps="${1:-10}"
rounds="${2:-3}"
python="${PYTHON:-python3}"
export MKL_CBWR="${MKL_CBWR:-AUTO}"
mvn -B -q install -DskipTests -pl distill-core >/dev/null
for r in $(seq 1 "$rounds"); do
  echo "round $r"
  mvn -B -q -Dstyle.color=never -pl distill-core exec:java -Dexec.classpathScope=test \
    -Dexec.mainClass=org.distill4j.bench.DistillationBenchmark -Dexec.args="$steps" 2>/dev/null | grep -a 'distill4j (DJL'
  "$python" scripts/bench/distill_step.py "$steps" 2>/dev/null
done
