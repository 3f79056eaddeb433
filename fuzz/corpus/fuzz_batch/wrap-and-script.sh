#!/bin/sh
#SBATCH --wrap=hostname -G 1
