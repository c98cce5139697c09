#!/usr/bin/env bash
# bench_sync.sh [N] [--edits E] [--runs R] [--keep] [--strict]
#
# Benchmarks `taskfs sync` against `git pull` on the same pair of diverged stores: N tasks
# (default 10000) from tools/bench/gen_tasks.py in a bare remote; side B edits E tasks (default
# N/10) and pushes, side A edits E tasks and commits locally; E/10 tasks are edited on both sides,
# 70% of them on different keys, 30% on the same key with different values. See
# tools/bench/README.md.
#
# Measures: the time of `taskfs --store A sync` vs `git pull --no-rebase --no-edit` (median of R
# runs, each on fresh copies), the conflicts each leaves (true same-key ones vs false ones), and
# checks taskfs's merged tree (every task there, both sides' values kept, conflicts recorded in
# the task, no conflict markers, git fsck clean, the same tree in every run).
#
# Environment: TASKFS_BIN (taskfs binary), RUNS (3), SEED (2024), BENCH_DIR (parent of the work
#              dir, /var/tmp).
# Exit codes: 0 ran (targets may be missed: see the table), 1 something failed, 2 usage,
#             3 ran but missed a target (only with --strict).
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N=10000
RUNS="${RUNS:-3}"
SEED="${SEED:-2024}"
KEEP=0
STRICT=0
EDITS=""
parse_args keep strict runs=RUNS edits=EDITS -- "$@"
check_count 200
EDITS="${EDITS:-$((N / 10))}"
if ! [[ "$EDITS" =~ ^[0-9]+$ ]] || ((EDITS < 10 || 2 * EDITS > N)); then
  bad_usage "--edits must be a number from 10 to N/2"
fi
if ! [[ "$RUNS" =~ ^[0-9]+$ ]] || ((RUNS < 1)); then bad_usage "RUNS must be >= 1"; fi
[[ "$SEED" =~ ^[0-9]+$ ]] || bad_usage "SEED must be an integer"

need_bin taskfs
[[ -f "$GEN" ]] || die "gen_tasks.py not found"
need_tools git python3 cp tar
python3 -c 'import yaml' 2>/dev/null || die "python3 needs PyYAML (apt-get install python3-yaml)"

# ---------------------------------------------------------------------------------------------
# Work dir, deleted on exit (lib.sh). The prepared (diverged) state lives in prep/; every timed run
# works on fresh copies at the same paths (the taskfs store's remote URL and the clone's origin
# point there).
make_work taskfs-bench-sync
TASKS="$WORK/tasks"        # the generated files (the base of the merge)
PREP="$WORK/prep"          # prepared state: remote.git, a.store, git-a (copied before each run)
REMOTE="$WORK/remote.git"  # bare remote, branch main; holds B's edits once prepared
ASTORE="$WORK/a.store"     # side A's taskfs store (taskfs clone of the remote) with A's commits
GITA="$WORK/git-a"         # side A's plain git clone with the same commits (git baseline)
GITB="$WORK/git-b"         # side B: a plain git clone that pushes B's edits to the remote
PLAN="$WORK/plan.json"     # which tasks each side edits, how, and what each side's bytes are
RESULTS="$WORK/results"    # "result key=value" lines, read by the summary
HELPER="$WORK/bench_sync.py"
mkdir -p "$PREP"
: >"$RESULTS"

# Keep git's behaviour independent of the user's configuration (hooks, signing, rebase, ...).
isolated_git
cat >>"$GIT_CONFIG_GLOBAL" <<EOF
[pull]
	rebase = false
[gc]
	auto = 0
[maintenance]
	auto = false
EOF

# ---------------------------------------------------------------------------------------------
# The Python half: plan and apply the edits, check the results. Subcommands:
#   plan TASKS N SEED PLAN         choose the edited tasks and the edits (deterministic)
#   apply PLAN SIDE DIR            write SIDE's edited files into DIR; prints "KEY COUNT" per key
#   check-taskfs PLAN TASKS TREE CONFLICTS_TXT SYNC_OUT
#   check-git PLAN TREE UNMERGED_TXT
cat >"$HELPER" <<'PY'
import json, os, random, re, sys
import yaml

KEYS = ["status", "priority", "due", "tags", "notes"]
# Keys where two different values are a true conflict: scalars. Both sides changing tags is a set
# merge and both appending to notes a line merge, so they are not used for the same-key tasks.
SCALAR_KEYS = ["status", "priority", "due"]
STATUSES = ["pending", "active", "waiting", "done", "cancelled"]
WORDS = "plan call email fix review write buy book clean pay renew order send draft check update".split()
NOTE_WORDS = ("asked again moved waiting on reply parts arrived budget approved next week call "
              "back invoice sent postponed blocked by vendor").split()


