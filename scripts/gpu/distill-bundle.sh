#!/usr/bin/env bash
# The distill command line inside gpu-bundle/ (made by scripts/gpu-bundle.sh). Finds libtorch in the
# machine's Python PyTorch unless PYTORCH_LIBRARY_PATH is set, and tells DJL its version and flavour.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ -z "${PYTORCH_LIBRARY_PATH:-}" ]; then
  read -r version cuda lib < <("${PYTHON:-python3}" -c 'import os, torch
print(torch.__version__.split("+")[0], (torch.version.cuda or "").replace(".", "") or "-",
      os.path.join(os.path.dirname(torch.__file__), "lib"))') || {
    echo "distill: no PyTorch found with ${PYTHON:-python3}; set PYTORCH_LIBRARY_PATH, PYTORCH_VERSION and PYTORCH_FLAVOR" >&2
    exit 2
  }
  export PYTORCH_LIBRARY_PATH="$lib" PYTORCH_VERSION="$version"
  if [ "$cuda" = "-" ]; then export PYTORCH_FLAVOR=cpu; else export PYTORCH_FLAVOR="cu$cuda"; fi
fi
: "${PYTORCH_VERSION:?set PYTORCH_VERSION to the libtorch version in PYTORCH_LIBRARY_PATH, e.g. 2.7.1}"
: "${PYTORCH_FLAVOR:?set PYTORCH_FLAVOR, e.g. cpu or cu128}"
export DJL_CACHE_DIR="${DJL_CACHE_DIR:-$here/cache}"
if [ -f "$here/jni/libdjl_torch.so" ]; then
  # Where DJL looks first for a JNI library matching this libtorch (ai.djl.pytorch.jni.LibUtils).
  dir="$DJL_CACHE_DIR/pytorch/$PYTORCH_VERSION-$PYTORCH_FLAVOR-linux-x86_64"
  mkdir -p "$dir"
  cp "$here/jni/libdjl_torch.so" "$dir/@DJL_VERSION@-libdjl_torch.so"
fi
. "$here/native-env.sh"
exec "$here/jre/bin/java" ${DISTILL_JAVA_OPTS:--Xmx8g} -Dai.djl.offline=true \
  -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
  -cp "$here/distill4j.jar:$here/lib/*" org.distill4j.cli.DistillCli "$@"
