#!/bin/bash
# Render a folder of STL parts as a Slurm job array: each array task renders one shard.
#
#   sbatch --array=0-15 deploy/slurm.sh /data/parts /data/shards \
#       --labels /data/parts/labels.csv --rotations
#   # when every task has finished:
#   python -m blender_addon merge /data/shards/* --out /data/meta_images
#
# `--shard auto` reads the task's index and the array's size from Slurm
# (SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN, SLURM_ARRAY_TASK_COUNT). `merge` names any
# shard that is missing or did not finish, merges nothing and exits 1: run that task again
# (sbatch --array=I deploy/slurm.sh ...) and merge again.
#SBATCH --job-name=milling-render
#SBATCH --cpus-per-task=2
#SBATCH --output=milling-render-%A_%a.log
set -euo pipefail
parts=${1:?usage: sbatch --array=0-N deploy/slurm.sh PARTS_DIR SHARDS_DIR [render options]}
shards=${2:?usage: sbatch --array=0-N deploy/slurm.sh PARTS_DIR SHARDS_DIR [render options]}
shift 2
"${PYTHON:-python}" -m blender_addon render "$parts" --out "$shards/$SLURM_ARRAY_TASK_ID" \
    --shard auto --workers "${SLURM_CPUS_PER_TASK:-1}" --quiet "$@"
