#!/bin/sh
#SBATCH --gpus=12 --gpus-per-node=8
true