def load(text):
    return yaml.safe_load(text)


def line_of(text, key):
    for line in text.splitlines():
        if line.startswith(key + ":"):
            return line
    raise KeyError(key)


def edit_text(text, key, value):
    """The file after an edit of KEY: VALUE is the new line (or, for notes, the appended line)."""
    if key == "notes":
        assert text.endswith("\n")
        return text + "  " + value + "\n"
    out, done = [], False
    for line in text.splitlines(keepends=True):
        if line.startswith(key + ":"):
            line, done = "%s: %s\n" % (key, value), True
        out.append(line)
    assert done, key
    return "".join(out)


def new_value(rng, text, key, side, avoid=None):
    """A realistic new value for KEY, different from the current one (and from AVOID)."""
    cur = line_of(text, key).split(":", 1)[1].strip()
    if key == "status":
        return rng.choice([s for s in STATUSES if s not in (cur, avoid)])
    if key == "priority":
        return rng.choice([p for p in "HML" if p not in (cur, avoid)])
    if key == "due":
        while True:
            v = "20%02d-%02d-%02d" % (rng.choice([27, 28]), rng.randint(1, 12), rng.randint(1, 28))
            if v not in (cur, avoid):
                return v
    if key == "tags":
        tags = [t.strip() for t in cur.strip("[]").split(",") if t.strip()]
        tags.append(rng.choice([w for w in WORDS if w not in tags]))
        return "[%s]" % ", ".join(tags)
    if key == "notes":
        who = "alice" if side == "a" else "bob"
        return "%s (%s): %s." % (rng.choice(["Update", "Note", "Status"]), who,
                                 " ".join(rng.sample(NOTE_WORDS, 4)))
    raise KeyError(key)


def cmd_plan(tasks, n, edits, seed, plan_path):
    n, seed = int(n), int(seed)
    rng = random.Random(seed)
    names = sorted(f for f in os.listdir(tasks) if f.endswith(".yaml"))
    assert len(names) == n, (len(names), n)
    per_side = int(edits)
    shared = per_side // 10
    same = round(shared * 0.3)
    picked = rng.sample(names, 2 * per_side - shared)
    groups = {"same": picked[:same], "diff": picked[same:shared],
              "a_only": picked[shared:per_side], "b_only": picked[per_side:]}
    tasks_plan = {}
    for name in picked:
        base = open(os.path.join(tasks, name)).read()
        entry = {"base": base}
        if name in groups["same"]:
            key = rng.choice(SCALAR_KEYS)
            va = new_value(rng, base, key, "a")
            vb = new_value(rng, base, key, "b", avoid=va)
            entry.update(group="same", a=[key, va], b=[key, vb])
        elif name in groups["diff"]:
            ka, kb = rng.sample(KEYS, 2)
            entry.update(group="diff", a=[ka, new_value(rng, base, ka, "a")],
                         b=[kb, new_value(rng, base, kb, "b")])
        elif name in groups["a_only"]:
            k = rng.choice(KEYS)
            entry.update(group="a_only", a=[k, new_value(rng, base, k, "a")])
        else:
            k = rng.choice(KEYS)
            entry.update(group="b_only", b=[k, new_value(rng, base, k, "b")])
        for side in ("a", "b"):
            if side in entry:
                entry[side + "_text"] = edit_text(base, *entry[side])
        if entry["group"] == "diff":  # what a clean line merge of both edits gives
            entry["both_text"] = edit_text(entry["a_text"], *entry["b"])
        tasks_plan[name] = entry
    plan = {"n": n, "seed": seed, "per_side": per_side, "shared": shared, "same": same,
            "diff": shared - same, "tasks": tasks_plan}
    json.dump(plan, open(plan_path, "w"))


def cmd_apply(plan_path, side, d):
    plan = json.load(open(plan_path))
    by_key = {}
    for name, e in sorted(plan["tasks"].items()):
        if side in e:
            open(os.path.join(d, name), "w").write(e[side + "_text"])
            by_key.setdefault(e[side][0], []).append(name)
    for key in KEYS:
        if key in by_key:
            print(key, len(by_key[key]))
            with open(os.path.join(d, "..", "%s-%s.list" % (os.path.basename(d), key)), "w") as f:
                f.write("".join(n + "\n" for n in by_key[key]))


