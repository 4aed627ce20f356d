#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Copies the Kubernetes JSON schemas the sandbox API validates with from a folder of
# ricoberger/kubernetes-json-schema files (KIND-GROUP-VERSION.json) into
# lua/kip/sandbox/schemas/, without descriptions and compact, so they are small enough to ship.
# Usage: scripts/import-schemas.py ../shared/k8s-schemas
import json
import os
import sys

DROP = {"description", "$schema", "x-kubernetes-group-version-kind"}


def strip(node):
    if isinstance(node, dict):
        return {k: strip(v) for k, v in node.items() if k not in DROP}
    if isinstance(node, list):
        return [strip(v) for v in node]
    return node


def main():
    src = sys.argv[1]
    dst = os.path.join(os.path.dirname(__file__), "..", "lua", "kip", "sandbox", "schemas")
    os.makedirs(dst, exist_ok=True)
    for name in sorted(os.listdir(src)):
        if not name.endswith(".json") or "cert-manager" in name:
            continue
        with open(os.path.join(src, name)) as f:
            schema = strip(json.load(f))
        with open(os.path.join(dst, name), "w") as f:
            json.dump(schema, f, separators=(",", ":"), sort_keys=True)
            f.write("\n")


if __name__ == "__main__":
    main()
