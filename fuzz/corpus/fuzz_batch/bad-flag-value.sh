#!/bin/bash
#SBATCH --hold=yes
