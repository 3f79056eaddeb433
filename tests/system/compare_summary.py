#!/usr/bin/env python3
"""compare_summary.py GOT.json WANT.json: every key of WANT present in GOT
with an equal value (floats to 1e-9 relative). Exit 1 and say which differ."""
import json
import sys

got, want = (json.load(open(p)) for p in sys.argv[1:3])
bad = []
for k, w in want.items():
    g = got.get(k)
    if g is None:
        bad.append(f"{k}: missing")
    elif isinstance(w, float) or isinstance(g, float):
        if abs(g - w) > 1e-9 * max(1.0, abs(w)):
            bad.append(f"{k}: got {g!r}, want {w!r}")
    elif g != w:
        bad.append(f"{k}: got {g!r}, want {w!r}")
extra = set(got) - set(want)
if extra:
    bad.append(f"unexpected keys: {sorted(extra)}")
if bad:
    print("; ".join(bad))
    sys.exit(1)
