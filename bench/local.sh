#!/usr/bin/env bash
# The in-process engine (feature `local`) beside llama.cpp's own llama-server, on the same
# GGUF, the same thread count, greedy: prompt processing and generation (tokens/s), time to
# first token, peak RSS, CPU per generated token. See bench/README.md ("Local engine").
#
#   bench/local.sh [LLAMA_SERVER] [MODEL.gguf] [THREADS] [RUNS]
#
# LLAMA_SERVER defaults to /opt/realserver/bin/llama-server (what ../shared/tools/realserver
# builds); MODEL to .cache/models/smollm2-135m-instruct-q4_1.gguf (scripts/fetch-smollm2.sh).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SERVER=${1:-/opt/realserver/bin/llama-server}
MODEL=${2:-$ROOT/.cache/models/smollm2-135m-instruct-q4_1.gguf}
THREADS=${3:-2}
RUNS=${4:-5}
PROFILE=${BENCH_PROFILE:-release}
[ -f "$MODEL" ] || "$ROOT/scripts/fetch-smollm2.sh"
[ -x "$SERVER" ] || { echo "no llama-server at $SERVER" >&2; exit 1; }

# llama.cpp is compiled for the CPU features rustc compiles for: without `target-cpu=native`
# llama-cpp-sys-2 turns GGML_NATIVE off, a portable build (AVX2/FMA/F16C) — what a plain
# `cargo build` gives users, and the default here. BENCH_CPU=native adds `-C target-cpu=native`
# (llama.cpp then uses everything the CPU has, AMX included on Sapphire Rapids, which made
# one-token generation ~3× slower on the dev machine: see bench/README.md). Its own target dir,
# so the flag does not rebuild the workspace's.
CPU=${BENCH_CPU:-portable}
[ "$CPU" = native ] && export RUSTFLAGS="${RUSTFLAGS:-} -C target-cpu=native"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target/local-bench-$CPU}
# LOCAL_BENCH_BIN: a `local_bench` already built (skips the build, which is llama.cpp's).
BIN=${LOCAL_BENCH_BIN:-$CARGO_TARGET_DIR/$PROFILE/examples/local_bench}
if [ -z "${LOCAL_BENCH_BIN:-}" ]; then
  flag=(); [ "$PROFILE" = release ] && flag=(--release)
  (cd "$ROOT" && cargo build -q "${flag[@]}" -p llmport --features local --example local_bench)
fi

echo "==> llama-server (same GGUF, -t $THREADS, -np 1, -c 2048, no prompt cache) and llmport's"
echo "    LocalEngine ($PROFILE build, llama.cpp for the $CPU CPU, $THREADS threads), paired: A B A B … ($RUNS pairs)"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$SERVER" -m "$MODEL" -t "$THREADS" -tb "$THREADS" -np 1 -c 2048 --port "$PORT" --host 127.0.0.1 \
  --jinja >/tmp/llmport-local-bench-server.log 2>&1 &
SPID=$!
trap 'kill $SPID 2>/dev/null || true' EXIT
python3 - "$PORT" "$SPID" "$RUNS" "$BIN" "$MODEL" "$THREADS" <<'PY'
import json, subprocess, sys, time, urllib.request, statistics
port, pid, runs, bin_, model, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
base = f"http://127.0.0.1:{port}"
for _ in range(600):
    try:
        if urllib.request.urlopen(base + "/health", timeout=1).status == 200: break
    except Exception: time.sleep(0.1)
paragraph = ("The history of the city goes back many centuries, to a small settlement on "
             "the river where traders met to exchange grain, salt and cloth. ")
long = paragraph * 14 + "\nSummarise the text above in one word."
count = "Count from 1 to 1000, separated by commas."
def cpu():
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / 100.0
def chat(text, n, stream=False):
    body = {"messages": [{"role": "user", "content": text}], "max_tokens": n, "temperature": 0,
            "cache_prompt": False, "stream": stream}
    req = urllib.request.Request(base + "/v1/chat/completions", json.dumps(body).encode(),
                                 {"Content-Type": "application/json"})
    return urllib.request.urlopen(req, timeout=300)
def server_run():
    r = json.loads(chat(long, 1).read())
    c0 = cpu(); t0 = time.perf_counter(); first = None; timings = None
    with chat(count, 128, stream=True) as resp:
        for line in resp:
            line = line.strip()
            if not line.startswith(b"data: ") or line == b"data: [DONE]": continue
            d = json.loads(line[6:])
            ch = d.get("choices") or [{}]
            if first is None and ch[0].get("delta", {}).get("content"):
                first = time.perf_counter() - t0
            if "timings" in d: timings = d["timings"]
    n = timings["predicted_n"]
    return {"pp_tps": r["timings"]["prompt_per_second"], "tg_tps": timings["predicted_per_second"],
            "ttft_ms": first * 1000, "cpu_ms_per_token": (cpu() - c0) * 1000 / n}
def llmport_run():
    out = subprocess.run([bin_, model, threads, "1"], check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])
chat(count, 8).read()  # warm-up
keys = ["pp_tps", "tg_tps", "ttft_ms", "cpu_ms_per_token"]
A, B = [], []
for i in range(runs):
    a = server_run(); b = llmport_run()
    A.append(a); B.append(b)
    print(json.dumps({"pair": i, "llama-server": {k: round(a[k], 2) for k in keys},
                      "llmport": {k: round(b[k], 2) for k in keys + ["peak_rss_mb"]}}))
rss = int([l for l in open(f"/proc/{pid}/status") if l.startswith("VmHWM:")][0].split()[1]) / 1024
med = lambda xs, k: statistics.median(x[k] for x in xs)
ratio = lambda k: statistics.median(b[k] / a[k] for a, b in zip(A, B))
print()
print("| figure | llama-server | llmport LocalEngine | llmport / llama-server (median of pairs) |")
print("|---|---|---|---|")
for k, name in [("pp_tps", "prompt processing, tokens/s"), ("tg_tps", "generation, tokens/s"),
                ("ttft_ms", "time to first token, ms (short prompt)"), ("cpu_ms_per_token", "CPU per generated token, ms")]:
    print(f"| {name} | {med(A, k):.1f} | {med(B, k):.1f} | {ratio(k):.2f} |")
print(f"| peak RSS, MB (model file {__import__('os').path.getsize(model) / 2**20:.0f} MB) | {rss:.0f} | {med(B, 'peak_rss_mb'):.0f} | {med(B, 'peak_rss_mb') / rss:.2f} |")
PY
