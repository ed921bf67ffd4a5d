#!/usr/bin/env python3
"""Proves the README's promise: the thread topics' references are real Rust.

Every reference in solutions/ of a topic built on interleave, unless it uses the
textbook layer (interleave::monitor, interleave::semaphore), which the real crates do not
have, is copied into one scratch workspace with its imports swapped:

    interleave::sync::{Mutex, Condvar, RwLock, ...}  ->  parking_lot::...
    interleave::sync::Arc, interleave::sync::atomic  ->  std::sync::Arc, std::sync::atomic
    interleave::thread                               ->  std::thread
    interleave::channel                              ->  crossbeam_channel
    interleave::time                                 ->  std::time

Nothing else is changed. The scratch workspace is built once, and a real-thread stress
driver for each reference (scripts/import-swap/<topic>/<step>.rs) runs against it, with
the references' own doc examples. The figure printed at the end is references compiled /
references eligible.

Usage: python3 scripts/import-swap.py [--keep]   (--keep leaves the scratch workspace and
prints its path). The build goes to target/import-swap, so a second run is quick.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DRIVERS = ROOT / "scripts" / "import-swap"
TEXTBOOK = ("interleave::monitor", "interleave::semaphore")


def strip_comments(text):
    """The code of a Rust file without its line comments (doc comments included)."""
    return "\n".join(re.sub(r"//.*", "", line) for line in text.splitlines())


def workspace_versions():
    """The versions of parking_lot and crossbeam-channel the course itself uses."""
    text = (ROOT / "Cargo.toml").read_text()
    versions = {}
    for name in ("parking_lot", "crossbeam-channel"):
        m = re.search(rf'^{name}\s*=\s*(.+)$', text, re.M)
        if not m:
            sys.exit(f"import-swap: no `{name}` in the root Cargo.toml's [workspace.dependencies]")
        versions[name] = m.group(1).strip()
    return versions


def thread_topics():
    """(topic, lib.rs text, [(step, reference path)]) for each crate built on interleave."""
    topics = []
    for manifest in sorted((ROOT / "crates").glob("*/Cargo.toml")):
        text = manifest.read_text()
        deps = re.search(r"^\[dependencies\]\n(.*?)(^\[|\Z)", text, re.M | re.S)
        if not deps or not re.search(r"^interleave\b", deps.group(1), re.M):
            continue
        if re.search(r'^name\s*=\s*"interleave"', text, re.M):
            continue
        topic = manifest.parent.name
        # Tools built on interleave (the course runner) have no lib.rs of steps.
        if not (manifest.parent / "src" / "lib.rs").is_file():
            continue
        lib = (manifest.parent / "src" / "lib.rs").read_text()
        steps = []
        for m in re.finditer(
            r'#\[cfg_attr\(\s*feature\s*=\s*"solution",\s*path\s*=\s*"([^"]+)"\s*\)\]\s*pub mod (\w+);',
            lib,
        ):
            path = (manifest.parent / "src" / m.group(1)).resolve()
            steps.append((m.group(2), path))
        if steps:
            topics.append((topic, lib, steps))
    return topics


def split_top(s):
    parts, depth, cur = [], 0, ""
    for c in s:
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        if c == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += c
    parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def sync_item(item):
    """Where one item of `interleave::sync::{...}` lives in the real crates."""
    head = item.split("::")[0].split(" as ")[0].strip()
    if head in ("Arc", "Weak"):
        return f"std::sync::{item}"
    if head == "atomic":
        return f"std::sync::{item}"
    return f"parking_lot::{item}"


def swap(text):
    """The file with interleave's imports replaced by the real crates'."""

    def group(m):
        lines = [f"{m.group(1)}use {sync_item(item)};" for item in split_top(m.group(2))]
        return "\n".join(lines)

    text = re.sub(r"^([ \t]*(?:pub(?:\([^)]*\))? )?)use interleave::sync::\{(.*?)\};", group, text,
                  flags=re.M | re.S)
    for old, new in [
        ("interleave::sync::atomic", "std::sync::atomic"),
        ("interleave::sync::Arc", "std::sync::Arc"),
        ("interleave::sync::Weak", "std::sync::Weak"),
        ("interleave::sync::", "parking_lot::"),
        ("interleave::thread", "std::thread"),
        ("interleave::channel", "crossbeam_channel"),
        ("interleave::time", "std::time"),
    ]:
        text = text.replace(old, new)
    return text


def scratch_lib(lib, keep, steps):
    """The topic's lib.rs with the eligible steps only, read from src/<step>.rs."""
    lib = re.sub(r"#\[cfg_attr\(.*?\)\]\s*", "", lib, flags=re.S)
    lib = re.sub(r"^pub mod (\w+);\n?",
                 lambda m: m.group(0) if m.group(1) in keep else "", lib, flags=re.M)

    # A macro over the steps (`impl_rw_monitor!(hoare, mesa, busy_wait);`): eligible only.
    def macro_args(m):
        args = [a.strip() for a in m.group(2).split(",")]
        if all(a in steps for a in args):
            args = [a for a in args if a in keep]
        return f"{m.group(1)}({', '.join(args)});"

    return re.sub(r"^(\w+!)\(([^()]*)\);", macro_args, lib, flags=re.M)


