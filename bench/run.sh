#!/usr/bin/env bash
# Measures llmport beside the benchmark harness's anchors (the hand-written floors, async-openai,
# genai, ollama-rs, the raw wire) in one run of the harness's own scripts/bench.py, on Ollama's
# OpenAI-compatible /v1 (SSE) and its native /api/chat (NDJSON). See bench/README.md.
#
#   bench/run.sh [HARNESS_DIR] [bench.py options...]
#
# HARNESS_DIR: the harness folder (default: ../shared/bench beside the repository). It is only
# read: it is copied into a work folder, a thin `clients/llmport` (and `clients/llmport-allocs`)
# that depends on this repository's bench/client-llmport by absolute path is added there, and
# the copy's scripts/bench.py runs. Options go to bench.py, e.g. `--split-check-only`,
# `--runs 3`, `--scenarios stream`, `--clients client-llmport,client-genai`, `--no-build`,
# `--api native`. Without `--api`, both APIs run (`--api openai,native`): the /v1 matrix, the
# native matrix (llmport beside `client-limit --api native`, the native floor, and ollama-rs),
# and the split check of each.
#
# After a measuring run (not with --split-check-only or --print-commands) three extra passes
# run against the same kind of server, for each API of the run, unless LLMPORT_BENCH_EXTRAS=0:
#   1. allocations per chunk / per request (client built with the counting allocator);
#   2. peak RSS of a 1M-chunk stream with a consumer spending 20 µs per item, on the
#      multi-thread and the current-thread runtime (llmport and the floor; ollama-rs too on
#      the native API);
#   3. bench.py again on a current-thread runtime (BENCH_RT=current), llmport (and ollama-rs,
#      native) paired with the floor (3 runs).
#
# Environment:
#   BENCH_TARGET_DIR  cargo target folder for the harness build, kept between runs so that
#                     async-openai and genai (minutes to build) are built once
#                     (default: target/bench-harness in this repository)
#   BENCH_WORK        work folder (default: a new temporary one)
#   BENCH_PORT        port of the extra passes' server (default 8797)
#   LLMPORT_BENCH_EXTRAS=0  skip the extra passes
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
harness="$repo/../shared/bench"
if [[ $# -gt 0 && "$1" != -* ]]; then
    harness="$1"
    shift
fi
[[ -f "$harness/scripts/bench.py" ]] || { echo "no harness at $harness (scripts/bench.py missing)" >&2; exit 2; }
harness="$(cd "$harness" && pwd)"

work="${BENCH_WORK:-$(mktemp -d -t llmport-bench.XXXXXX)}"
target="${BENCH_TARGET_DIR:-$repo/target/bench-harness}"
port="${BENCH_PORT:-8797}"
mkdir -p "$work" "$target"

# The harness, without any build output or earlier results of its own.
tar -C "$harness" --exclude=./target --exclude=./results -cf - . | tar -C "$work" -xf -
rm -rf "$work/target"
ln -s "$target" "$work/target"

client="$repo/bench/client-llmport"
thin() { # thin NAME BIN FEATURES: a harness client package that runs llmport's bench client
    mkdir -p "$work/clients/$1/src"
    cat >"$work/clients/$1/Cargo.toml" <<EOF
[package]
name = "$1"
version = "0.1.0"
edition.workspace = true
publish.workspace = true
description = "llmport (added by llmport's bench/run.sh: the client lives in $client)"

[[bin]]
name = "$2"
path = "src/main.rs"

[dependencies]
llmport-bench-client = { path = "$client", features = [$3] }

# The APIs scripts/bench.py may run this binary with (--api).
[package.metadata.bench.apis]
$2 = ["openai", "native"]
EOF
    cat >"$work/clients/$1/src/main.rs" <<'EOF'
fn main() {
    llmport_bench_client::main("llmport")
}
EOF
}
thin client-llmport client-llmport ''
# Not named client-*: bench.py builds it (every package under clients/) but does not time it.
thin llmport-allocs llmport-allocs '"count-allocs"'

# The APIs of this run: bench.py's --api if given, both otherwise.
apis=""
measuring=1
prev=""
for a in "$@"; do
    case "$a" in
    --split-check-only | --print-commands) measuring=0 ;;
    --api=*) apis="${a#--api=}" ;;
    esac
    [[ "$prev" == --api ]] && apis="$a"
    prev="$a"
done
api_arg=()
if [[ -z "$apis" ]]; then
    apis="openai,native"
    api_arg=(--api "$apis")
fi

cd "$work"
echo "== harness copy: $work (target: $target; --api $apis)"
python3 scripts/bench.py "${api_arg[@]}" "$@"

[[ "$measuring" == 1 && "${LLMPORT_BENCH_EXTRAS:-1}" != 0 ]] || exit 0

bin="$work/target/release"
extras="$work/results/llmport-extras.txt"
mkdir -p "$work/results"
"$bin/sse-server" --addr "127.0.0.1:$port" --prerender-api "$apis" --exit-after 3600 2>/dev/null &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do
    if python3 -c "import socket,sys; s=socket.create_connection(('127.0.0.1',$port),1); s.sendall(b'GET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n'); sys.exit(0 if s.recv(64).startswith(b'HTTP/1.1 200') else 1)" 2>/dev/null; then
        break
    fi
    sleep 0.2
done
srv="http://127.0.0.1:$port"

IFS=, read -r -a api_list <<<"$apis"
{
    for api in "${api_list[@]}"; do
        echo "## --api $api: allocations (counting global allocator; allocations + reallocations while the work ran, per item)"
        for args in "stream --n 1000000 --write 65536" "stream --n 1000000 --write event" \
            "batch --requests 20000 --concurrency 64"; do
            for rt in multi current; do
                echo "rt=$rt $args: $(BENCH_RT=$rt "$bin/llmport-allocs" $args --api "$api" --server "$srv" | tail -1)"
            done
        done
        echo
        echo "## --api $api: slow consumer: 1M chunks, 64 KiB frames, 20 µs of CPU per item (GNU time %M = peak RSS)"
        clients=(client-llmport client-limit)
        [[ "$api" == native ]] && clients+=(client-ollama-rs)
        for rt in multi current; do
            for c in "${clients[@]}"; do
                if [[ -x /usr/bin/time ]]; then
                    BENCH_RT=$rt /usr/bin/time -f "rt=$rt $c peak_rss_kib=%M cpu_s=%U+%S wall_s=%e" \
                        "$bin/$c" stream --n 1000000 --write 65536 --consume-us 20 --api "$api" \
                        --server "$srv" 2>&1 | tail -2 | tr '\n' ' '
                    echo
                fi
            done
        done
        echo
    done
} | tee "$extras"
kill "$server" 2>/dev/null || true
wait "$server" 2>/dev/null || true

# ollama-rs speaks only the native API: bench.py skips it (and says so) for --api openai.
echo "== current-thread runtime (BENCH_RT=current), llmport (and ollama-rs) paired with the floor"
BENCH_RT=current python3 scripts/bench.py --no-build --no-split-check --runs 3 --api "$apis" \
    --clients client-llmport,client-ollama-rs --out "$work/results/current-thread"
echo "== results in $work/results"
