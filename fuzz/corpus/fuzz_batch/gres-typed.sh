#!/bin/sh
#SBATCH --gres=gpu:h100:4 --gpus=8 --nodes=2
x
