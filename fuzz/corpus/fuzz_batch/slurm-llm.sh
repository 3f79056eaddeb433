#!/bin/bash
#SBATCH --job-name=llama-pretrain
#SBATCH --account=proj-llm
#SBATCH -p h100
#SBATCH -N 4
#SBATCH --ntasks-per-node=8
#SBATCH --gres=gpu:8
#SBATCH --cpus-per-gpu=12
#SBATCH --mem-per-gpu=80G
#SBATCH --time=2-00:00:00
#SBATCH --output=logs/%x-%j.out
#SBATCH --mail-type=END,FAIL
#SBATCH --exclusive
#SBATCH --export=ALL,NCCL_DEBUG=INFO
#SBATCH --dependency=afterok:1001

module load cuda/12.4
#SBATCH --time=1:00:00
srun python train.py
