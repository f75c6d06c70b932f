#!/usr/bin/env bash
# One prepared check of mmsmoke on a lent GPU machine: about four minutes on
# an H100 after the device kit's set-up, each step capped, 350 s at most
# (docs/gpu.md):
#   1. env      torch, CUDA, the device, nvidia-smi, the mmcv/mmseg/mmsmoke stack
#   2. tests    the CUDA tests: pytest -k "cuda or triton" on the test files
#               that have GPU tests (the Triton transmission loss file whole)
#   3. bench    benchmark.py --suite transmission (480x480, batch 6) and
#               --suite gpu without the compile mode (512x512, train batch 16,
#               inference batches 1 and 16), soft time budget GPU_CHECK_BUDGET
#   4. compile  benchmark.py --suite gpu, inference eager and compiled only,
#               into compile/ (best effort: the compilation is slow)
# Every step runs under `timeout`; a failed or timed-out step is written down
# and the next step runs; the exit status is 1 if any step failed.
#
# Run from the checkout root on the GPU machine (the `run` tool, carrying
# .device_kit):
#   source .device_kit/setup.sh && bash tools/device/gpu_check.sh
# Results: $OUT/gpu_check.tar.gz (the folder gpu_check/ with every log,
# benchmarks.json/.md, the rows as JSON lines, summary.txt), plus
# $OUT/summary.txt and $OUT/benchmarks.md to read without unpacking. Without
# $OUT they go to ./gpu_check_out/.
#
# Environment:
#   OUT               results folder (default ./gpu_check_out)
#   PYTHON            interpreter (default python3; the GPU machine has no venv)
#   DEVICE            torch device of the benchmarks (default cuda)
#   GPU_CHECK_BUDGET  seconds for the gpu suite in step 3 (default 85)
#   GPU_CHECK_QUICK=1 tiny sizes and one light model: a check of this script
#                     itself, e.g. on a CPU with DEVICE=cpu (a minute or two)
set -u -o pipefail

if [ ! -f tools/analysis_tools/benchmark.py ] || [ ! -f mmsmoke/__init__.py ]; then
    echo "gpu_check.sh: run this from the root of an mmsmoke checkout (the" \
        "folder holding mmsmoke/ and tools/), e.g." \
        "'cd /path/to/mmsmoke && bash tools/device/gpu_check.sh';" \
        "the current folder $(pwd) is not one." >&2
    exit 2
fi
for tool in timeout tar; do
    if ! command -v "$tool" > /dev/null; then
        echo "gpu_check.sh: '$tool' is not installed; it is needed" >&2
        exit 2
    fi
done

PY=${PYTHON:-python3}
DEVICE=${DEVICE:-cuda}
BUDGET=${GPU_CHECK_BUDGET:-85}
QUICK=${GPU_CHECK_QUICK:-0}
OUT_DIR=${OUT:-./gpu_check_out}
mkdir -p "$OUT_DIR" || { echo "gpu_check.sh: cannot create $OUT_DIR" >&2; exit 2; }
OUT_DIR=$(cd "$OUT_DIR" && pwd)
# The folder that is tarred lives outside $OUT: only the archive and two
# small files come back (the device tool returns at most 8 files).
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gpu_check.XXXXXX")
RESULTS=$WORK/gpu_check
mkdir -p "$RESULTS/compile"
SUMMARY=$RESULTS/summary.txt
FAILED=0
T0=$(date +%s)

say() { echo "[gpu-check $(( $(date +%s) - T0 ))s] $*"; }

# run_step NAME LIMIT_S OK_CODES COMMAND...: run COMMAND under timeout with
# its output in NAME.log; OK_CODES lists the exit codes that count as passed
# (e.g. "0 5" for pytest, where 5 means no test was selected).
run_step() {
    local name=$1 limit=$2 ok_codes=$3
    shift 3
    local log=$RESULTS/$name.log start rc status took
    start=$(date +%s)
    say "$name (limit ${limit}s): $*"
    echo "\$ $*" > "$log"
    timeout --kill-after=15 "$limit" "$@" >> "$log" 2>&1
    rc=$?
    took=$(( $(date +%s) - start ))
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        status="TIMEOUT (${limit}s) or killed"
    elif [[ " $ok_codes " == *" $rc "* ]]; then
        status="ok (exit $rc)"
    else
        status="FAILED (exit $rc)"
    fi
    case $status in ok*) ;; *) FAILED=$((FAILED + 1)) ;; esac
    printf '%-8s %-22s %4ss  %s\n' "$name" "$status" "$took" "$name.log" >> "$SUMMARY"
    tail -n 8 "$log" | sed "s/^/    [$name] /"
    say "$name: $status in ${took}s"
}

{
    echo "mmsmoke gpu_check, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "commit: $(git rev-parse HEAD 2>/dev/null || echo unknown)"
    echo "device: $DEVICE, quick: $QUICK, gpu suite budget: ${BUDGET}s"
    echo
} > "$SUMMARY"