def read_tree(tree):
    files = {}
    for root, dirs, fs in os.walk(tree):
        dirs[:] = [x for x in dirs if x != ".git"]
        for f in fs:
            p = os.path.join(root, f)
            files[os.path.relpath(p, tree)] = open(p, "rb").read()
    return files


def cmd_check_taskfs(plan_path, tasks, tree, conflicts_txt, sync_out):
    plan = json.load(open(plan_path))
    P = plan["tasks"]
    files = read_tree(tree)
    bad = []  # (what, task, detail)
    res = {}
    base_names = sorted(f for f in os.listdir(tasks) if f.endswith(".yaml"))
    res["tf_files"] = len(files)
    res["tf_tasks"] = sum(1 for f in files if f.endswith(".yaml"))
    missing = [n for n in base_names if n not in files]
    base_set = set(base_names)
    extra = [f for f in files if f not in base_set]
    res["tf_missing"] = len(missing)
    res["tf_extra_files"] = len(extra)
    for f in missing[:5]:
        bad.append(("task missing after the merge", f, ""))
    for f in extra[:5]:
        bad.append(("extra file after the merge (a conflict copy?)", f, ""))
    markers = [f for f, b in files.items() if b"<<<<<<<" in b or b">>>>>>>" in b]
    res["tf_markers"] = len(markers)
    for f in markers[:5]:
        bad.append(("conflict markers in the file", f, ""))

    # Tasks listed by `taskfs conflicts`: a path line, then one indented line per record.
    listed, records = [], 0
    for line in open(conflicts_txt):
        if not line.strip():
            continue
        if line[0].isspace():
            records += 1
        else:
            listed.append(line.strip())
    res["tf_listed"] = len(listed)
    res["tf_listed_records"] = records
    res["tf_listed_same"] = sum(1 for t in listed if P.get(t, {}).get("group") == "same")
    not_same = [t for t in listed if P.get(t, {}).get("group") != "same"]
    res["tf_listed_false"] = sum(1 for t in not_same if P.get(t, {}).get("group") == "diff")
    res["tf_listed_other"] = len(not_same) - res["tf_listed_false"]
    for t in not_same:
        bad.append(("listed by `taskfs conflicts` but not a same-key task", t,
                    P.get(t, {}).get("group", "unedited")))

    # Every file, by group.
    counts = dict.fromkeys(["unchanged_ok", "one_side_ok", "diff_both", "diff_bytes",
                            "same_recorded", "same_a_wins", "same_b_wins", "with_conflicts_key",
                            "comment_lost", "reemitted"], 0)
    lost_examples = []
    for name in base_names:
        got = files.get(name)
        if got is None:
            continue
        text = got.decode("utf-8", "replace")
        try:
            doc = load(text)
        except yaml.YAMLError as e:
            bad.append(("not valid YAML after the merge", name, str(e).splitlines()[0]))
            continue
        if not isinstance(doc, dict):
            bad.append(("not a YAML mapping after the merge", name, ""))
            continue
        if "conflicts" in doc:
            counts["with_conflicts_key"] += 1
        e = P.get(name)
        if e is None:
            if got == open(os.path.join(tasks, name), "rb").read():
                counts["unchanged_ok"] += 1
            else:
                bad.append(("task edited by neither side changed", name, ""))
            continue
        g = e["group"]
        if g in ("a_only", "b_only"):
            side = g[0]
            if got == e[side + "_text"].encode():
                counts["one_side_ok"] += 1
            else:
                bad.append(("one-side edit not kept byte for byte", name, "side " + side.upper()))
            continue
        # Tasks changed on both sides: are the comments both sides kept still there (gen_tasks.py
        # titles end in " #N", which YAML reads as a comment), and is the layout kept?
        if got not in (e["a_text"].encode(), e["b_text"].encode(), e.get("both_text", "").encode()):
            counts["reemitted"] += 1
        comments = [l[l.index(" #"):] for l in e["base"].splitlines() if " #" in l]
        if any(c not in text for c in comments):
            counts["comment_lost"] += 1
            if len(lost_examples) < 3:
                lost_examples.append("%s: %r -> %r" % (name, line_of(e["base"], "title"),
                                                       line_of(text, "title")))
        base, a, b = load(e["base"]), load(e["a_text"]), load(e["b_text"])
        ka, kb = e["a"][0], e["b"][0]
        if g == "diff":
            want = dict(base)
            want[ka], want[kb] = a[ka], b[kb]
            if doc == want:
                counts["diff_both"] += 1
            else:
                lost = [k for k in (ka, kb) if doc.get(k) != want[k]]
                bad.append(("different-key task lost a side's value", name,
                            "A changed %s, B changed %s; wrong: %s%s" % (
                                ka, kb, ",".join(lost) or "-",
                                "; has a conflicts record" if "conflicts" in doc else "")))
            if got == e["both_text"].encode():
                counts["diff_bytes"] += 1
            continue
        # Same key, different values: one value kept, the other recorded in the task.
        key = ka
        rest = {k: v for k, v in doc.items() if k not in (key, "conflicts")}
        want_rest = {k: v for k, v in base.items() if k != key}
        if rest != want_rest:
            bad.append(("same-key task: other keys changed", name, ""))
        if doc.get(key) == a[key]:
            winner, loser_val = "a", b[key]
            counts["same_a_wins"] += 1
        elif doc.get(key) == b[key]:
            winner, loser_val = "b", a[key]
            counts["same_b_wins"] += 1
        else:
            bad.append(("same-key task holds neither side's value", name, key))
            continue
        recs = doc.get("conflicts") or []
        ok = isinstance(recs, list) and any(
            isinstance(r, dict) and r.get("key") == key and
            (r.get("value") == loser_val or str(r.get("value")) == str(loser_val)) for r in recs)
        if ok:
            counts["same_recorded"] += 1
        else:
            bad.append(("same-key task: the losing value is not recorded in the file", name,
                        "%s: lost %r, conflicts=%r" % (key, loser_val, recs)))
        if name not in listed:
            bad.append(("same-key task not listed by `taskfs conflicts`", name, key))
    for k, v in counts.items():
        res["tf_" + k] = v
    res["tf_comment_examples"] = " | ".join(lost_examples) or "-"
    m = re.search(r"merged \((\d+) task\(s\) changed on both sides(?:, (\d+) conflict\(s\) recorded)?"
                  r"(?:, (\d+) kept as two files)?", open(sync_out).read())
    res["tf_report_merged"] = m.group(1) if m else "?"
    res["tf_report_conflicts"] = (m.group(2) or "0") if m else "?"
    res["tf_report_copies"] = (m.group(3) or "0") if m else "?"
    res["tf_problems"] = len(bad)
    for k, v in res.items():
        print("result %s=%s" % (k, v))
    with open(os.path.join(os.path.dirname(plan_path), "problems.txt"), "w") as f:
        for what, t, detail in bad:
            f.write("%s: %s%s\n" % (what, t, (" (" + detail + ")") if detail else ""))