def main():
    keep_dir = "--keep" in sys.argv[1:]
    started = time.monotonic()
    versions = workspace_versions()
    topics = thread_topics()
    eligible, excluded, missing = [], [], []
    for topic, _, steps in topics:
        for step, path in steps:
            code = strip_comments(path.read_text())
            if any(t in code for t in TEXTBOOK):
                excluded.append(f"{topic}/{step}")
            else:
                eligible.append((topic, step, path))
                if not (DRIVERS / topic / f"{step}.rs").is_file():
                    missing.append(f"{topic}/{step}")
    if missing:
        for name in missing:
            topic, step = name.split("/")
            print(f"import-swap: no real-thread driver for {name}: add "
                  f"scripts/import-swap/{topic}/{step}.rs (see the others)", file=sys.stderr)
        sys.exit(1)

    scratch = Path(tempfile.mkdtemp(prefix="import-swap-"))
    try:
        members = []
        for topic, lib, steps in topics:
            keep = {s for (t, s, _) in eligible if t == topic}
            if not keep:
                continue
            members.append(topic)
            pkg = scratch / topic
            (pkg / "src").mkdir(parents=True)
            (pkg / "Cargo.toml").write_text(
                f'[package]\nname = "{topic}"\nversion = "0.1.0"\nedition = "2024"\n'
                'publish = false\n\n[dependencies]\nparking_lot.workspace = true\n'
                'crossbeam-channel.workspace = true\n'
            )
            names = {s for s, _ in steps}
            (pkg / "src" / "lib.rs").write_text(swap(scratch_lib(lib, keep, names)))
            for step, path in steps:
                if step in keep:
                    text = swap(path.read_text())
                    left = [line for line in strip_comments(text).splitlines()
                            if "interleave" in line]
                    if left:
                        sys.exit(f"import-swap: {path.relative_to(ROOT)} uses interleave items "
                                 f"the real crates lack: {left[0].strip()}")
                    (pkg / "src" / f"{step}.rs").write_text(text)
        drivers = scratch / "drivers"
        stress = drivers / "tests" / "stress"
        stress.mkdir(parents=True)
        deps = "".join(f'{t} = {{ path = "../{t}" }}\n' for t in members)
        (drivers / "Cargo.toml").write_text(
            '[package]\nname = "drivers"\nversion = "0.1.0"\nedition = "2024"\n'
            f"publish = false\n\n[dependencies]\n{deps}"
            "parking_lot.workspace = true\ncrossbeam-channel.workspace = true\n"
        )
        (drivers / "src").mkdir()
        (drivers / "src" / "lib.rs").write_text("//! Real-thread drivers of the references.\n")
        shutil.copy(DRIVERS / "common.rs", stress / "common.rs")
        mods = ["//! One real-thread stress test per reference.", "mod common;"]
        for topic, step, _ in eligible:
            shutil.copy(DRIVERS / topic / f"{step}.rs", stress / f"{topic}_{step}.rs")
            mods.append(f"mod {topic}_{step};")
        (stress / "main.rs").write_text("\n".join(mods) + "\n")
        (scratch / "Cargo.toml").write_text(
            "[workspace]\nresolver = \"3\"\nmembers = ["
            + ", ".join(f'"{m}"' for m in members + ["drivers"])
            + "]\n\n[workspace.dependencies]\n"
            + "".join(f"{k} = {v}\n" for k, v in versions.items())
        )
        shutil.copy(ROOT / "Cargo.lock", scratch / "Cargo.lock")

        env = dict(os.environ, CARGO_TARGET_DIR=str(ROOT / "target" / "import-swap"))
        env.pop("RUSTFLAGS", None)
        manifest = ["--manifest-path", str(scratch / "Cargo.toml")]
        build = subprocess.run(["cargo", "test", "--workspace", "--no-run", *manifest],
                               env=env, capture_output=True, text=True)
        if build.returncode != 0:
            print(build.stderr, file=sys.stderr)
            failed = sorted({f"{m.group(1)}/{m.group(2)}"
                             for m in re.finditer(r"--> (\w+)/src/(\w+)\.rs", build.stderr)})
            print(f"\nimport-swap: these references do not compile once their imports are swapped: "
                  f"{', '.join(failed) or 'see above'}.\nThey use something parking_lot, std or "
                  "crossbeam-channel lack: use only what the real crates offer (the table in "
                  "crates/interleave/README.md).", file=sys.stderr)
            ok = len(eligible) - len(failed) if failed else 0
            print(f"import swap: {ok}/{len(eligible)} references compiled", file=sys.stderr)
            sys.exit(1)
        run = subprocess.run(["cargo", "test", "--workspace", *manifest, "--", "--test-threads=4"],
                             env=env, capture_output=True, text=True)
        passed = sum(int(n) for n in re.findall(r"test result: \w+\. (\d+) passed", run.stdout))
        if run.returncode != 0:
            print(run.stdout[-6000:], run.stderr[-3000:], sep="\n", file=sys.stderr)
            print("import-swap: a reference fails on real threads once its imports are swapped "
                  "(see the failing test above)", file=sys.stderr)
            sys.exit(1)
        elapsed = time.monotonic() - started
        print(f"not eligible (textbook layer, no real counterpart): {', '.join(excluded)}")
        print(f"import swap: {len(eligible)}/{len(eligible)} references compiled against "
              f"parking_lot, std and crossbeam-channel; {passed} real-thread tests and doc "
              f"examples passed ({elapsed:.0f} s)")
    finally:
        if keep_dir:
            print(f"scratch workspace kept in {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
