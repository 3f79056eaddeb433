#!/bin/bash
#SBATCH --gpus=2
#SBATCH -a 1,3,5-7
srun x