def cmd_check_git(plan_path, tree, unmerged_txt):
    plan = json.load(open(plan_path))
    P = plan["tasks"]
    unmerged = [l.strip() for l in open(unmerged_txt) if l.strip()]
    files = read_tree(tree)
    res = {"git_unmerged": len(unmerged),
           "git_tasks": sum(1 for f in files if f.endswith(".yaml")),
           "git_markers": sum(1 for b in files.values() if b"<<<<<<<" in b)}
    groups = [P.get(u, {}).get("group", "unedited") for u in unmerged]
    res["git_unmerged_same"] = groups.count("same")
    res["git_unmerged_diff"] = groups.count("diff")
    res["git_unmerged_other"] = len(groups) - groups.count("same") - groups.count("diff")
    pairs = {}
    for u in unmerged:
        e = P.get(u, {})
        if e.get("group") == "diff":
            pair = "+".join(sorted([e["a"][0], e["b"][0]], key=KEYS.index))
            pairs[pair] = pairs.get(pair, 0) + 1
    res["git_false_pairs"] = ",".join("%s:%d" % kv for kv in sorted(pairs.items())) or "-"
    # Different-key tasks git merged cleanly: do they hold both values?
    ok = 0
    for name, e in P.items():
        if e["group"] == "diff" and name not in unmerged and files.get(name) == e["both_text"].encode():
            ok += 1
    res["git_diff_both"] = ok
    for k, v in res.items():
        print("result %s=%s" % (k, v))


cmds = {"plan": cmd_plan, "apply": cmd_apply, "check-taskfs": cmd_check_taskfs,
        "check-git": cmd_check_git}
cmds[sys.argv[1]](*sys.argv[2:])
PY

# Timed command (wall clock, ms) on stdout; its own output goes to $2, its exit code to $3.
timed() {
  local out="$1" rcfile="$2"; shift 2
  python3 - "$out" "$rcfile" "$@" <<'PY'
import subprocess, sys, time
out, rcfile, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
with open(out, "wb") as f:
    t = time.perf_counter_ns()
    rc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT).returncode
    dt = (time.perf_counter_ns() - t) / 1e6
