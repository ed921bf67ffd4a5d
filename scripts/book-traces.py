#!/usr/bin/env python3
"""Makes the failing schedules the book's trace viewer shows, from the tests themselves.

    python3 scripts/book-traces.py           run the tests, write book/traces/*.json
    python3 scripts/book-traces.py --check   run them, and fail if a file would change

Each thread topic's chapter steps through one failing exploration (`{{#trace-viewer}}`).
The schedule comes from the engine: a test runs with `INTERLEAVE_TRACE_JSON=<file>`, and
interleave writes the failing schedule it found there (its events, the diagnosis and the
report, as the student reads it). The test is either an oracle test, which runs a wrong
implementation kept in the test file and expects the failure (run with the reference
solutions, so it passes), or a starter's own failing test (run on the starter as shipped,
so it fails: that is the point). The schedules are deterministic (seeded strategies), so
running this again gives the same files until the engine, the tests or the starters
change; CI runs it after `cargo course verify` (whose builds it reuses) and fails when the
committed files are stale (a moved line number alone does not count).

Run it on the course as shipped: a starter with local changes is refused.
"""

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "book" / "traces"

# (file, topic/step, test target's package and file, test name, from the starter?, caption)
TRACES = [
    ("monitor_balance", "monitor/balance", "monitor", "balance",
     "final_balance_is_the_sum_of_all_operations_under_random_and_pct_schedules", True,
     "the starter's balance: a load, then a store"),
    ("bounded_buffer_monitor", "bounded_buffer/monitor", "bounded_buffer", "monitor",
     "no_lost_wakeup_with_capacity_one_within_two_delays", True,
     "one condition variable for producers and consumers"),
    ("tunnel_basic", "tunnel/basic", "tunnel", "basic",
     "the_oracle_catches_the_notes_if_on_a_mesa_monitor", False,
     "the notes' if on a Mesa monitor"),
    ("rw_monitor_mesa", "rw_monitor/mesa", "rw_monitor", "mesa",
     "the_explorer_finds_the_barging_writer_that_breaks_the_ifs", False,
     "the Hoare monitor's ifs on a mutex and condition variables"),
    ("philosophers_ordering", "philosophers/ordering", "philosophers", "ordering",
     "two_to_seven_philosophers_never_deadlock", True,
     "the starter: left fork first, then right"),
    ("messages_server", "messages/server", "messages", "server",
     "the_server_stops_when_every_client_has_hung_up", True,
     "the bank keeps a client of its own"),
    ("locks_convoy", "locks/convoy", "locks", "convoy",
     "the_oracle_finds_the_convoy_behind_a_barging_lock", False,
     "a barging lock: IO overtaken again and again"),
]


def starter_file(step):
    """exercises/NN_topic/step.rs for `topic/step`."""
    topic, name = step.split("/")
    for d in sorted((ROOT / "exercises").iterdir()):
        if d.is_dir() and d.name.split("_", 1)[-1] == topic:
            return d / f"{name}.rs"
    raise SystemExit(f"book-traces: no exercises/NN_{topic}/ folder for {step}")


def pristine(path):
    """Whether `path` is the starter as shipped: equal to its copy in .course/starters/ (the
    runner's), or, without that copy, known to git with no local change."""
    rel = path.relative_to(ROOT / "exercises")
    shipped = ROOT / ".course" / "starters" / rel
    if shipped.is_file():
        return shipped.read_bytes() == path.read_bytes()
    try:
        rel = path.relative_to(ROOT)
        tracked = subprocess.run(["git", "ls-files", "--error-unmatch", str(rel)], cwd=ROOT,
                                 capture_output=True).returncode == 0
        clean = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", str(rel)],
                               cwd=ROOT, capture_output=True).returncode == 0
        return tracked and clean
    except (OSError, ValueError):
        return True


def make(entry, tmp):
    name, step, package, target, test, from_starter, caption = entry
    out = Path(tmp) / f"{name}.json"
    cmd = ["cargo", "test", "-q", "-p", package, "--test", target]
    if not from_starter:
        cmd += ["--features", f"{package}/solution"]
    cmd += ["--", "--exact", test]
    env = dict(os.environ, INTERLEAVE_TRACE_JSON=str(out), INSTA_UPDATE="no",
               CARGO_TERM_COLOR="never", RUST_BACKTRACE="0")
    env.pop("INTERLEAVE_SEED", None)
    env.pop("INTERLEAVE_STRATEGY", None)
    env.pop("INTERLEAVE_ITERATIONS", None)
    env.pop("INTERLEAVE_TRACE", None)
    if from_starter:
        # The replay line then reads as the student sees it: `just trace topic/step ...`.
        env["COURSE_STEP"] = step
    else:
        env.pop("COURSE_STEP", None)
    run = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    where = f"`{' '.join(cmd)}`"
    if not from_starter and run.returncode != 0:
        raise SystemExit(f"book-traces: {where} failed, but this oracle test expects the "
                         f"failure and passes:\n{run.stdout[-3000:]}{run.stderr[-3000:]}")
    if not out.is_file():
        raise SystemExit(f"book-traces: {where} found no failing schedule (no {out.name} "
                         f"written); pick another test for {step}:\n"
                         f"{run.stdout[-2000:]}{run.stderr[-2000:]}")
    data = json.loads(out.read_text(encoding="utf-8"))
    data["source"] = {
        "caption": caption,
        "step": step,
        "test": f"crates/{package}/tests/{target}.rs: {test}",
        "starter": from_starter,
    }
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


def same_but_lines(a, b):
    """Whether two files differ only in the line and column of a source location
    (`balance.rs:36:5`): a test edited above its assertion moves it, and --check does not
    fail CI for that (the next run without --check refreshes the numbers)."""
    location = re.compile(r"\.rs:\d+:\d+")
    return location.sub(".rs:L:C", a) == location.sub(".rs:L:C", b)


def main(argv):
    check = argv == ["--check"]
    if argv and not check:
        print(f"book-traces: unknown arguments {' '.join(argv)!r} (expected nothing or --check)",
              file=sys.stderr)
        return 2
    for entry in TRACES:
        if entry[5]:
            starter = starter_file(entry[1])
            if not pristine(starter):
                print(f"book-traces: {starter.relative_to(ROOT)} has local changes: the book "
                      "shows the starter as shipped; run this on the course as shipped",
                      file=sys.stderr)
                return 1
    stale = []
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="book-traces-") as tmp:
        for entry in TRACES:
            text = make(entry, tmp)
            path = OUT / f"{entry[0]}.json"
            old = path.read_text(encoding="utf-8") if path.is_file() else None
            if old == text:
                continue
            if check:
                if old is not None and same_but_lines(old, text):
                    continue
                stale.append(path.relative_to(ROOT))
            else:
                path.write_text(text, encoding="utf-8")
                print(f"book-traces: wrote {path.relative_to(ROOT)}")
    known = {f"{e[0]}.json" for e in TRACES}
    for path in sorted(OUT.glob("*.json")):
        if path.name not in known:
            if check:
                stale.append(path.relative_to(ROOT))
            else:
                path.unlink()
                print(f"book-traces: removed {path.relative_to(ROOT)} (not in the list)")
    if stale:
        for p in stale:
            print(f"book-traces: {p} is stale: the tests now find another schedule",
                  file=sys.stderr)
        print("book-traces: run `python3 scripts/book-traces.py` and commit the files "
              "(read the new schedules: the chapters' text may quote them)", file=sys.stderr)
        return 1
    if check:
        print(f"book-traces: the {len(TRACES)} failing schedules of the book are up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
