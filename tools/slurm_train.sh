#!/usr/bin/env bash
# Training on a Slurm cluster.
#   [GPUS=8 GPUS_PER_NODE=8 CPUS_PER_TASK=5 SRUN_ARGS=...] \
#   tools/slurm_train.sh PARTITION JOB_NAME CONFIG [train.py options]
set -x
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
PY_ARGS=${@:4}
source "$(dirname "$0")/launch_lib.sh"

# PY_ARGS unquoted: the options are passed on split into words.
slurm_launch "${PARTITION}" "${JOB_NAME}" train.py "${CONFIG}" \
    --launcher="slurm" ${PY_ARGS}