open(rcfile, "w").write(str(rc))
print("%.1f" % dt)
PY
}

# Commits DIR's changes, one commit per edited key (the lists `apply` wrote), with fixed dates
# so that the conflict rule (the later commit wins) is reproducible: B at T0+1h.., A at T0+2h...
commit_side() {
  local dir="$1" side="$2" who email t key count
  if [[ "$side" == a ]]; then who=alice; email=a@taskfs; t=$((T0 + 7200)); else who=bob; email=b@taskfs; t=$((T0 + 3600)); fi
  while read -r key count; do
    t=$((t + 60))
    (cd "$dir" && xargs -a "../$(basename "$dir")-$key.list" -d '\n' git add --)
    GIT_AUTHOR_DATE="@$t +0000" GIT_COMMITTER_DATE="@$t +0000" \
      git -C "$dir" -c user.name="$who" -c user.email="$email" commit -q \
        -m "$who: update $key of $count task(s)"
  done
}

# ---------------------------------------------------------------------------------------------
# Set-up: generate, import into the remote, clone A (taskfs + git) and B (git), diverge.
T0=1767261600  # 2026-01-01T10:00:00Z: every commit date is fixed
log "work dir $WORK, N=$N, RUNS=$RUNS, SEED=$SEED, taskfs $TASKFS"
log "generating $N tasks"
python3 "$GEN" "$TASKS" "$N" >/dev/null
[[ "$(find "$TASKS" -name '*.yaml' | wc -l)" == "$N" ]] || die "gen_tasks.py did not write $N files"

log "importing them into a bare remote (branch main)"
git init -q --bare -b main "$REMOTE"
IMPORT="$WORK/import"
git init -q -b main "$IMPORT"
cp -a "$TASKS/." "$IMPORT/"
git -C "$IMPORT" add -A
GIT_AUTHOR_DATE="@$T0 +0000" GIT_COMMITTER_DATE="@$T0 +0000" \
  git -C "$IMPORT" -c user.name=import -c user.email=import@taskfs commit -q -m "import $N tasks"
git -C "$IMPORT" push -q "$REMOTE" main:main
rm -rf "$IMPORT"

log "cloning: A with taskfs clone, A and B with git clone"
"$TASKFS" --store "$ASTORE" clone "$REMOTE" --name alice >"$WORK/clone.out" 2>&1 ||
  die "taskfs clone failed: $(cat "$WORK/clone.out")"
git clone -q "$REMOTE" "$GITA"
git clone -q "$REMOTE" "$GITB"
BASE_ID="$(git -C "$REMOTE" rev-parse main)"
[[ "$(git --git-dir="$ASTORE" rev-parse main)" == "$BASE_ID" ]] || die "taskfs clone is not at the remote's main"
[[ "$(git --git-dir="$ASTORE" ls-tree -r --name-only main | wc -l)" == "$N" ]] || die "the taskfs clone does not hold $N tasks"

log "planning the edits (seed $SEED)"
python3 "$HELPER" plan "$TASKS" "$N" "$EDITS" "$SEED" "$PLAN"

log "side B: editing, committing (one commit per key), pushing to the remote"
python3 "$HELPER" apply "$PLAN" b "$GITB" >"$WORK/b.keys"
commit_side "$GITB" b <"$WORK/b.keys"
git -C "$GITB" push -q origin main
log "side A: editing and committing in the git clone, then pushing those same commits into A's taskfs store"
python3 "$HELPER" apply "$PLAN" a "$GITA" >"$WORK/a.keys"
commit_side "$GITA" a <"$WORK/a.keys"
# The same commit objects in both: the taskfs store and the git clone hold identical histories.
git -C "$GITA" push -q "$ASTORE" main:main
A_ID="$(git -C "$GITA" rev-parse HEAD)"
B_ID="$(git -C "$REMOTE" rev-parse main)"
[[ "$(git --git-dir="$ASTORE" rev-parse main)" == "$A_ID" ]] || die "A's commits did not reach A's taskfs store"
[[ "$A_ID" != "$BASE_ID" && "$B_ID" != "$BASE_ID" && "$A_ID" != "$B_ID" ]] || die "the sides did not diverge"
[[ -z "$(git -C "$GITA" status --porcelain)" ]] || die "git clone A has uncommitted changes"
"$TASKFS" --store "$ASTORE" remote list | grep -q "^origin" || die "A's store has no remote origin"
A_COMMITS="$(git -C "$GITA" rev-list --count "$BASE_ID..HEAD")"
B_COMMITS="$(git -C "$REMOTE" rev-list --count "$BASE_ID..main")"
log "A: $A_COMMITS commit(s) ahead of the base, B: $B_COMMITS commit(s) pushed"
for d in "$REMOTE" "$ASTORE" "$GITA"; do mv "$d" "$PREP/"; done
rm -rf "$GITB"

