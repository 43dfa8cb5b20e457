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

echo "==> llmport LocalEngine ($PROFILE build, $THREADS threads, $RUNS runs)"
flag=(); [ "$PROFILE" = release ] && flag=(--release)
(cd "$ROOT" && cargo build -q "${flag[@]}" -p llmport --features local --example local_bench)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
"$TARGET/$PROFILE/examples/local_bench" "$MODEL" "$THREADS" "$RUNS" | tee /tmp/llmport-local-bench.jsonl

echo "==> llama-server (same GGUF, -t $THREADS, -np 1, -c 2048, no prompt cache)"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$SERVER" -m "$MODEL" -t "$THREADS" -tb "$THREADS" -np 1 -c 2048 --port "$PORT" --host 127.0.0.1 \
  --jinja >/tmp/llmport-local-bench-server.log 2>&1 &
SPID=$!
trap 'kill $SPID 2>/dev/null || true' EXIT
python3 - "$PORT" "$SPID" "$RUNS" <<'PY'
import json, sys, time, urllib.request, statistics
port, pid, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
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
chat(count, 8).read()  # warm-up
pp, tg, ttft, cpt = [], [], [], []
for run in range(runs):
    r = json.loads(chat(long, 1).read())
    pp.append(r["timings"]["prompt_per_second"])
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
    tg.append(timings["predicted_per_second"]); ttft.append(first * 1000)
    cpt.append((cpu() - c0) * 1000 / n)
    print(json.dumps({"run": run, "prompt_tokens": r["timings"]["prompt_n"], "pp_tps": round(pp[-1], 1),
                      "gen_tokens": n, "tg_tps": round(tg[-1], 1), "ttft_ms": round(ttft[-1], 1),
                      "cpu_ms_per_token": round(cpt[-1], 2)}))
rss = [l for l in open(f"/proc/{pid}/status") if l.startswith("VmHWM:")][0].split()[1]
print(json.dumps({"median": True, "pp_tps": round(statistics.median(pp), 1),
                  "tg_tps": round(statistics.median(tg), 1), "ttft_ms": round(statistics.median(ttft), 1),
                  "cpu_ms_per_token": round(statistics.median(cpt), 2),
                  "peak_rss_mb": round(int(rss) / 1024, 1)}))
PY
