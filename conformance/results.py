#!/usr/bin/env python3
"""Turns the suites' TAP output into results for conformance/run.sh, and judges them.

    results.py rt OUT NAME RC          runtime-tools program output -> result lines
    results.py bats TAP SRC NAME RC HAVE_DEBIAN
                                       bats TAP output -> result lines
    results.py verdict RESULTS EXPECTED full|partial "SUITES"
                                       compare with expected.txt; exit 1 if worse

A result line is "PASS|FAIL|SKIP<TAB>ID"; an ID is "SUITE/FILE: test name".
"""

import re
import os
import sys

RANK = {"SKIP": 0, "PASS": 1, "FAIL": 2}  # one failing occurrence fails the test

# The programs that pass when the runtime refuses the config (they call util.Fatal, exit 1,
# when it runs instead): their TAP, if any, is the container's and is not the result.
EXPECT_ERROR = {"process_capabilities_fail.t", "process_rlimits_fail.t"}


def normalize(desc):
    """Test names must be stable across runs: drop temp dirs and container ids."""
    desc = re.sub(r"/tmp/ocitest\d+", "/tmp/ocitestN", desc)
    desc = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "UUID", desc)
    return desc.strip() or "(unnamed)"


def runtime_tools(out_path, name, rc):
    """A test is a (program, description) pair: the programs repeat a description once per
    config variant. The pseudo-test "(outcome)" holds what the result lines cannot say: the
    program timed out or failed (exit status), printed no plan or fewer results than its
    plan (the container never ran: runtimetest's TAP is relayed only when it did), or printed
    an error diagnostic outside any result (how the hook programs report a failure)."""
    prefix = "runtime-tools/" + name
    status, order = {}, []
    plan, results, loose_errors = None, 0, 0
    in_yaml = loose_yaml = False
    last_was_result = False
    for line in open(out_path, errors="replace"):
        line = line.rstrip("\n")
        stripped = line.strip()
        if in_yaml:
            if stripped == "...":
                in_yaml = last_was_result = False
            elif loose_yaml and stripped.startswith('"error"'):
                loose_errors += 1
            continue
        if stripped == "---":
            in_yaml, loose_yaml = True, not last_was_result
            continue
        m = re.match(r"^1\.\.(\d+)", line)
        if m:
            plan = int(m.group(1))
            last_was_result = False
            continue
        m = re.match(r"^(not ok|ok)\b\s*\d*\s*(?:- )?(.*)$", line)
        if not m:
            # A description can go on over more lines ("Refer to: ..."); its diagnostic
            # block still belongs to the result.
            continue
        last_was_result = True
        results += 1
        desc, directive = m.group(2), ""
        d = re.search(r"\s+#\s*(SKIP|TODO)\b.*$", desc, re.I)
        if d:
            directive, desc = d.group(1).upper(), desc[: d.start()]
        desc = normalize(desc)
        if directive == "SKIP":
            st = "SKIP"
        else:
            st = "PASS" if m.group(1) == "ok" else "FAIL"
        if desc not in status:
            order.append(desc)
            status[desc] = st
        elif RANK[st] > RANK[status[desc]]:
            status[desc] = st
    if name in EXPECT_ERROR:
        ok = rc == 0 and results == 0
        print("%s\t%s: (outcome: the runtime refuses the config)" % ("PASS" if ok else "FAIL", prefix))
        return
    ok = (
        rc == 0
        and plan is not None
        and results >= plan
        and loose_errors == 0
    )
    print("%s\t%s: (outcome)" % ("PASS" if ok else "FAIL", prefix))
    for desc in order:
        print("%s\t%s: %s" % (status[desc], prefix, desc))


def bats(tap_path, src_path, name, rc, have_debian):
    prefix = "bats/" + name
    names = []
    for line in open(src_path, errors="replace"):
        m = re.match(r'^@test\s+"(.*)"\s*\{$', line.strip())
        if m:
            names.append(m.group(1).replace('\\"', '"'))
    seen = {}
    for line in open(tap_path, errors="replace"):
        line = line.rstrip("\n")
        m = re.match(r"^(not ok|ok) \d+ (.*?)( # skip\b.*)?$", line)
        if not m:
            continue
        test = m.group(2)
        st = "SKIP" if m.group(3) else ("PASS" if m.group(1) == "ok" else "FAIL")
        # setup_debian on the empty placeholder image is an environment gap, not a result.
        if have_debian == "no" and name == "hooks.bats":
            st = "SKIP"
        seen[test] = st
    for test in names:
        # Never reported: the file timed out (or bats died) before reaching it.
        seen.setdefault(test, "FAIL")
    for test, st in seen.items():
        print("%s\t%s: %s" % (st, prefix, test))


