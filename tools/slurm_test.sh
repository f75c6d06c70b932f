#!/usr/bin/env bash
# Testing on a Slurm cluster.
#   tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [test.py options]
set -x
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
CHECKPOINT=$4
PY_ARGS=${@:5}
source "$(dirname "$0")/launch_lib.sh"

# PY_ARGS unquoted: the options are passed on split into words.
slurm_launch "${PARTITION}" "${JOB_NAME}" test.py "${CONFIG}" "${CHECKPOINT}" \
    --launcher="slurm" ${PY_ARGS}
