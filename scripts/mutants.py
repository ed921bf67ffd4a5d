#!/usr/bin/env python3
"""Mutation testing of the reference solutions against their own step's tests.

For maintainers: measures where a step's tests are blind. For each step it copies the
working tree (tracked and untracked files, not `target/`) to a scratch directory, points
the topic crate's step modules at `solutions/` (cargo-mutants does not follow the
`cfg_attr(feature = "solution", path = ...)` the crates use), mutates the reference file
only, and runs the step's own test target (with its filter) against every mutant.

    python3 scripts/mutants.py tunnel/basic          # one step
    python3 scripts/mutants.py tunnel pipes/oneway   # a topic and a step
    python3 scripts/mutants.py --all                 # every step (long)
    python3 scripts/mutants.py tunnel/basic --list   # the mutants, without running them

A missed mutant is either a blind spot (write the test that catches it) or equivalent to
the reference (the same behaviour written differently). Equivalent mutants are listed,
with the reason, in `crates/<package>/mutants-equivalent.txt`, one per line:

    basic | replace -= with /= in Tunnel::depart | n is 1 there, so n /= 1 ... (the reason)

The middle field is the mutant's description as cargo-mutants prints it, without the
file and line (it may contain `|`; the reason may not contain ` | `). The table at the
end counts them apart from the missed ones, and the exit status is 1 while any mutant is
missed and unexplained.

Installs cargo-mutants with `cargo install --locked cargo-mutants` when it is missing.
Python 3.11 or later (for tomllib); no other dependency.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def die(msg: str) -> "NoReturn":  # noqa: F821
    print(f"error: {msg}", file=sys.stderr)
    sys.exit(2)


def load_steps() -> list[dict]:
    syllabus = tomllib.loads((ROOT / "course.toml").read_text())
    steps = []
    for topic in syllabus.get("topics", []):
        for step in topic.get("steps", []):
            steps.append(
                {
                    "id": f"{topic['name']}/{step['name']}",
                    "topic": topic["name"],
                    "step": step["name"],
                    "package": topic["package"],
                    "dir": topic["dir"],
                    "file": step["file"],
                    "test": step["test"],
                    "filter": step.get("filter"),
                }
            )
    return steps


def select(steps: list[dict], specs: list[str], everything: bool) -> list[dict]:
    if everything:
        return steps
    if not specs:
        die("name a step (`tunnel/basic`), a topic (`tunnel`) or --all")
    chosen = []
    for spec in specs:
        found = [s for s in steps if s["id"] == spec or s["topic"] == spec]
        if not found:
            names = ", ".join(sorted({s["topic"] for s in steps}))
            die(f"no step or topic `{spec}` in course.toml (topics: {names})")
        chosen += [s for s in found if s not in chosen]
    return chosen


def copy_tree(dest: Path) -> None:
    """The working tree as it is now: tracked and untracked files, minus ignored ones."""
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.split(b"\0")
    for raw in files:
        if not raw:
            continue
        rel = raw.decode()
        src = ROOT / rel
        if not src.exists():
            continue  # deleted in the working tree
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)


CFG_PAIR = re.compile(
    r'#\[cfg_attr\(\s*not\(\s*feature\s*=\s*"solution"\s*\)\s*,\s*path\s*=\s*"([^"]+)"\s*,?\s*\)\]'
    r'\s*#\[cfg_attr\(\s*feature\s*=\s*"solution"\s*,\s*path\s*=\s*"([^"]+)"\s*,?\s*\)\]'
)


def point_at_solutions(tree: Path, package: str) -> None:
    lib = tree / "crates" / package / "src" / "lib.rs"
    text = lib.read_text()
    new, n = CFG_PAIR.subn(lambda m: f'#[path = "{m.group(2)}"]', text)
    if n == 0:
        die(f"{lib}: found no `cfg_attr(feature = \"solution\", path = ...)` pair to rewrite")
    lib.write_text(new)


def equivalents(package: str) -> dict[tuple[str, str], str]:
    path = ROOT / "crates" / package / "mutants-equivalent.txt"
    known = {}
    if path.is_file():
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            # The mutant itself may contain `|` (`replace | with ^`, `replace || with &&`):
            # the step ends at the first `|`, the reason starts after the last ` | `.
            step, _, rest = line.partition("|")
            mutant, _, reason = rest.rpartition(" | ")
            parts = [step.strip(), mutant.strip(), reason.strip()]
            if not all(parts):
                die(f"{path}:{n}: expected `step | mutant | reason`")
            known[(parts[0], parts[1])] = parts[2]
    return known


def describe(name: str) -> str:
    """`path:line:col: replace x with y in f` -> `replace x with y in f`."""
    return re.sub(r"^.*?:\d+:\d+: ", "", name)


def ensure_cargo_mutants() -> None:
    probe = subprocess.run(["cargo", "mutants", "--version"], capture_output=True)
    if probe.returncode != 0:
        print("installing cargo-mutants (once): cargo install --locked cargo-mutants")
        subprocess.run(["cargo", "install", "--locked", "cargo-mutants"], check=True)


def run_step(step: dict, args: argparse.Namespace, scratch: Path) -> dict:
    tree = scratch / "tree"
    if tree.exists():
        shutil.rmtree(tree)
    copy_tree(tree)
    point_at_solutions(tree, step["package"])
    rel = f"crates/{step['package']}/src/../../../solutions/{step['dir']}/{step['file']}"
    # --features solution as well: tests that read the step's source (proctest::step_file!)
    # must find the reference, as under `cargo test --features solution`.
    cmd = ["cargo", "mutants", "-p", step["package"], "--features", "solution", "--file", rel,
           "-j", str(args.jobs)]
    cmd += ["--output", str(scratch / "out")]
    if args.list:
        cmd.append("--list")
    cmd += ["--", "--test", step["test"]]
    if step["filter"]:
        cmd.append(step["filter"])
    print(f"\n== {step['id']}: {' '.join(cmd)}", flush=True)
    env = dict(os.environ, INSTA_UPDATE="no", CARGO_TERM_COLOR="never")
    proc = subprocess.run(cmd, cwd=tree, env=env)
    if args.list:
        return {}
    outcomes = scratch / "out" / "mutants.out" / "outcomes.json"
    if not outcomes.is_file():
        print(f"   cargo mutants wrote no outcomes (exit {proc.returncode})")
        return {"id": step["id"], "error": True}
    data = json.loads(outcomes.read_text())
    known = equivalents(step["package"])
    row = {"id": step["id"], "mutants": 0, "caught": 0, "missed": [], "equivalent": 0,
           "unviable": 0, "timeout": 0}
    for o in data["outcomes"]:
        mutant = o["scenario"]
        if not isinstance(mutant, dict) or "Mutant" not in mutant:
            continue  # the unmutated baseline
        what = describe(mutant["Mutant"]["name"])
        summary = o["summary"]
        if summary == "Unviable":
            row["unviable"] += 1
            continue
        row["mutants"] += 1
        if summary == "CaughtMutant":
            row["caught"] += 1
        elif summary == "Timeout":
            # A mutant that hangs the tests is caught by their watchdogs only if they
            # report it; cargo-mutants' own timeout says the tests did not end in time.
            row["timeout"] += 1
        elif (step["step"], what) in known:
            row["equivalent"] += 1
        else:
            row["missed"].append(mutant["Mutant"]["name"])
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("steps", nargs="*", help="topic/step or topic")
    parser.add_argument("--all", action="store_true", help="every step in course.toml")
    parser.add_argument("--list", action="store_true", help="list the mutants only")
    parser.add_argument("-j", "--jobs", type=int, default=1, help="cargo-mutants jobs")
    args = parser.parse_args()
    if args.jobs < 1:
        die("--jobs takes a number of 1 or more")
    steps = select(load_steps(), args.steps, args.all)
    ensure_cargo_mutants()
    rows = []
    with tempfile.TemporaryDirectory(prefix="course-mutants-") as tmp:
        for step in steps:
            rows.append(run_step(step, args, Path(tmp)))
    if args.list:
        return 0
    print("\n| step | mutants | caught | timeout | missed | equivalent | unviable |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    unexplained = 0
    for r in rows:
        if r.get("error"):
            print(f"| {r['id']} | error | | | | | |")
            unexplained += 1
            continue
        print(f"| {r['id']} | {r['mutants']} | {r['caught']} | {r['timeout']} | "
              f"{len(r['missed'])} | {r['equivalent']} | {r['unviable']} |")
        unexplained += len(r["missed"])
    for r in rows:
        for m in r.get("missed", []):
            print(f"missed: {r['id']}: {m}")
    return 1 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