def read_expected(path):
    """expected.txt: "ID :: environment|difference|defect: reason"; '#' starts a comment."""
    expected, bad = {}, []
    for n, line in enumerate(open(path), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        tid, sep, reason = line.partition(" :: ")
        kind = reason.split(":", 1)[0]
        if not sep or kind not in ("environment", "difference", "defect"):
            bad.append("%s:%d: want 'ID :: environment|difference|defect: reason'" % (path, n))
        elif tid in expected:
            bad.append("%s:%d: %s is listed twice" % (path, n, tid))
        expected[tid] = reason
    return expected, bad


def verdict(results_path, expected_path, mode, suites):
    results = {}
    for line in open(results_path):
        st, tid = line.rstrip("\n").split("\t", 1)
        results[tid] = st
    expected, bad = read_expected(expected_path) if expected_path else ({}, [])
    unexpected = sorted(t for t, s in results.items() if s == "FAIL" and t not in expected)
    fixed = sorted(t for t, s in results.items() if s == "PASS" and t in expected)
    xfail = [t for t, s in results.items() if s == "FAIL" and t in expected]
    ran = tuple(s + "/" for s in suites.split())
    stale = []
    if mode == "full":
        stale = sorted(t for t in expected if t not in results and t.startswith(ran))
    for b in bad:
        print("expected.txt: " + b)
    if expected_path:
        for t in unexpected:
            print("UNEXPECTED FAILURE: " + t)
        for t in fixed:
            print("now passes, remove from expected.txt: " + t)
        for t in stale:
            print("in expected.txt but not run: " + t)
        print("%d failures listed in expected.txt, %d not listed, %d listed tests now pass"
              % (len(xfail), len(unexpected), len(fixed)))
    for suite in suites.split():
        vals = [v for t, v in results.items() if t.startswith(suite + "/")]
        print("%s: %d passed, %d failed, %d skipped"
              % (suite, vals.count("PASS"), vals.count("FAIL"), vals.count("SKIP")))
    n = {s: sum(1 for v in results.values() if v == s) for s in RANK}
    # The last line, and the only one in this shape.
    print("%d passed, %d failed, %d skipped" % (n["PASS"], n["FAIL"], n["SKIP"]))
    return 1 if (expected_path and unexpected) or bad else 0


def peers(rt_logs, peers_path):
    """Compare each runtime-tools program's TAP counts with the better of runc and youki
    (runtime-tools-peers.txt: name runc_ok runc_notok youki_ok youki_notok). Worse means
    fewer ok lines than that peer, or as many with more not-ok lines."""
    worse, compared = [], 0
    for line in open(peers_path):
        f = line.split()
        if not f or f[0].startswith("#") or len(f) != 5:
            continue
        out = os.path.join(rt_logs, f[0] + ".out")
        if not os.path.exists(out):
            continue
        text = open(out, errors="replace").read().splitlines()
        ok = sum(1 for t in text if t.startswith("ok "))
        notok = sum(1 for t in text if t.startswith("not ok "))
        runc, youki = (int(f[1]), int(f[2])), (int(f[3]), int(f[4]))
        best = max(runc, youki, key=lambda p: (p[0], -p[1]))
        compared += 1
        if ok < best[0] or (ok == best[0] and notok > best[1]):
            worse.append("%s: %d ok, %d not ok; the better peer %d ok, %d not ok"
                         % (f[0], ok, notok, best[0], best[1]))
    for w in worse:
        print("WORSE THAN PEERS: runtime-tools/" + w)
    print("runtime-tools vs runc 1.1.5 and youki 0.7: %d programs compared, %d worse"
          % (compared, len(worse)))
    return 1 if worse else 0


def main(argv):
    cmd = argv[1]
    if cmd == "rt":
        runtime_tools(argv[2], argv[3], int(argv[4]))
    elif cmd == "bats":
        bats(argv[2], argv[3], argv[4], int(argv[5]), argv[6])
    elif cmd == "peers":
        return peers(argv[2], argv[3])
    elif cmd == "verdict":
        return verdict(argv[2], argv[3], argv[4], argv[5])
    else:
        sys.exit("results.py: unknown command " + cmd)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