restore() {
  rm -rf "$REMOTE" "$ASTORE" "$GITA"
  cp -a "$PREP/remote.git" "$REMOTE"
  cp -a "$PREP/a.store" "$ASTORE"
  cp -a "$PREP/git-a" "$GITA"
}

# ---------------------------------------------------------------------------------------------
# Timed runs, alternating, each on fresh copies of the prepared state.
: >"$WORK/times.txt"
TREES=()
for i in $(seq "$RUNS"); do
  log "run $i/$RUNS: taskfs --store A sync"
  restore
  ms="$(timed "$WORK/sync.out" "$WORK/sync.rc" "$TASKFS" --store "$ASTORE" sync)"
  [[ "$(cat "$WORK/sync.rc")" == 0 ]] || die "taskfs sync failed (exit $(cat "$WORK/sync.rc")): $(cat "$WORK/sync.out")"
  log "  $ms ms: $(head -n1 "$WORK/sync.out")"
  echo "taskfs $ms" >>"$WORK/times.txt"
  TREES+=("$(git --git-dir="$ASTORE" rev-parse 'main^{tree}')")
  if ((i == 1)); then
    # Keep the first run's result for the checks.
    cp "$WORK/sync.out" "$WORK/sync.first"
    rm -rf "$WORK/result-remote.git"
    mv "$REMOTE" "$WORK/result-remote.git"
  fi
  # For scale (not a target): what pushing the same merge costs with git, from a fresh remote.
  # `git pull` does not push; `taskfs sync` does.
  rm -rf "$REMOTE"
  cp -a "$PREP/remote.git" "$REMOTE"
  ms="$(timed "$WORK/push.out" "$WORK/push.rc" git --git-dir="$ASTORE" push -q "$REMOTE" main:main)"
  [[ "$(cat "$WORK/push.rc")" == 0 ]] || die "git push of the merge failed: $(cat "$WORK/push.out")"
  echo "gitpush $ms" >>"$WORK/times.txt"
  if ((i == 1)); then
    rm -rf "$WORK/result-taskfs"
    mv "$ASTORE" "$WORK/result-taskfs"
  fi

  log "run $i/$RUNS: git pull --no-rebase --no-edit (in git clone A)"
  restore
  ms="$(timed "$WORK/pull.out" "$WORK/pull.rc" git -C "$GITA" pull --no-rebase --no-edit origin main)"
  rc="$(cat "$WORK/pull.rc")"
  # git pull exits 1 when the merge stops on conflicts; anything else is a failure.
  [[ "$rc" == 0 || "$rc" == 1 ]] || die "git pull failed (exit $rc): $(tail -5 "$WORK/pull.out")"
  git -C "$GITA" diff --name-only --diff-filter=U >"$WORK/unmerged.$i"
  [[ "$rc" == 0 || -s "$WORK/unmerged.$i" ]] || die "git pull failed without conflicts: $(tail -5 "$WORK/pull.out")"
  log "  $ms ms: $(wc -l <"$WORK/unmerged.$i") file(s) with conflicts"
  echo "git $ms" >>"$WORK/times.txt"
  if ((i == 1)); then
    rm -rf "$WORK/result-git"
    mv "$GITA" "$WORK/result-git"
  fi
done
rm -rf "$REMOTE" "$ASTORE" "$GITA"

python3 - "$WORK/times.txt" >>"$RESULTS" <<'PY'
import statistics, sys
t = {}
for line in open(sys.argv[1]):
    k, v = line.split()
    t.setdefault(k, []).append(float(v))
for k in ("taskfs", "git", "gitpush"):
    print("result %s_ms=%.1f" % (k, statistics.median(t[k])))
    print("result %s_all=%s" % (k, ",".join("%.0f" % x for x in t[k])))
PY
SAME_TREE=1
for t in "${TREES[@]}"; do [[ "$t" == "${TREES[0]}" ]] || SAME_TREE=0; done
SAME_UNMERGED=1
for i in $(seq "$RUNS"); do cmp -s "$WORK/unmerged.1" "$WORK/unmerged.$i" || SAME_UNMERGED=0; done
{
  echo "result same_tree=$SAME_TREE"
  echo "result same_unmerged=$SAME_UNMERGED"
  echo "result a_commits=$A_COMMITS"
  echo "result b_commits=$B_COMMITS"
} >>"$RESULTS"

