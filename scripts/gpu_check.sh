#!/usr/bin/env bash
# GPU readiness in one command (at most ~8 minutes on one NVIDIA GPU):
#   1. install crlx with the cuda extra into a fresh venv
#   2. a GPU smoke subset of the tests (energies under the GPU's default float32 matmul precision,
#      losses, buffer, the fused epoch, config)
#   3. scripts/benchmark.py on ant at 256 and 1024 envs, crlx's default schedule and JaxGCRL's
#      (configs/jaxgcrl.yaml, updates_per_iteration = num_envs * 1000 / 256)
#   4. a short ant training run
# Writes $OUT/gpu_check.json (every figure) and $OUT/gpu_check.md (a summary). OUT defaults to ./gpu_check.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-gpu_check}"
mkdir -p "$OUT"
LOG="$OUT/gpu_check.log"
: > "$LOG"
step() { echo "== $* ($(date -u +%H:%M:%S))" | tee -a "$LOG"; }

step install
python3 -m venv "$OUT/venv" >>"$LOG" 2>&1
# shellcheck disable=SC1091
source "$OUT/venv/bin/activate"
pip install -q --upgrade pip >>"$LOG" 2>&1
pip install -q -e ".[dev,cuda]" >>"$LOG" 2>&1 || { echo "install failed, see $LOG"; exit 1; }
python -c "import jax; print(jax.devices())" | tee -a "$LOG"

step "smoke tests"
timeout 150 pytest -q -p no:cacheprovider tests/test_energy.py tests/test_contrastive.py tests/test_config.py \
  tests/test_agent.py -k "not learns and not bfloat16" --junitxml="$OUT/tests.xml" >>"$LOG" 2>&1
TESTS_RC=$?

step benchmarks
for envs in 256 1024; do
  timeout 100 python scripts/benchmark.py --env ant --num_envs "$envs" --epochs 3 --iterations_per_epoch 2 \
    --sample_calls 200 --sample_repeats 2 --json "$OUT/bench_crlx_$envs.json" >>"$LOG" 2>&1
  timeout 120 python scripts/benchmark.py --env ant --num_envs "$envs" --epochs 3 --iterations_per_epoch 2 \
    --sample_calls 200 --sample_repeats 2 --json "$OUT/bench_jaxgcrl_$envs.json" -- --config configs/jaxgcrl.yaml \
    --updates_per_iteration $((envs * 1000 / 256)) >>"$LOG" 2>&1
done

step "short ant training"
timeout 120 python -m crlx.train --env ant --num_envs 1024 --total_env_steps 2000000 --num_epochs 4 \
  --log.run_dir "$OUT/runs" --log.run_name ant --log.progress False --checkpoint.every 0 >>"$LOG" 2>&1
TRAIN_RC=$?

step summary
TESTS_RC=$TESTS_RC TRAIN_RC=$TRAIN_RC OUT="$OUT" python - <<'PY' | tee -a "$LOG"
import json, os, pathlib, datetime, jax
out = pathlib.Path(os.environ["OUT"])
result = {"date": datetime.date.today().isoformat(), "device": str(jax.devices()[0]), "jax": jax.__version__,
          "tests_exit": int(os.environ["TESTS_RC"]), "train_exit": int(os.environ["TRAIN_RC"]), "benchmarks": {}}
for path in sorted(out.glob("bench_*.json")):
    r = json.loads(path.read_text())
    result["benchmarks"][path.stem] = {"fused_env_steps_per_s": r["fused"]["env_steps_per_s"],
                                       "fused_updates_per_s": r["fused"]["updates_per_s"],
                                       "compile_s": r["fused"]["compile_s"]}
metrics = out / "runs" / "ant" / "metrics.jsonl"
if metrics.exists():
    rows = [json.loads(line) for line in metrics.read_text().splitlines()]
    result["train"] = [{k: row[k] for k in ("env_steps", "eval/success") if k in row} for row in rows]
(out / "gpu_check.json").write_text(json.dumps(result, indent=2))
lines = [f"# GPU check {result['date']} on {result['device']} (jax {result['jax']})", "",
         f"tests exit {result['tests_exit']}, training exit {result['train_exit']}", "",
         "| benchmark | fused env steps/s | updates/s | compile s |", "|---|---|---|---|"]
for name, b in result["benchmarks"].items():
    lines.append(f"| {name} | {b['fused_env_steps_per_s']:,.0f} | {b['fused_updates_per_s']:,.0f} | {b['compile_s']:.1f} |")
(out / "gpu_check.md").write_text("\n".join(lines) + "\n")
print("\n".join(lines))
PY
