#!n
#SBATCH !