#!/bin/sh
#FLEET --gpus 8 --time 1:00:00 -J "my job"
#SBATCH -t30 --pool='h100|h200'  # a comment
#SBATCH --job-name="a \"quoted\" b" -q'hi'
#SBATCH   --hold	--array=0-3%2
#SBATCH --chdir /with\ space -o out\\file -e 'it''s'
#SBATCH -H -d singleton
true