# 1. environment
run_step env 60 "0" "$PY" -c "
import platform, subprocess, torch
print('python', platform.python_version(), '| torch', torch.__version__,
      '| CUDA', torch.version.cuda, '| cuDNN', torch.backends.cudnn.version())
print('cuda available:', torch.cuda.is_available(), '| devices:',
      torch.cuda.device_count())
for i in range(torch.cuda.device_count()):
    p = torch.cuda.get_device_properties(i)
    print(f'device {i}: {p.name}, {p.total_memory / 2**30:.1f} GiB, '
          f'capability {p.major}.{p.minor}, bf16',
          torch.cuda.is_bf16_supported())
try:
    print(subprocess.run(['nvidia-smi'], capture_output=True, text=True,
                         timeout=20).stdout)
except (OSError, subprocess.SubprocessError) as err:
    print('nvidia-smi:', err)
import mmcv, mmengine, mmseg, mmsmoke
print('mmcv', mmcv.__version__, '| mmengine', mmengine.__version__,
      '| mmseg', mmseg.__version__, '| mmsmoke', mmsmoke.__version__)
try:
    import triton
    print('triton', triton.__version__)
except ImportError:
    print('triton: not installed')
"
cat "$RESULTS/env.log"

# 2. CUDA tests: the files that hold GPU tests; -k selects the tests whose
# name (or file name) says cuda or triton.
TEST_FILES=()
for f in tests/test_models/test_losses/test_transmission_coherence_triton.py \
         tests/test_models/test_losses/test_transmission_coherence_loss.py \
         tests/test_models/test_losses/test_numeric_safety.py \
         tests/test_tools/test_benchmark_gpu.py \
         tests/test_engine/test_speed.py; do
    if [ -f "$f" ]; then
        TEST_FILES+=("$f")
    else
        echo "tests: $f not in this checkout" >> "$SUMMARY"
    fi
done
if [ ${#TEST_FILES[@]} -gt 0 ]; then
    run_step tests 80 "0 5" "$PY" -m pytest -q -rs -k "cuda or triton" \
        "${TEST_FILES[@]}"
fi

# 3. transmission suite and the gpu suite (no compile)
if [ "$QUICK" = 1 ]; then
    SIZES=(--size 64 --batch 2 --repeats 1 --warmup 0
           --gpu-size 64 --gpu-batch 2 --gpu-steps 1 --gpu-warmup 1
           --gpu-infer-batches 1 2 --gpu-infer-steps 2
           --gpu-train-models fosp_mit-b0 --gpu-infer-models fosp_mit-b0
           --gpu-precisions fp32 bf16 fp16
           --gpu-compile-backend eager)
else
    SIZES=(--size 480 --batch 6 --repeats 5 --warmup 1
           --gpu-size 512 --gpu-batch 16 --gpu-steps 5 --gpu-warmup 2
           --gpu-infer-batches 1 16 --gpu-infer-steps 15)
fi
run_step bench 140 "0" "$PY" tools/analysis_tools/benchmark.py \
    --suite transmission --suite gpu --device "$DEVICE" "${SIZES[@]}" \
    --gpu-infer-modes eager predict cudagraph \
    --gpu-time-budget "$BUDGET" --gpu-rows-jsonl "$RESULTS/gpu_rows.jsonl" \
    --out-dir "$RESULTS"

# 4. compiled inference (eager again, for the ratio in the same process)
run_step compile 70 "0" "$PY" tools/analysis_tools/benchmark.py \
    --suite gpu --device "$DEVICE" "${SIZES[@]}" --gpu-train-models \
    --gpu-infer-modes eager compile --gpu-time-budget 30 \
    --gpu-rows-jsonl "$RESULTS/compile/gpu_rows.jsonl" \
    --out-dir "$RESULTS/compile"

{
    echo
    echo "rows: $(cat "$RESULTS/gpu_rows.jsonl" 2>/dev/null | wc -l) gpu," \
        "$(cat "$RESULTS/compile/gpu_rows.jsonl" 2>/dev/null | wc -l) compile"
    echo "failed steps: $FAILED; total $(( $(date +%s) - T0 ))s"
} >> "$SUMMARY"

tar czf "$OUT_DIR/gpu_check.tar.gz" -C "$WORK" gpu_check \
    || { echo "gpu_check.sh: tar failed" >&2; FAILED=$((FAILED + 1)); }
cp "$SUMMARY" "$OUT_DIR/summary.txt"
[ -f "$RESULTS/benchmarks.md" ] && cp "$RESULTS/benchmarks.md" "$OUT_DIR/benchmarks.md"
rm -rf "$WORK"

echo
cat "$OUT_DIR/summary.txt"
say "results in $OUT_DIR (gpu_check.tar.gz, summary.txt, benchmarks.md)"
[ "$FAILED" -eq 0 ]
