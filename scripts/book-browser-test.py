#!/usr/bin/env python3
"""The built book in a real browser: the viewer, predict mode, layout at 1280 and 800 px.

    python3 scripts/book-browser-test.py [--book DIR] [--screenshots DIR]

Opens the book built by `mdbook build book` (default: book/book) from its files in
headless Chromium, driven through the DevTools protocol over a pipe (scripts/cdp.py: the
standard library only). It

1. steps the tunnel chapter's first scenario forwards and back by clicking the viewer's
   buttons, and after each click checks the DOM against the snapshot file itself (parsed
   here, independently of the preprocessor): which row is shown, who ran, who returned,
   who is blocked, the state;
2. plays predict mode: the outcome hidden, a right and a wrong guess, the score;
3. jumps to the end of the tunnel's failing schedule and checks the failure is
   highlighted;
4. at 1280 and 800 px wide, on every chapter with a figure, checks that scenario tables
   fit (at 1280 px without scrolling, at 800 px at worst scrolling inside their block),
   that no figure or listing passes the page's edge, that long listings scroll, and that
   the page never scrolls sideways; it takes a screenshot at each width;
5. records every network request: the book must work offline (files only).

Exits non-zero with a message per problem. Chromium: Debian's `chromium` package
(`.ci/run` installs it when missing).
"""

import argparse
import json
import struct
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cdp import Browser, CdpError  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "crates/tunnel/tests/snapshots/basic__southbound_waits_until_the_last_northbound_car_leaves.snap"
SCENARIO_ID = "sc-basic-southbound-waits-until-the-last-northbound-car-leaves"
TRACE_ID = "tr-tunnel-basic"
LAYOUT_PAGES = ["tunnel", "rw_monitor", "messages", "philosophers", "locks", "bounded_buffer",
                "monitor", "pipes", "mmap", "multiplexing", "fork", "signals", "warmup",
                "scenario-tables"]

problems = []


def check(ok, message):
    if not ok:
        problems.append(message)
    return ok


def snapshot_rows(path):
    """The scenario table's rows, read from the snapshot with a plain split: step, call,
    the actors that returned, the actors still blocked, the state."""
    lines = path.read_text(encoding="utf-8").splitlines()
    body = lines[lines.index("---", 1) + 1:]
    rows = []
    for line in body[2:]:
        if line.startswith("end:") or not line.strip():
            continue
        cells = [c.strip() for c in (line + " ").split(" | ")]
        cells += [""] * (5 - len(cells))

        def actors(cell):
            return [entry.split()[0] for entry in cell.split(", ") if entry]

        rows.append({"step": int(cells[0]), "call": cells[1], "actor": cells[1].split()[0],
                     "returned": actors(cells[2]), "blocked": actors(cells[3]),
                     "state": cells[4]})
    return rows


def q(selector):
    return json.dumps(selector)


def viewer_state(page, fig):
    return page.eval("""(() => {
        const f = document.getElementById(%s);
        const vis = (e) => e && getComputedStyle(e).visibility !== 'hidden'
            && getComputedStyle(e).display !== 'none';
        const rows = (sel) => Array.from(f.querySelectorAll(sel)).map((r) => ({
            cls: r.getAttribute('class') || '', visible: vis(r)}));
        const chips = {};
        f.querySelectorAll('.viewer-lane').forEach((c) => {
            chips[c.dataset.lane] = {status: c.dataset.status, running: c.dataset.running};
        });
        const state = f.querySelector('.viewer-state');
        const fail = f.querySelector('.viewer-failure');
        return {
            current: f.dataset.current,
            position: f.querySelector('.viewer-position').textContent,
            trs: rows('tbody tr[data-row]'),
            gs: rows('g.sl-row[data-row]'),
            chips: chips,
            state: state && !state.hidden ? state.textContent : null,
            text: f.querySelector('.viewer-text').textContent,
            failure: fail && !fail.hidden ? fail.textContent : null,
            next: f.querySelector('button[data-action=next]').disabled,
        };
    })()""" % q(fig))


