#!/bin/bash
#SBATCH -N 4 --gres=nvme:1
