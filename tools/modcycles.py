#!/usr/bin/env python3
"""List the `crate::` module dependencies of a Rust library and report cycles.

For every module folder (the crate root, then each folder with a mod.rs), the
dependencies between its children (top-level folders and files, or sibling files)
are printed as `a -> b, c`, followed by the cycles among them (strongly connected
components of more than one child), or `cycles: none`.

A reference counts when a module names another one through `crate::...` or
`super::...` (in `use` or inline), with `{...}` groups expanded, and with one step
through a parent's `use`/`pub use` of a child's item (`super::Mode` where the parent
has `use mode::Mode`). A child using its parent's own items, or a parent using its
children, is layering within one module and not an edge.

Test code (`#[cfg(test)]` items and the files of `#[cfg(test)] mod x;`) is left out
unless --tests is given: tests may reach across layers to exercise them.

Usage: tools/modcycles.py [--tests] [--src DIR]   (default DIR: src, lib.rs at its top)
Exit status: 1 when there is a cycle, else 0.
"""

import argparse
import os
import re
import sys
from collections import defaultdict

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"


def strip_comments_and_strings(text):
    """Blank out comments, string and char literals, keeping offsets and newlines."""
    out = []
    i, n = 0, len(text)

    def blank(s):
        return "".join(c if c == "\n" else " " for c in s)

    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j == -1 else j
            out.append(blank(text[i:j]))
            i = j
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(blank(text[i:j]))
            i = j
        elif re.match(r'(b?r)(#*)"', text[i:i + 40]) and (i == 0 or not re.match(r"[A-Za-z0-9_]", text[i - 1])):
            m = re.match(r'(b?r)(#*)"', text[i:])
            end = '"' + m.group(2)
            j = text.find(end, i + m.end())
            j = n if j == -1 else j + len(end)
            out.append(blank(text[i:j]))
            i = j
        elif c == '"' or (c == "b" and text.startswith('b"', i)):
            j = i + (2 if c == "b" else 1)
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(blank(text[i:j]))
            i = j
        elif c == "'":
            # A char literal ('x', '\n', '\''), not a lifetime ('a).
            m = re.match(r"'(\\.[^']*|[^'\\])'", text[i:])
            if m:
                out.append(blank(m.group(0)))
                i += m.end()
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def skip_item(text, i):
    """The end of the item starting at i: after its `;` or its balanced `{...}`."""
    depth = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif c == ";" and depth == 0:
            return i + 1
        elif c == "{" and depth == 0:
            level, j = 1, i + 1
            while j < n and level:
                level += {"{": 1, "}": -1}.get(text[j], 0)
                j += 1
            return j
        i += 1
    return n


def strip_tests(text):
    """Remove #[cfg(test)] items; return (text, names of `#[cfg(test)] mod x;` files)."""
    test_mods = []
    pat = re.compile(r"#\[cfg\(test\)\]")
    while True:
        m = pat.search(text)
        if not m:
            return text, test_mods
        j = m.end()
        while True:  # further attributes and white space
            k = re.match(r"\s*(#\[[^\]]*\])?", text[j:])
            if not k.group(0):
                break
            j += k.end()
        decl = re.match(r"\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(" + IDENT + r")\s*;", text[j:])
        if decl:
            test_mods.append(decl.group(1))
        end = skip_item(text, j)
        text = text[: m.start()] + "\n" * text[m.start():end].count("\n") + text[end:]


def parse_tree(text, i):
    """Parse a use-tree/path at text[i:]: return ([segments...] list, end)."""
    paths = []
    m = re.match(r"\s*(" + IDENT + r")", text[i:])
    if not m:
        return paths, i
    seg = [m.group(1)]
    i += m.end()
    while True:
        m = re.match(r"\s*::\s*", text[i:])
        if not m:
            break
        i += m.end()
        if text.startswith("{", i):
            i += 1
            while True:
                sub, i = parse_tree(text, i)
                paths.extend(seg + s for s in sub)
                m = re.match(r"\s*(,|\})", text[i:])
                if not m:
                    return paths, i
                i += m.end()
                if m.group(1) == "}":
                    return paths, i
        if text.startswith("*", i):
            return paths + [seg], i + 1
        m = re.match(IDENT, text[i:])
        if not m:
            break
        seg.append(m.group(0))
        i += m.end()
    m = re.match(r"\s+as\s+(" + IDENT + r")", text[i:])
    alias = None
    if m:
        alias = m.group(1)
        i += m.end()
    paths.append(seg + ([("as", alias)] if alias else []))
    return paths, i


