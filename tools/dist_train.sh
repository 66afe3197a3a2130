#!/usr/bin/env bash
# Distributed training through mmengine's own launcher:
#   bash tools/dist_train.sh CONFIG NUM_PROCS [train.py options ...]
# Works on GPU machines (NCCL) and CPU-only machines (gloo, see
# l2t_mm/utils/launch.py).
set -euo pipefail
CONFIG=$1
NPROC=$2
shift 2
PORT=${PORT:-29500}
exec python -m torch.distributed.run --nproc_per_node="$NPROC" \
    --master_port="$PORT" "$(dirname "$0")/train.py" "$CONFIG" \
    --launcher pytorch "$@"
