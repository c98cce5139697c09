#!/usr/bin/env python3
"""gen_tasks.py DIR N [FOLDERS]: write N realistic, deterministic task files into DIR.

With FOLDERS, the tasks are spread over that many folders (DIR/f0000 ...), one after another.

The benchmarks' task generator: the same realistic tasks every run, so that figures compare
from one change to the next. Benchmarks and tests read nothing outside the repository.
"""
import os
import random
import sys

directory, count = sys.argv[1], int(sys.argv[2])
folders = int(sys.argv[3]) if len(sys.argv) > 3 else 0
random.seed(7)
words = "plan call email fix review write buy book clean pay renew order send draft check update".split()
for i in range(count):
    w = random.sample(words, 3)
    folder = os.path.join(directory, f"f{i * folders // count:04d}") if folders else directory
    if i == 0 or folders:
        os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, f"{w[0]}-{w[1]}-{i:06d}.yaml"), "w") as f:
        f.write(f"title: {w[0].capitalize()} {w[1]} {w[2]} #{i}\n"
                f"status: {random.choice(['pending', 'pending', 'active', 'done', 'waiting'])}\n"
                f"priority: {random.choice('HML')}\n"
                f"project: {random.choice(['home', 'work', 'work.ops', 'garden', 'car'])}\n"
                f"tags: [{', '.join(random.sample(words, 2))}]\n"
                f"due: 2027-{1 + i % 12:02d}-{1 + i % 28:02d}\n"
                f"notes: |\n  First note line for task {i}.\n"
                f"  Second line: {' '.join(random.sample(words, 5))}.\n")
