#!/usr/bin/env bash
# Provides what the local engine's image tests run: SmolLM2-135M-Instruct (through
# scripts/fetch-smollm2.sh) and a tiny vision projector for it, made here by
# scripts/make-tiny-projector.py (no registry this project may use ships a vision model with
# a projector; the weights are deterministic nonsense, enough to test the plumbing).
# Idempotent; the projector's sha256 is checked, so a changed generator is noticed.
#
#   scripts/fetch-vision.sh   → .cache/models/tiny-projector-smollm2-135m.gguf
#   LLMPORT_MODELS_DIR=/some/dir scripts/fetch-vision.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/scripts/checked-install.sh"
DIR=${LLMPORT_MODELS_DIR:-$ROOT/.cache/models}
OUT=$DIR/tiny-projector-smollm2-135m.gguf
SHA256=913de60de2bdd61ee6448698065f2857e6740997f38bdc8426445ba92147b554
PY=${PYTHON:-python3}

"$ROOT/scripts/fetch-smollm2.sh" >/dev/null
if [ -f "$OUT" ] && [ "$(sha256sum "$OUT" | cut -d' ' -f1)" = "$SHA256" ]; then
  echo "$OUT (already there)"
  exit 0
fi
mkdir -p "$DIR"
"$PY" "$ROOT/scripts/make-tiny-projector.py" "$OUT.tmp"
checked_install fetch-vision "$OUT.tmp" "$OUT" "$SHA256"
