#!/bin/bash
#SBATCH -d afterok:1?afterok:2 --array=5-3
