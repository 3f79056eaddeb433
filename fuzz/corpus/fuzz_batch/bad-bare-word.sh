#!/bin/bash
#SBATCH gpus=8
