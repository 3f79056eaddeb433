#!/bin/sh
#SBATCH -J x
ÿ