def test_stepping(page, book):
    page.goto((book / "tunnel.html").as_uri())
    expected = snapshot_rows(SCENARIO)
    n = len(expected)
    sel = f"#{SCENARIO_ID}"
    if not check(page.eval(f"!!document.querySelector({q(sel + ' .viewer')})"),
                 f"tunnel.html: no viewer in the figure {sel}"):
        return
    s = viewer_state(page, SCENARIO_ID)
    check(s["position"] == f"All {n} steps", f"before stepping, the viewer says {s['position']!r}")
    actors = list(s["chips"].keys())
    for k in range(1, n + 1):
        page.click(f"{sel} button[data-action=next]")
        s = viewer_state(page, SCENARIO_ID)
        row = expected[k - 1]
        where = f"tunnel scenario, after {k} click(s) on Next"
        check(s["position"] == f"Step {k} of {n}", f"{where}: position {s['position']!r}")
        check(s["current"] == str(k - 1), f"{where}: data-current {s['current']!r}")
        for kind in ("trs", "gs"):
            for i, r in enumerate(s[kind]):
                if i < k:
                    check(r["visible"], f"{where}: {kind} row {i + 1} is hidden")
                else:
                    check(not r["visible"], f"{where}: {kind} row {i + 1} (the future) is shown")
            check("vw-current" in s[kind][k - 1]["cls"], f"{where}: {kind} row {k} not current")
        for actor in actors:
            want = ("returned" if actor in row["returned"]
                    else "blocked" if actor in row["blocked"] else "idle")
            chip = s["chips"][actor]
            check(chip["status"] == want,
                  f"{where}: {actor} shown {chip['status']!r}, the snapshot says {want!r}")
            check(chip["running"] == ("true" if actor == row["actor"] else "false"),
                  f"{where}: {actor} running={chip['running']}")
        check(s["state"] == f"State: {row['state']}",
              f"{where}: state {s['state']!r}, the snapshot says {row['state']!r}")
        check(row["call"] in s["text"], f"{where}: the text {s['text']!r} lacks {row['call']!r}")
    check(s["next"], "at the last step, Next is still enabled")
    page.click(f"{sel} button[data-action=prev]")
    s = viewer_state(page, SCENARIO_ID)
    check(s["position"] == f"Step {n - 1} of {n}", f"after Back: {s['position']!r}")
    check(not s["trs"][n - 1]["visible"], "after Back, the last row is still shown")
    page.click(f"{sel} button[data-action=all]")
    s = viewer_state(page, SCENARIO_ID)
    check(s["position"] == f"All {n} steps", f"after Show all: {s['position']!r}")
    check(all(r["visible"] for r in s["trs"] + s["gs"]), "after Show all, a row is hidden")


def test_predict(page):
    sel = f"#{SCENARIO_ID}"
    page.click(f"{sel} input[data-action=predict]")

    def outcome_hidden():
        return page.eval("""(() => {
            const f = document.getElementById(%s);
            const tr = f.querySelector('tr.vw-current');
            const cell = tr && tr.querySelector('.st-returned .st-c, .st-blocked .st-c');
            return {
                hide: tr ? tr.classList.contains('vw-hide-outcome') : null,
                cellHidden: cell ? getComputedStyle(cell).visibility === 'hidden' : null,
                svgHidden: getComputedStyle(f.querySelector('g.vw-current .sl-cell')).visibility === 'hidden',
                candidates: Array.from(f.querySelectorAll('input[data-candidate]')).map((b) => b.dataset.candidate),
                next: f.querySelector('button[data-action=next]').disabled,
                result: f.querySelector('.viewer-feedback').dataset.result || null,
                right: f.querySelector('.viewer-score').dataset.right,
                done: f.querySelector('.viewer-score').dataset.done,
            };
        })()""" % q(SCENARIO_ID))

    s = outcome_hidden()
    check(s["hide"] and s["cellHidden"] and s["svgHidden"],
          f"predict mode, step 1: the outcome is not hidden ({s})")
    check(s["next"], "predict mode, step 1: Next is enabled before a guess")
    check(s["candidates"] == ["N1"], f"predict mode, step 1: candidates {s['candidates']}")
    page.click(f"{sel} input[data-candidate=N1]")
    page.click(f"{sel} button[data-action=check]")
    s = outcome_hidden()
    check(s["result"] == "right", f"predict mode, step 1: N1 returns, judged {s['result']!r}")
    check(not s["hide"], "predict mode, step 1: the outcome stays hidden after Reveal")
    page.click(f"{sel} button[data-action=next]")
    s = outcome_hidden()
    check(s["candidates"] == ["S1"], f"predict mode, step 2: candidates {s['candidates']}")
    page.click(f"{sel} button[data-action=check]")  # nothing ticked: S1 blocks
    s = outcome_hidden()
    check(s["result"] == "right", f"predict mode, step 2: S1 blocks, judged {s['result']!r}")
    page.click(f"{sel} button[data-action=next]")
    page.click(f"{sel} input[data-candidate=S1]")  # wrong: only N2 returns
    page.click(f"{sel} button[data-action=check]")
    s = outcome_hidden()
    check(s["result"] == "wrong", f"predict mode, step 3: S1 does not return, judged {s['result']!r}")
    check((s["right"], s["done"]) == ("2", "3"), f"predict mode: score {s['right']}/{s['done']}")
    page.click(f"{sel} button[data-action=all]")


def test_trace(page):
    sel = f"#{TRACE_ID}"
    if not check(page.eval(f"!!document.querySelector({q(sel + ' .viewer')})"),
                 f"tunnel.html: no viewer in the failing schedule {sel}"):
        return
    page.click(f"{sel} button[data-action=prev]")  # from "all": the last event
    s = viewer_state(page, TRACE_ID)
    last = len(s["gs"]) - 1
    check(s["position"] == f"Event {last + 1} of {last + 1}", f"failing schedule: {s['position']!r}")
    check("sl-failure" in s["gs"][last]["cls"] and "vw-current" in s["gs"][last]["cls"],
          f"failing schedule: the last row is not the highlighted failure ({s['gs'][last]['cls']})")
    check(s["chips"].get("S1", {}).get("status") == "failed",
          f"failing schedule: S1 shown {s['chips'].get('S1')}")
    check(s["failure"] and "S1 entered while N1 was still inside" in s["failure"],
          f"failing schedule: the verdict is not shown ({s['failure']!r})")
    page.click(f"{sel} button[data-action=first]")
    s = viewer_state(page, TRACE_ID)
    check(s["position"] == f"Event 1 of {last + 1}", f"failing schedule, Start: {s['position']!r}")


