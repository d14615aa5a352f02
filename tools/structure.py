#!/usr/bin/env python3
"""Check the shape rules of src/: no function over 80 lines outside tests, no file over
600 lines. Prints each offender; exits 1 if there is any. `make lint` runs it, together
with tools/modcycles.py (no module cycles)."""

import os
import re
import sys

MAX_FN = 80
MAX_FILE = 600
FN = re.compile(r'^(\s*)(pub(\([a-z]+\))? )?(const )?(unsafe )?(extern "C" )?fn (\w+)')


def offenders(path):
    lines = open(path, encoding="utf-8").read().split("\n")
    if len(lines) - 1 > MAX_FILE:
        yield f"{path}: {len(lines) - 1} lines (max {MAX_FILE})"
    # Unit tests sit in a trailing `#[cfg(test)] mod tests`; they are not measured.
    end = next((i for i, l in enumerate(lines) if re.match(r"\s*#\[cfg\(test\)\]", l)), len(lines))
    for i in range(end):
        m = FN.match(lines[i])
        if not m or lines[i].rstrip().endswith(";"):
            continue
        close = m.group(1) + "}"
        j = next((j for j in range(i, end) if lines[j] == close), i)
        if j - i + 1 > MAX_FN:
            yield f"{path}:{i + 1}: fn {m.group(7)} is {j - i + 1} lines (max {MAX_FN})"


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "src"
    bad = []
    for dirpath, _, files in os.walk(root):
        for f in sorted(files):
            if f.endswith(".rs"):
                bad.extend(offenders(os.path.join(dirpath, f)))
    for b in bad:
        print(b)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