# ---------------------------------------------------------------------------------------------
# Checks on the first run's results.
log "checking taskfs's merge"
RT="$WORK/result-taskfs"
RR="$WORK/result-remote.git"
MERGED_ID="$(git --git-dir="$RT" rev-parse main)"
{
  echo "result tf_pushed=$([[ "$(git --git-dir="$RR" rev-parse main)" == "$MERGED_ID" ]] && echo 1 || echo 0)"
  echo "result tf_parents=$(git --git-dir="$RT" rev-list --parents -n1 main | wc -w | awk '{print $1 - 1}')"
  echo "result tf_merge_has_a=$(git --git-dir="$RT" merge-base --is-ancestor "$A_ID" main && echo 1 || echo 0)"
  echo "result tf_merge_has_b=$(git --git-dir="$RT" merge-base --is-ancestor "$B_ID" main && echo 1 || echo 0)"
  fsck_a="$(git --git-dir="$RT" fsck --no-progress 2>&1 || echo "exit $?")"
  fsck_r="$(git --git-dir="$RR" fsck --no-progress 2>&1 || echo "exit $?")"
  echo "result tf_fsck=$([[ -z "$fsck_a$fsck_r" ]] && echo clean || echo dirty)"
} >>"$RESULTS"
[[ -z "$fsck_a$fsck_r" ]] || log "git fsck: $fsck_a $fsck_r"
"$TASKFS" --store "$RT" conflicts >"$WORK/conflicts.txt" 2>"$WORK/conflicts.err" ||
  die "taskfs conflicts failed: $(cat "$WORK/conflicts.err")"
mkdir -p "$WORK/tree-taskfs"
git --git-dir="$RT" archive main | tar -x -C "$WORK/tree-taskfs"
python3 "$HELPER" check-taskfs "$PLAN" "$TASKS" "$WORK/tree-taskfs" "$WORK/conflicts.txt" \
  "$WORK/sync.first" >>"$RESULTS"

log "checking git's merge"
python3 "$HELPER" check-git "$PLAN" "$WORK/result-git" "$WORK/unmerged.1" >>"$RESULTS"

# ---------------------------------------------------------------------------------------------
# Summary.
summary_rc=0
bench_python "$RESULTS" "$PLAN" "$WORK/problems.txt" "$WORK/sync.first" "$SELF" "$N" "$TASKFS" "$STRICT" "$RUNS" <<'PY' || summary_rc=$?
import json, sys
res = dict(l.split(None, 1)[1].strip().split("=", 1) for l in open(sys.argv[1]) if l.startswith("result "))
plan = json.load(open(sys.argv[2]))
problems = [l.rstrip("\n") for l in open(sys.argv[3])]
sync_line = open(sys.argv[4]).read().strip().splitlines()
self, n, taskfs, strict, runs = sys.argv[5], sys.argv[6], sys.argv[7], sys.argv[8] == "1", sys.argv[9]
I = lambda k: int(res[k])
F = lambda k: float(res[k])
same, diff, shared, per_side = plan["same"], plan["diff"], plan["shared"], plan["per_side"]
one_side = 2 * (per_side - shared)
rows, missed = [], False
def row(name, tf, git, ratio, target, ok):
    global missed
    if ok is not None:
        missed |= not ok
    rows.append((name, tf, git, ratio, target, "-" if ok is None else ("ok" if ok else "MISSED")))

r = F("taskfs_ms") / F("git_ms")
row("merge time (median of %s)" % runs, "sync %.0f ms" % F("taskfs_ms"), "pull %.0f ms" % F("git_ms"),
    "taskfs/git %.2f" % r, "ratio <= 1.0", r <= 1.0)
p = F("git_ms") + F("gitpush_ms")
row("  for scale: git pull + git push", "sync %.0f ms" % F("taskfs_ms"),
    "%.0f + %.0f ms" % (F("git_ms"), F("gitpush_ms")), "taskfs/git %.2f" % (F("taskfs_ms") / p),
    "(info)", None)
row("conflicts, different keys (of %d)" % diff, "%d" % I("tf_listed_false"),
    "%d files" % I("git_unmerged_diff"), "-", "0", I("tf_listed_false") == 0)
row("conflicts, same key (of %d)" % same, "%d recorded" % I("tf_listed_same"),
    "%d files" % I("git_unmerged_same"), "-", "%d, in the file" % same,
    I("tf_listed_same") == same and I("tf_same_recorded") == same)
