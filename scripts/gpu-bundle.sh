#!/usr/bin/env bash
# Builds gpu-bundle/: distill4j for a Linux x86-64 machine that has no Java but has a Python PyTorch
# (the GPU machine lent to some issues; docs/gpu.md). It holds a jlink Java runtime, the project's
# jars without the PyTorch natives and without the bundled model jars (too big to carry: use model
# directories), and a launcher that points DJL at that machine's own libtorch.
#
# Usage: scripts/gpu-bundle.sh [--jni PATH/libdjl_torch.so]
#   --jni  a DJL JNI library built for the target machine's libtorch (docs/gpu.md says how); the
#          launcher installs it where DJL looks for it. Without it, DJL uses the JNI in its jar,
#          which matches only libtorch 2.7.1 (cpu or cu128).
set -euo pipefail
cd "$(dirname "$0")/.."
jni=""
while [ $# -gt 0 ]; do
  case "$1" in
    --jni) jni="$2"; shift 2 ;;
    *) echo "usage: scripts/gpu-bundle.sh [--jni PATH/libdjl_torch.so]" >&2; exit 2 ;;
  esac
done
./distill version >/dev/null   # builds recipes/target/app when the sources are newer
app=recipes/target/app
out=gpu-bundle
djl=$(sed -n 's:.*<djl.version>\(.*\)</djl.version>.*:\1:p' pom.xml | head -1)
rm -rf "$out"
mkdir -p "$out/lib"
# Modules found by jdeps over the jars, less java.desktop (charts, PDF; 20 MB): training, evaluation and
# prediction never load it, and the bundle must stay under the 64 MiB that can be carried.
jlink --add-modules java.base,java.logging,java.management,java.net.http,java.sql,jdk.unsupported \
  --strip-debug --no-header-files --no-man-pages --compress=2 --output "$out/jre"
cp "$app/distill4j.jar" "$out/"
for j in "$app"/lib/*.jar; do
  case "$(basename "$j")" in
    pytorch-native-*|langchain4j-embeddings-*) ;;
    xchart-*|pdfbox-*|fontbox-*|VectorGraphics2D-*|graphics2d-*|animated-gif-lib-*) ;;  # report charts only
    tokenizers-*)   # keep only the linux-x86_64 native of the HuggingFace tokenizers
      python3 - "$j" "$out/lib/$(basename "$j")" <<'PY'
import sys, zipfile
src, dst = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
    for item in zin.infolist():
        n = item.filename
        if n.startswith("native/lib/") and "/linux-x86_64/" not in n and not n.endswith(".properties") \
                and not n.endswith("/"):
            continue
        zout.writestr(item, zin.read(n))
PY
      ;;
    *) cp "$j" "$out/lib/" ;;
  esac
done
if [ -n "$jni" ]; then
  mkdir -p "$out/jni"
  cp "$jni" "$out/jni/libdjl_torch.so"
fi
sed "s/@DJL_VERSION@/$djl/" scripts/gpu/distill-bundle.sh > "$out/distill"
cp scripts/native-env.sh "$out/"
chmod +x "$out/distill"
echo "gpu-bundle: $(du -sh "$out" | cut -f1) ($(du -sh "$out/jre" | cut -f1) runtime, $(du -sh "$out/lib" | cut -f1) jars)" >&2
