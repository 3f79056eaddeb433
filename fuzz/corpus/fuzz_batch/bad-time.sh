#!/bin/bash
#SBATCH -N 2

#SBATCH --time=abc
srun x
