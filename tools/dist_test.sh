#!/usr/bin/env bash
# Distributed testing through torchrun.
#   tools/dist_test.sh CONFIG CHECKPOINT NUM_PROCESSES [test.py options]
# Multi-node: set NNODES, NODE_RANK, MASTER_ADDR and PORT on every node.
set -e
CONFIG=$1
CHECKPOINT=$2
NPROC=$3
source "$(dirname "$0")/launch_lib.sh"

dist_launch "${NPROC}" test.py "${CONFIG}" "${CHECKPOINT}" \
    --launcher pytorch "${@:4}"
