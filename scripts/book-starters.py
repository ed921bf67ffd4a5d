#!/usr/bin/env python3
"""Copies the starters the book shows into book/starters/, where no student edits them.

    python3 scripts/book-starters.py           copy (and remove copies no chapter includes)
    python3 scripts/book-starters.py --check   only say whether the copies are up to date

The book never includes exercises/: a student edits those files, and the book would show
their edits (or an empty listing, after a deleted ANCHOR line) where it promises "the
starter". Chapters include `../starters/<dir>/<file>.rs` instead, a byte-for-byte copy of
`exercises/<dir>/<file>.rs` as shipped. Run this after changing a starter the book shows,
or after including a new one; `cargo course verify` and the book's preprocessor report a
copy that is stale or missing. Run it on the course as shipped, not on a student's tree.
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "book" / "src"
STARTERS = ROOT / "book" / "starters"
EXERCISES = ROOT / "exercises"
INCLUDE = re.compile(r"(?<!\\)\{\{#(?:rustdoc_)?include\s+([^}:]+)")


def included() -> dict[Path, list[str]]:
    """Every starter copy a chapter includes: its path under book/starters, and where."""
    found: dict[Path, list[str]] = {}
    for md in sorted(SRC.rglob("*.md")):
        for number, line in enumerate(md.read_text(encoding="utf-8").splitlines(), 1):
            for match in INCLUDE.finditer(line):
                target = (md.parent / match.group(1).strip()).resolve()
                try:
                    rel = target.relative_to(STARTERS)
                except ValueError:
                    continue
                found.setdefault(rel, []).append(f"{md.relative_to(ROOT)}:{number}")
    return found


def main(argv: list[str]) -> int:
    check = argv == ["--check"]
    if argv and not check:
        print(f"book-starters: unknown arguments {' '.join(argv)!r} (expected nothing or --check)",
              file=sys.stderr)
        return 2
    wanted = included()
    problems = []
    for rel, places in sorted(wanted.items()):
        source = EXERCISES / rel
        copy = STARTERS / rel
        if not source.is_file():
            problems.append(f"{places[0]} includes book/starters/{rel}, but exercises/{rel} "
                            "does not exist: fix the chapter's path")
            continue
        if copy.is_file() and copy.read_bytes() == source.read_bytes():
            continue
        if check:
            state = "is stale" if copy.exists() else "is missing"
            problems.append(f"book/starters/{rel} {state} (exercises/{rel} as shipped)")
        else:
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_bytes(source.read_bytes())
            print(f"book-starters: copied exercises/{rel}")
    for copy in sorted(p for p in STARTERS.rglob("*") if p.is_file()):
        rel = copy.relative_to(STARTERS)
        if rel in wanted or rel.name == "README.md":
            continue
        if check:
            problems.append(f"book/starters/{rel} is included by no chapter")
        else:
            copy.unlink()
            print(f"book-starters: removed book/starters/{rel} (no chapter includes it)")
    for d in sorted((p for p in STARTERS.rglob("*") if p.is_dir()), reverse=True):
        if not any(d.iterdir()) and not check:
            d.rmdir()
    if problems:
        for p in problems:
            print(f"book-starters: {p}", file=sys.stderr)
        if check:
            print("book-starters: run `python3 scripts/book-starters.py` to refresh the copies",
                  file=sys.stderr)
        return 1
    if check:
        print(f"book-starters: the {len(wanted)} starters the book includes are up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
