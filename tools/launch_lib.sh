# Sourced by tools/dist_{train,test}.sh and tools/slurm_{train,test}.sh:
# the torchrun and srun command lines they share. Not a command of its own.
# The tools and the repository are found from "$0", the sourcing script.

# dist_launch NPROC SCRIPT [ARGS...]: run tools/SCRIPT ARGS... in NPROC
# processes per node through torchrun. Multi-node: NNODES, NODE_RANK,
# MASTER_ADDR and PORT; PYTHON names the interpreter.
dist_launch() {
    local nproc=$1 script=$2
    shift 2
    NNODES=${NNODES:-1}
    NODE_RANK=${NODE_RANK:-0}
    PORT=${PORT:-29500}
    MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
    PYTHON=${PYTHON:-python}

    PYTHONPATH="$(dirname "$0")/..":${PYTHONPATH} \
    "${PYTHON}" -m torch.distributed.run \
        --nnodes="${NNODES}" \
        --node_rank="${NODE_RANK}" \
        --master_addr="${MASTER_ADDR}" \
        --nproc_per_node="${nproc}" \
        --master_port="${PORT}" \
        "$(dirname "$0")/${script}" \
        "$@"
}

# slurm_launch PARTITION JOB_NAME SCRIPT [ARGS...]: run tools/SCRIPT
# ARGS... as a Slurm job step through srun. GPUS (tasks in all),
# GPUS_PER_NODE, CPUS_PER_TASK, SRUN_ARGS (split into words) and PYTHON.
slurm_launch() {
    local partition=$1 job_name=$2 script=$3
    shift 3
    GPUS=${GPUS:-4}
    GPUS_PER_NODE=${GPUS_PER_NODE:-4}
    CPUS_PER_TASK=${CPUS_PER_TASK:-5}
    SRUN_ARGS=${SRUN_ARGS:-""}
    PYTHON=${PYTHON:-python}

    PYTHONPATH="$(dirname "$0")/..":${PYTHONPATH} \
    srun -p "${partition}" \
        --job-name="${job_name}" \
        --gres=gpu:"${GPUS_PER_NODE}" \
        --ntasks="${GPUS}" \
        --ntasks-per-node="${GPUS_PER_NODE}" \
        --cpus-per-task="${CPUS_PER_TASK}" \
        --kill-on-bad-exit=1 \
        ${SRUN_ARGS} \
        "${PYTHON}" -u "$(dirname "$0")/${script}" "$@"
}
