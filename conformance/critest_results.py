#!/usr/bin/env python3
"""critest_results.py LOGS HANDLER... — counts of one critest.sh run from ginkgo's reports.

For each handler, LOGS/<handler>.json: one line "<handler>: N passed, M failed, K skipped"
and the failing specs. Specs left out by the selection (critest-skip.txt, FOCUS) are not
counted; "skipped" are the selected specs that skipped themselves (their reason is printed).
Then, for each berth handler (berth, berth-shim), the specs that failed with it and passed
with runc. Exit status 1 when there are such berth-only failures or a report is missing;
without runc to compare with, on any failure.
"""

import json
import os
import sys

FAILED = {"failed", "panicked", "timedout", "interrupted", "aborted"}


def reason(message):
    """The failure message's first line, and the CRI's error when there is one."""
    lines = [l.strip() for l in message.strip().splitlines() if l.strip()]
    first = lines[0] if lines else ""
    desc = next((l[l.index("desc = "):] for l in lines if "desc = " in l), "")
    return (first + (" — " + desc if desc else ""))[:300]


def results(path):
    """{spec name: (state, message)} of the selected specs of one report."""
    with open(path) as f:
        suites = json.load(f)
    out = {}
    for suite in suites:
        for r in suite.get("SpecReports") or []:
            if r.get("LeafNodeType") != "It":
                continue
            name = " ".join((r.get("ContainerHierarchyTexts") or []) + [r["LeafNodeText"]])
            state = r.get("State")
            message = (r.get("Failure") or {}).get("Message", "")
            # A spec the selection left out is "skipped" with no failure message.
            if state == "skipped" and not message:
                continue
            out[name] = ("failed" if state in FAILED else state, message)
    return out


def main():
    logs, handlers = sys.argv[1], sys.argv[2:]
    per = {}
    ok = True
    for h in handlers:
        walk = os.path.join(logs, h + "-walk.log")
        if os.environ.get("WALK", "1") != "0" and os.path.exists(walk):
            last = open(walk).read().splitlines()[-1:] or ["(empty)"]
            print(last[0].lstrip("# "))
            if not last[0].endswith(" 0 failed"):
                ok = False
        if os.environ.get("CRITEST", "1") == "0":
            continue
        path = os.path.join(logs, h + ".json")
        if not os.path.exists(path):
            print(f"{h}: no report ({path})")
            ok = False
            continue
        res = per[h] = results(path)
        n = {s: sum(1 for v in res.values() if v[0] == s) for s in ("passed", "failed", "skipped")}
        print(f"{h}: {n['passed']} passed, {n['failed']} failed, {n['skipped']} skipped")
        for name, (state, msg) in sorted(res.items()):
            if state == "failed":
                print(f"  FAIL {name}\n       {reason(msg)}")
        for name, (state, msg) in sorted(res.items()):
            if state == "skipped":
                print(f"  skip {name}: {msg.strip()[:120]}")
    berths = [h for h in per if h.startswith("berth")]
    if "runc" in per and berths:
        for h in berths:
            only = [n for n, (s, _) in per[h].items()
                    if s == "failed" and per["runc"].get(n, ("",))[0] == "passed"]
            if only:
                print(f"{h}-only failures: {len(only)}")
                for name in sorted(only):
                    print(f"  {name}")
                ok = False
            else:
                print(f"{h}-only failures: none")
    elif any(s == "failed" for res in per.values() for s, _ in res.values()):
        # Nothing to compare with: every failure counts.
        ok = False
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
