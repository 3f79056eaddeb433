#!/bin/sh
#SBATCH --export=A=1,B=x=y --mem=0 --mail-user=a@b -C ib
#SBATCH -t 1-12:30 --mem-per-gpu=1024K -G1