LAYOUT = """(() => {
    const width = document.documentElement.clientWidth;
    const main = document.querySelector('main').getBoundingClientRect();
    const out = {pageScroll: document.documentElement.scrollWidth - width, tables: [],
                 overflow: [], cut: [], figures: 0};
    document.querySelectorAll('.scenario-table-wrap').forEach((w) => {
        const t = w.querySelector('table');
        const state = t.querySelector('th:last-child').getBoundingClientRect();
        out.tables.push({id: w.closest('figure').id, scroll: t.scrollWidth - w.clientWidth,
                         right: w.getBoundingClientRect().right - main.right,
                         lastColumnRight: state.right - width});
    });
    document.querySelectorAll('main figure, main pre, main table').forEach((e) => {
        out.figures += e.tagName === 'FIGURE' ? 1 : 0;
        const r = e.getBoundingClientRect();
        if (r.right > width + 1) {
            out.overflow.push(e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + ' ends at ' + Math.round(r.right));
        }
    });
    document.querySelectorAll('main pre').forEach((p) => {
        const s = getComputedStyle(p);
        const c = p.querySelector('code') || p;
        if (p.scrollWidth > p.clientWidth + 1 && !['auto', 'scroll'].includes(s.overflowX)
            && !['auto', 'scroll'].includes(getComputedStyle(c).overflowX)) {
            out.cut.push((p.textContent || '').slice(0, 40));
        }
    });
    return out;
})()"""


def png_size(data):
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    return struct.unpack(">II", data[16:24])


def test_layout(page, book, shots):
    for width in (1280, 800):
        page.resize(width, 900)
        for name in LAYOUT_PAGES:
            path = book / f"{name}.html"
            if not check(path.is_file(), f"{path} is missing"):
                continue
            page.goto(path.as_uri())
            r = page.eval(LAYOUT)
            where = f"{name}.html at {width} px"
            check(r["pageScroll"] <= 0, f"{where}: the page scrolls sideways by {r['pageScroll']} px")
            for t in r["tables"]:
                if width >= 1280:
                    check(t["scroll"] <= 1, f"{where}: table {t['id']} needs {t['scroll']} px more")
                    check(t["lastColumnRight"] <= 1, f"{where}: table {t['id']}'s last column is off the page")
                check(t["right"] <= 1, f"{where}: table {t['id']} passes the text's edge by {t['right']} px")
            for o in r["overflow"]:
                problems.append(f"{where}: {o}, past the page's edge")
            for c in r["cut"]:
                problems.append(f"{where}: a listing is cut instead of scrolling: {c!r}")
            if name == "tunnel":
                check(r["figures"] >= 6, f"{where}: only {r['figures']} figures")
                page.eval(f"document.getElementById({q(SCENARIO_ID)}).scrollIntoView()")
                data = page.screenshot(str(shots / f"tunnel-{width}.png"), full_page=False)
                size = png_size(data)
                check(size is not None and size[0] == width,
                      f"{where}: the screenshot is {size}, not {width} px wide")


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--book", default=str(ROOT / "book" / "book"))
    parser.add_argument("--screenshots", help="keep the screenshots in this folder")
    args = parser.parse_args(argv)
    book = Path(args.book).resolve()
    if not (book / "tunnel.html").is_file():
        print(f"book-browser-test: {book}/tunnel.html is missing: build the book first "
              "(`mdbook build book`)", file=sys.stderr)
        return 2
    started = time.monotonic()
    tmp = None
    if args.screenshots:
        shots = Path(args.screenshots)
        shots.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="book-shots-")
        shots = Path(tmp.name)
    requests = []
    try:
        with Browser() as browser:
            page = browser.new_page(1280, 900)
            page.send("Network.enable")
            test_stepping(page, book)
            test_predict(page)
            test_trace(page)
            test_layout(page, book, shots)
            requests = browser.requests
            check(requests, "no request was recorded: the network check saw nothing")
            check(not browser.exceptions, f"script errors in the pages: {browser.exceptions}")
    except CdpError as e:
        problems.append(f"the browser: {e}")
    finally:
        if tmp:
            tmp.cleanup()
    online = [u for u in requests if not u.startswith(("file:", "data:", "about:"))]
    check(not online, f"the book fetched from the network: {online[:5]}")
    took = time.monotonic() - started
    if problems:
        for p in problems:
            print(f"book-browser-test: {p}", file=sys.stderr)
        print(f"book-browser-test: {len(problems)} problem(s), in {took:.1f} s", file=sys.stderr)
        return 1
    print(f"book-browser-test: the viewer, predict mode and the layout at 1280 and 800 px "
          f"work offline ({len(LAYOUT_PAGES)} pages, {took:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
