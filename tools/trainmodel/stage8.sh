#!/bin/bash
# Stage 8 of the default model, as run on a machine with four GPUs (from the
# repository root, detached with setsid so that it outlives a 10-minute
# command limit; README.md beside this file): export stage-8 samples, pack
# them once, train four variants from the stage-7 model on four GPUs, then
# evaluate them and the stage-7 model with evalctl (synthetic QA, seed 3).
#
#   git show 76095cc:datasets/models/default/model.safetensors > /tmp/s7/model.safetensors
#   (and config.json, tokenizer.json the same way), then
#   INIT=/tmp/s7 setsid bash tools/trainmodel/stage8.sh > /tmp/job.log 2>&1 &
#
# INIT is the stage-7 model (the default model up to commit 76095cc); its
# tokenizer is the one of datasets/models/default.
set -u
M=${M:-19}
INIT=${INIT:?INIT: directory of the stage-7 model}
T0=$(date +%s); stamp() { echo "[$(( $(date +%s) - T0 ))s] $*"; }
E=tools/trainmodel/bin/evalctl
stamp export
$E datasets export tools/trainmodel/train-suite-stage8.yaml --tokenizer datasets/models/default --bos 1 --out /tmp/s8.jsonl 2>/tmp/exp.log
tail -1 /tmp/exp.log; wc -l /tmp/s8.jsonl; ls -la /tmp/s8.jsonl
stamp pack
python3 tools/trainmodel/train.py pack --data /tmp/s8.jsonl --tokenizer datasets/models/default/tokenizer.json --out /tmp/s8.pt
stamp train
run() { # name gpu args...
  local n=$1 g=$2; shift 2
  mkdir -p /tmp/$n
  CUDA_VISIBLE_DEVICES=$g python3 tools/trainmodel/train.py train --data /tmp/s8.pt --tokenizer datasets/models/default/tokenizer.json \
    --out /tmp/$n --init $INIT --minutes $M --prompt-weight 0.02 --warmup 100 --eval-every 2000 --final-eval 0 \
    --bucket-weights 512:1,1024:1.5,2048:1.5,4096:1.5,8192:1.5,16384:1.5,32768:1.5 "$@" >/tmp/$n/train.log 2>&1
  echo "$n rc=$? $(stamp)"
}
run A 0 --lr 1e-3 --seed 41 &
run B 1 --lr 1e-3 --seed 42 --layers 6 --grow 0,1,1,2,3,3 &
run C 2 --lr 1e-3 --seed 43 --layers 8 --grow 0,0,1,1,2,2,3,3 &
run D 3 --lr 2e-3 --seed 44 --layers 6 --grow 0,1,1,2,3,3 &
wait
stamp eval
cat > /tmp/sel.yaml <<Y
name: sel
seed: 3
samples: 2
lengths: [1K, 4K, 16K, 32K]
depths: {count: 5}
backends:
  - {name: model, label: base, params: {path: $INIT, attention: dense}}
  - {name: model, label: A, params: {path: /tmp/A, attention: dense}}
  - {name: model, label: B, params: {path: /tmp/B, attention: dense}}
  - {name: model, label: C, params: {path: /tmp/C, attention: dense}}
  - {name: model, label: D, params: {path: /tmp/D, attention: dense}}
tasks:
  - {name: qa, params: {source: synthetic, hops: 1}}
  - {name: qa, params: {source: synthetic, hops: 2}}
Y
$E run /tmp/sel.yaml --out /tmp/ev --run-id sel -q --workers 64 > /tmp/ev.log 2>&1
stamp evaldone
mkdir -p /tmp/out
for n in A B C D; do tar -C /tmp -cf /tmp/out/$n.tar $n; done
cp /tmp/ev/sel/report.md /tmp/out/sel-report.md; cp /tmp/ev.log /tmp/out/
tar -C /tmp/ev -cf /tmp/out/sel.tar sel/manifest.json $(cd /tmp/ev && ls sel/records* )
stamp done
touch /tmp/DONE
