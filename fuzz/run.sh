#!/usr/bin/env bash
# Builds and runs llmport's fuzz targets with the STABLE toolchain: libfuzzer-sys links
# libFuzzer, and the RUSTFLAGS below add the same SanitizerCoverage instrumentation that
# `cargo fuzz` adds (which needs nightly only for -Zsanitizer; no sanitizer is needed for
# safe Rust). `--target` keeps the flags off build scripts and proc macros.
#
#   fuzz/run.sh build                      build every target
#   fuzz/run.sh seed                       write seed corpora from the transcripts
#   fuzz/run.sh run TARGET [ARGS...]       fuzz TARGET (seeds first), extra args go to libFuzzer
#                                          e.g. fuzz/run.sh run sse -runs=10000000
#   fuzz/run.sh regress                    replay fuzz/regressions/TARGET-* (crashes once found)
#   fuzz/run.sh list                       the targets
set -euo pipefail
FUZZ=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$FUZZ/.." && pwd)
HOST=$(rustc -vV | sed -n 's/^host: //p')
TARGETS=(sse ndjson chat_stream native_chat native_generate progress tool_calls headers messages_stream responses_stream)
# Where cargo puts the binaries: CARGO_TARGET_DIR when set (a shared machine's own target
# directory), fuzz/target otherwise.
BIN="${CARGO_TARGET_DIR:-$FUZZ/target}/$HOST/release"
export RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares -Cdebug-assertions -Coverflow-checks"

build() {
  cargo build --manifest-path "$FUZZ/Cargo.toml" --release --target "$HOST" --bins
}

seed() {
  python3 - "$ROOT/crates/llmport/tests/fixtures" "$FUZZ/corpus" <<'PY'
import json, os, sys
fixtures, corpus = sys.argv[1], sys.argv[2]
def payload(v):
    return v if isinstance(v, str) else json.dumps(v, separators=(",", ":"), ensure_ascii=False)
def write(target, name, body):
    d = os.path.join(corpus, target)
    os.makedirs(d, exist_ok=True)
    # Two control bytes (line limit: default; cut points: none), then the body.
    with open(os.path.join(d, name), "wb") as f:
        f.write(b"\x00\x00" + body)
n = 0
for file in sorted(os.listdir(fixtures)):
    if not file.endswith(".json"):
        continue
    t = json.load(open(os.path.join(fixtures, file)))
    r, case = t["response"], t["case"]
    if "raw_body" in r:
        body = r["raw_body"].encode()
    elif "sse_events" in r:
        body = "".join(("event: " + e["event"] + "\n" if e.get("event") else "")
                       + "data: " + payload(e["data"]) + "\n\n" for e in r["sse_events"]).encode()
    elif "ndjson_lines" in r:
        body = "".join(payload(l) + "\n" for l in r["ndjson_lines"]).encode()
    else:
        continue
    if b"data:" in body:
        write("sse", case, body)
        # Each typed-event API's decoder gets its own transcripts; Chat Completions the rest.
        if case.startswith("anthropic_"):
            write("messages_stream", case, body)
        elif "_responses_" in case:
            write("responses_stream", case, body)
        else:
            write("chat_stream", case, body)
    else:
        write("ndjson", case, body)
        write("native_generate" if case.startswith("native_generate") else "native_chat", case, body)
        if case.startswith(("native_pull", "native_push", "native_create")):
            # Progress reports of a pull, push or create.
            write("progress", case, body)
    n += 1
print(f"seeded {n} transcripts into {corpus}")
PY
  mkdir -p "$FUZZ/corpus/tool_calls"
}

case "${1:-}" in
  build) build ;;
  seed) seed ;;
  list) printf '%s\n' "${TARGETS[@]}" ;;
  regress)
    for t in "${TARGETS[@]}"; do
      inputs=("$FUZZ"/regressions/"$t"-*)
      [ -e "${inputs[0]}" ] || continue
      out=$("$BIN/$t" "${inputs[@]}" 2>&1) || { echo "$out" | tail -40; exit 1; }
      echo "$out" | grep -E '^Executed' || true
    done
    ;;
  run)
    target=${2:?target}; shift 2
    build
    [ -d "$FUZZ/corpus/$target" ] || seed
    mkdir -p "$FUZZ/artifacts/$target"
    exec "$BIN/$target" "$FUZZ/corpus/$target" \
      -artifact_prefix="$FUZZ/artifacts/$target/" -print_final_stats=1 "$@"
    ;;
  *) sed -n '2,14p' "$0"; exit 2 ;;
esac