def module_files(src):
    """{module path tuple: file} for every file below src (lib.rs is the root)."""
    mods = {}
    for dirpath, _, files in os.walk(src):
        for f in files:
            if not f.endswith(".rs"):
                continue
            full = os.path.join(dirpath, f)
            rel = os.path.relpath(full, src)[:-3].split(os.sep)
            if rel == ["main"]:
                continue
            if rel == ["lib"]:
                mods[()] = full
            elif rel[-1] == "mod":
                mods[tuple(rel[:-1])] = full
            else:
                mods[tuple(rel)] = full
    return mods


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tests", action="store_true", help="count test code too")
    ap.add_argument("--src", default="src")
    args = ap.parse_args()

    files = module_files(args.src)
    texts, excluded = {}, set()
    for mod, f in files.items():
        text = strip_comments_and_strings(open(f, encoding="utf-8").read())
        if not args.tests:
            text, test_mods = strip_tests(text)
            excluded.update(mod + (t,) for t in test_mods)
        texts[mod] = text
    if not args.tests:
        for mod in list(texts):
            if any(mod[: len(e)] == e for e in excluded):
                del texts[mod]
    modules = set(texts)

    # Names each module imports (`use path::Name [as Alias]`), for one re-export step.
    imports = defaultdict(dict)
    refs = defaultdict(list)  # module -> [absolute segment lists]
    for mod, text in texts.items():
        for m in re.finditer(r"(?<![A-Za-z0-9_:])(crate|super)\s*::", text):
            start = m.start()
            paths, _ = parse_tree(text, start)
            is_use = re.search(r"\buse\s+$", text[max(0, start - 40):start]) is not None
            for p in paths:
                alias = None
                if p and isinstance(p[-1], tuple):
                    alias = p[-1][1]
                    p = p[:-1]
                absolute = resolve(mod, p)
                if absolute is None:
                    continue
                refs[mod].append(absolute)
                if is_use and absolute:
                    imports[mod][alias or absolute[-1]] = absolute
        # `use child::Name` inside a module: imports from its own children.
        for m in re.finditer(r"\buse\s+(" + IDENT + r")\s*::", text):
            if m.group(1) in ("crate", "super", "self", "std", "core", "alloc"):
                continue
            if mod + (m.group(1),) not in modules:
                continue
            paths, _ = parse_tree(text, m.start(1))
            for p in paths:
                alias = p[-1][1] if p and isinstance(p[-1], tuple) else None
                p = [s for s in p if not isinstance(s, tuple)]
                imports[mod][alias or p[-1]] = list(mod) + p

    def target_module(path):
        """The module a path names: its longest module prefix, one re-export deep."""
        for _ in range(3):
            k = len(path)
            while k > 0 and tuple(path[:k]) not in modules:
                k -= 1
            mod = tuple(path[:k])
            if k < len(path) and path[k] in imports.get(mod, {}):
                via = imports[mod][path[k]]
                if tuple(via[: len(mod)]) == mod and len(via) > len(mod):
                    path = list(via) + list(path[k + 1:])
                    continue
            return mod
        return mod

    edges = defaultdict(lambda: defaultdict(set))  # level -> a -> {b}
    for src_mod, paths in refs.items():
        for p in paths:
            dst = target_module(p)
            k = 0
            while k < min(len(src_mod), len(dst)) and src_mod[k] == dst[k]:
                k += 1
            if k == len(src_mod) or k == len(dst):
                continue  # parent and descendant: layering within one module
            edges[tuple(src_mod[:k])][src_mod[k]].add(dst[k])

    any_cycle = False
    levels = sorted({m[:-1] for m in modules if m} , key=lambda m: (len(m), m))
    for level in levels:
        children = sorted({m[len(level)] for m in modules if len(m) > len(level) and m[: len(level)] == level})
        if len(children) < 2:
            continue
        name = "crate" if not level else "crate::" + "::".join(level)
        what = "top-level modules" if not level else "sibling files"
        print(f"{name} ({what}):")
        graph = edges.get(level, {})
        for a in children:
            deps = sorted(graph.get(a, ()))
            print(f"  {a} -> {', '.join(deps) if deps else '(nothing)'}")
        cycles = [c for c in sccs(children, graph) if len(c) > 1]
        if cycles:
            any_cycle = True
            for c in cycles:
                print(f"  CYCLE: {' <-> '.join(sorted(c))}")
        else:
            print("  cycles: none")
    return 1 if any_cycle else 0


def resolve(mod, path):
    """A `crate::`/`super::` path as absolute segments (without `crate`)."""
    path = list(path)
    if not path:
        return None
    if path[0] == "crate":
        return path[1:]
    base = list(mod)
    while path and path[0] == "super":
        if not base:
            return None
        base.pop()
        path.pop(0)
    return base + path


def sccs(nodes, graph):
    """Tarjan's strongly connected components."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(comp)

    for v in nodes:
        if v not in index:
            visit(v)
    return out


if __name__ == "__main__":
    sys.exit(main())