row("conflicts on other tasks", "%d" % I("tf_listed_other"), "%d files" % I("git_unmerged_other"),
    "-", "0", I("tf_listed_other") == 0)
row("files with conflict markers", "%d" % I("tf_markers"), "%d" % I("git_markers"), "-", "0",
    I("tf_markers") == 0)
row("different-key tasks with both values", "%d/%d" % (I("tf_diff_both"), diff),
    "%d/%d" % (I("git_diff_both"), diff), "-", "%d/%d" % (diff, diff), I("tf_diff_both") == diff)
row("same-key tasks: loser recorded in task", "%d/%d" % (I("tf_same_recorded"), same), "-", "-",
    "%d/%d" % (same, same), I("tf_same_recorded") == same)
row("both-side tasks keeping their comments", "%d/%d" % (shared - I("tf_comment_lost"), shared),
    "-", "-", "(info)", None)
row("one-side edits kept byte for byte", "%d/%d" % (I("tf_one_side_ok"), one_side), "-", "-",
    "%d/%d" % (one_side, one_side), I("tf_one_side_ok") == one_side)
row("tasks after the merge", "%d (+%d files)" % (I("tf_tasks"), I("tf_extra_files")),
    "%d" % I("git_tasks"), "-", n, I("tf_tasks") == int(n) and I("tf_missing") == 0 and I("tf_extra_files") == 0)
unchanged = int(n) - len(plan["tasks"])
row("unedited tasks unchanged", "%d/%d" % (I("tf_unchanged_ok"), unchanged), "-", "-",
    "%d/%d" % (unchanged, unchanged), I("tf_unchanged_ok") == unchanged)
row("git fsck (store + remote)", res["tf_fsck"], "-", "-", "clean", res["tf_fsck"] == "clean")
ok_push = I("tf_pushed") == 1 and I("tf_parents") == 2 and I("tf_merge_has_a") == 1 and I("tf_merge_has_b") == 1
row("merge commit pushed to the remote", "yes" if ok_push else "no", "-", "-", "yes", ok_push)
row("same result in every run", "yes" if I("same_tree") else "NO",
    "yes" if I("same_unmerged") else "NO", "-", "yes", I("same_tree") == 1)

print()
print("taskfs sync benchmark, N=%s tasks, seed %d, binary %s" % (n, plan["seed"], taskfs))
print("A edited %d tasks in %s commit(s), B edited %d in %s commit(s) (pushed first); %d on both "
      "sides: %d on different keys, %d on the same key" % (
          per_side, res["a_commits"], per_side, res["b_commits"], shared, diff, same))
print("taskfs sync said: %s" % (sync_line[0] if sync_line else "(nothing)"))
print("  (merged %s task(s) changed on both sides, %s conflict(s), %s conflict copies; expected %d, %d, 0)" % (
    res["tf_report_merged"], res["tf_report_conflicts"], res["tf_report_copies"], shared, same))
print("same-key conflicts: A's value kept in %s, B's in %s (A's commits are later)" % (
    res["tf_same_a_wins"], res["tf_same_b_wins"]))
print("different-key tasks whose bytes equal the line merge of both edits (layout kept): %s/%d" % (
    res["tf_diff_bytes"], diff))
print("tasks changed on both sides that taskfs re-wrote (bytes of neither side nor of the line merge): %s/%d;"
      " of those merged, %s lost a YAML comment (e.g. %s)" % (
          res["tf_reemitted"], shared, res["tf_comment_lost"], res["tf_comment_examples"]))
print("git's false conflicts by pair of keys changed: %s" % res["git_false_pairs"])
print("runs (ms): taskfs sync %s; git pull %s; git push of the same merge %s" % (
    res["taskfs_all"], res["git_all"], res["gitpush_all"]))
print_table(("measure", "taskfs", "git", "ratio", "target", "result"), rows)
if problems:
    print()
    print("Problems found in taskfs's merge (%d):" % len(problems))
    for p in problems[:20]:
        print("  " + p)
    if len(problems) > 20:
        print("  ... and %d more" % (len(problems) - 20))
print()
print("Reproduce: %s %s   (SEED=%d RUNS=%s; --keep keeps the work dir)" % (self, n, plan["seed"], runs))
print("  measured commands: taskfs --store A sync   (fetch, merge, commit, push to the remote)  vs")
print("                     git -C CLONE pull --no-rebase --no-edit origin main   (fetch, ort merge;")
print("                     stops on conflicts), each on fresh copies of the same diverged state")
sys.exit(3 if (strict and missed) else 0)
PY
exit "$summary_rc"
