#!/usr/bin/env python3
"""Writes reference.jsonl: llama-diffusion-cli's answers for the diffusion reference cases (see README.md here).

usage: make_reference.py DCLI MODEL_F32 WORKLOAD STRIDE > reference.jsonl
  DCLI      llama-diffusion-cli built with llama-diffusion-cli.patch (raw prompt, answer ids to a file)
  MODEL_F32 javatiny-dllm-26m converted to F32 by llama-quantize
  WORKLOAD  ../shared/workloads/java-dev.jsonl (prompts are the last lines of its 'complete' rows)
  STRIDE    the ./stride launcher (to count prompt tokens when picking prompt tails)
"""
import json, os, subprocess, sys, tempfile

dcli, model, workload, stride = sys.argv[1:5]

def count(text):
    out = subprocess.run([stride, "tokenize", "-m", model, "-p", text, "--ids"], capture_output=True, text=True, check=True)
    return len(json.loads(out.stdout.strip().splitlines()[-1]))

def tail(prompt, lo, hi):
    """The longest tail of whole lines with lo <= tokens < hi (BOS included), or None."""
    lines = prompt.rstrip("\n").split("\n")
    best = None
    for k in range(1, len(lines) + 1):
        t = "\n".join(lines[-k:])
        n = count(t)
        if n >= hi:
            break
        if n >= lo:
            best = t
    return best

def run(case):
    with tempfile.NamedTemporaryFile(suffix=".ids") as f:
        args = [dcli, "-m", model, "-p", case["prompt"], "-ub", str(case["ub"]), "-c", str(case["ub"]), "-t", "2",
                "-fa", "off", "--diffusion-steps", str(case["steps"]), "--diffusion-algorithm", str(case["algorithm"]),
                "--temp", str(case["temp"]), "--top-k", str(case["top_k"]), "--top-p", str(case["top_p"]),
                "--seed", str(case["seed"])]
        args += ["--diffusion-block-length", str(case["block_length"])] if case["block_length"] else ["--diffusion-eps", str(case["eps"])]
        env = dict(os.environ, DIFFUSION_RAW_PROMPT="1", DIFFUSION_TOKENS_OUT=f.name)
        subprocess.run(args, env=env, capture_output=True, check=True)
        ids = [int(x) for x in open(f.name).read().split(",")]
    case["command"] = " ".join(a if " " not in a and "\n" not in a else json.dumps(a) for a in args[1:])
    case["answer_ids"] = ids
    return case

rows = [json.loads(l) for l in open(workload)]
complete = [r for r in rows if r["kind"] == "complete"]
short, long = [], []
for r in complete:
    if len(short) < 10:
        t = tail(r["prompt"], 12, 32)
        if t: short.append((r["id"], t))
    elif len(long) < 4:
        t = tail(r["prompt"], 60, 120)
        if t: long.append((r["id"], t))
    if len(short) == 10 and len(long) == 4:
        break

cases = []
for i, (rid, p) in enumerate(short):
    # llama.cpp's greedy (top-k 1: left to right) and seeded sampling with its default chain, both confidence remasking,
    # blocks of 32 over a 64-position window (one llama.cpp block = one Stride block: the prompt is shorter than a block)
    base = dict(source=rid, prompt=p, ub=64, block_length=32, eps=0, steps=64, algorithm=4, temp=0.8, top_p=0.95)
    cases.append(dict(base, name=f"greedy-{i}", top_k=1, seed=0))
    cases.append(dict(base, name=f"sampled-{i}", top_k=40, seed=1000 + i))
for i, (rid, p) in enumerate(short[:2]):
    cases.append(dict(source=rid, prompt=p, ub=64, block_length=32, eps=0, steps=64, algorithm=2, temp=0.8, top_p=0.95,
                      top_k=40, seed=2000 + i, name=f"margin-{i}"))
for i, (rid, p) in enumerate(long):
    alg = [0, 2, 3, 4][i]
    cases.append(dict(source=rid, prompt=p, ub=count(p) + 32, block_length=0, eps=0.001, steps=16, algorithm=alg,
                      temp=0.8, top_p=0.95, top_k=40, seed=3000 + i, name=f"timestep-alg{alg}"))
for c in cases:
    print(json.dumps(run(c)), flush=True)
