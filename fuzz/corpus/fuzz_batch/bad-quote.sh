#!/bin/bash
#SBATCH --job-name="abc
