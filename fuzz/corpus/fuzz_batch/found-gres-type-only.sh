#!/bin/s
#SBATCH --gres=gpu:hs
