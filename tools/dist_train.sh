#!/usr/bin/env bash
# Distributed training through torchrun.
#   tools/dist_train.sh CONFIG NUM_PROCESSES [train.py options]
# Multi-node: set NNODES, NODE_RANK, MASTER_ADDR and PORT on every node.
# On CPU-only machines the processes use the gloo backend (env_cfg.dist_cfg).
set -e
CONFIG=$1
NPROC=$2
source "$(dirname "$0")/launch_lib.sh"

dist_launch "${NPROC}" train.py "${CONFIG}" --launcher pytorch "${@:3}"
