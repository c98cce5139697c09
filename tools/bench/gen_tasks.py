#!/usr/bin/env python3
"""gen_tasks.py DIR N: write N realistic, deterministic task files into DIR.

The benchmarks' task generator: the same realistic tasks every run, so that figures compare
from one change to the next. Benchmarks and tests read nothing outside the repository.
"""
import os
import random
import sys

directory, count = sys.argv[1], int(sys.argv[2])
random.seed(7)
words = "plan call email fix review write buy book clean pay renew order send draft check update".split()
os.makedirs(directory, exist_ok=True)
for i in range(count):
    w = random.sample(words, 3)
    with open(os.path.join(directory, f"{w[0]}-{w[1]}-{i:06d}.yaml"), "w") as f:
        f.write(f"title: {w[0].capitalize()} {w[1]} {w[2]} #{i}\n"
                f"status: {random.choice(['pending', 'pending', 'active', 'done', 'waiting'])}\n"
                f"priority: {random.choice('HML')}\n"
                f"project: {random.choice(['home', 'work', 'work.ops', 'garden', 'car'])}\n"
                f"tags: [{', '.join(random.sample(words, 2))}]\n"
                f"due: 2027-{1 + i % 12:02d}-{1 + i % 28:02d}\n"
                f"notes: |\n  First note line for task {i}.\n"
                f"  Second line: {' '.join(random.sample(words, 5))}.\n")
