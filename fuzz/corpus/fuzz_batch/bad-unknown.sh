#!/bin/bash
#SBATCH --frob=1
