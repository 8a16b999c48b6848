#!/usr/bin/env python3
"""check-includes.py - the include graph of milter/ follows the layers.

Layers, bottom up: util, policy, tier, core, then daemon and cli side by
side.  A file may include headers of its own layer and of the layers below
it, never above and never the other program's; a module (milter/modules/NAME/)
includes only <mxparity/module.h>, system headers and its own folder.  Any
cycle between files is named, even inside one layer.  Exit 1 on a finding.
Usage: check-includes.py SRCDIR
"""
import os
import re
import sys

RANK = {"util": 0, "policy": 1, "tier": 2, "core": 3, "daemon": 4, "cli": 4}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def layer_of(rel):
    """The layer of a path under milter/, or 'modules/NAME'."""
    parts = rel.split("/")
    if parts[0] == "modules" and len(parts) > 2:
        return "modules/" + parts[1]
    return parts[0] if len(parts) > 1 else None


AUDIT_SPF_HEADERS = ("modules/spf/evaluate.h", "modules/spf/syntax.h")


def main(srcdir):
    root = os.path.join(srcdir, "milter")
    files = {}
    for d, _, names in os.walk(root):
        # A module's tests use the core and the fixtures: they are tests, not module code.
        if "/tests/" in "/" + os.path.relpath(d, root) + "/":
            continue
        for n in names:
            if n.endswith((".c", ".h")):
                rel = os.path.relpath(os.path.join(d, n), root)
                with open(os.path.join(d, n), encoding="utf-8") as f:
                    files[rel] = INCLUDE.findall(f.read())
    problems = []
    graph = {}
    for rel, incs in sorted(files.items()):
        layer = layer_of(rel)
        if layer is None:
            problems.append(f"milter/{rel}: a file outside the layer folders")
            continue
        graph[rel] = []
        for inc in incs:
            # Generated at the top of the build tree: configure's results and paths.
            if inc in ("config.h", "build_paths.h"):
                continue
            # The one way up into a module: the audit judges SPF records with the spf
            # module's own check_host() and grammar, compiled into the tool as well.
            if rel == "cli/audit_spf.c" and inc in AUDIT_SPF_HEADERS:
                continue
            if layer.startswith("modules/"):
                target = os.path.normpath(os.path.join(os.path.dirname(rel), inc))
                if not target.startswith(layer + "/") or target not in files:
                    problems.append(f"milter/{rel}: includes \"{inc}\": a module includes "
                                    "only <mxparity/module.h> and its own folder")
                    continue
            else:
                target = inc
                tl = layer_of(target)
                if target not in files or tl is None or tl.startswith("modules/"):
                    problems.append(f"milter/{rel}: includes \"{inc}\", which is no core header "
                                    "(write LAYER/NAME.h)")
                    continue
                if RANK[tl] > RANK[layer] or (RANK[tl] == RANK[layer] and tl != layer):
                    problems.append(f"milter/{rel}: layer {layer} includes \"{inc}\" of layer "
                                    f"{tl}, which is not below it")
            if target in files:
                graph[rel].append(target)
    # Cycles between files (a header and its own .c are one node's two halves: skip x.c -> x.h).
    state = {}
    stack = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1:
                cyc = stack[stack.index(nxt):] + [nxt]
                problems.append("include cycle: " + " -> ".join("milter/" + c for c in cyc))
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    # A .c file stands for its header too: policy.c -> modreg.h and modreg.c -> policy.h is a cycle.
    unit = {}
    for rel in graph:
        base = rel[:-2]
        unit.setdefault(base, set()).update(t[:-2] for t in graph[rel])
    for base in unit:
        unit[base].discard(base)
    graph = {b: sorted(t for t in ts if t in unit) for b, ts in unit.items()}
    for node in sorted(graph):
        if node not in state:
            visit(node)
    for p in problems:
        print(p)
    if problems:
        print(f"check-includes: {len(problems)} problem(s)")
        return 1
    print(f"check-includes: {len(files)} files, layers and include graph ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))
