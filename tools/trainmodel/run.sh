#!/bin/bash
# The whole training pipeline of the default model, as run on one GPU
# machine (see README.md). Usage, from the repository root:
#   bash tools/trainmodel/run.sh OUTDIR MINUTES [EVALCTL]
# EVALCTL is an evalctl binary for the machine (default: go run).
set -euo pipefail
OUTD=${1:?OUTDIR}
MINUTES=${2:-6}
EVALCTL=${3:-"go run ./cmd/evalctl"}
mkdir -p "$OUTD/model"
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 ))s] $*"; }

# 1. Text for the tokenizer: samples fitted with a bootstrap tokenizer.
stamp "export tokenizer text"
$EVALCTL datasets export ${TOK_SUITE:-tools/trainmodel/tokenizer-suite.yaml} \
  --tokenizer testdata/refmodels/tokenizers/bytelevel-gpt2/tokenizer.json \
  --out "$OUTD/tok.jsonl" 2> "$OUTD/export-tok.log" || true
stamp "train tokenizer"
python3 tools/trainmodel/train.py tokenizer --data "$OUTD/tok.jsonl" --vocab 4096 --out "$OUTD/model"

# 2. Training samples fitted with the model's own tokenizer (BOS counted).
#    Cells that cannot land in the 1% window at the shortest lengths are
#    reported and skipped (export exits 3 then).
stamp "export training samples"
$EVALCTL datasets export ${TRAIN_SUITE:-tools/trainmodel/train-suite.yaml} \
  --tokenizer "$OUTD/model/tokenizer.json" --bos 1 \
  --out "$OUTD/train.jsonl" 2> "$OUTD/export-train.log" || true
tail -1 "$OUTD/export-train.log"
wc -l "$OUTD/train.jsonl"

# 3. Train.
stamp "train model"
python3 tools/trainmodel/train.py train --data "$OUTD/train.jsonl" \
  --tokenizer "$OUTD/model/tokenizer.json" --out "$OUTD/model" --minutes "$MINUTES"
stamp "done"
