"""Benchmark: how long ``import nnutils`` takes, and that it pulls in no heavy library.

    python benchmarks/bench_import.py          (about 10-20 s; prints a table)

Every measurement runs in a FRESH Python process (an import is cached after the first time),
started with the interpreter running this script. Inside the child, the import is timed with
``time.perf_counter`` around the import statement alone, so interpreter start-up is not counted.
Measured, alternating run by run so that a burst of load hits all alike, RUNS times each:

    numpy            import numpy
    nnutils          import nnutils                  (numpy included)
    nnutils + train  import nnutils, nnutils.models, nnutils.train (what a training notebook needs)

The cost of nnutils itself is median(nnutils) − median(numpy): the reference, numpy, is measured
in the same run. Goal: at most 300 ms.

The child also reports which modules ``sys.modules`` holds after the import. Importing nnutils
(and nnutils.models and nnutils.train) must not import matplotlib, scikit-learn or torch: they
are imported inside the functions that need them, so that a student who only wants a layer does
not pay seconds for them. The script exits 1 if one of them is imported, 0 otherwise (a missed
time goal is reported, not fatal: it depends on the machine's load).
"""

import json
import statistics
import subprocess
import sys

from _timing import print_table

RUNS = 9
GOAL_MS = 300.0
FORBIDDEN = ("matplotlib", "sklearn", "torch")
WATCHED = FORBIDDEN + ("scipy", "tqdm", "ipywidgets", "IPython", "pandas")

CHILD = """
import json, sys, time
start = time.perf_counter()
{statement}
elapsed = time.perf_counter() - start
print(json.dumps({{"seconds": elapsed,
                  "loaded": sorted({{m.split(".")[0] for m in sys.modules}})}}))
"""

CASES = {
    "numpy": "import numpy",
    "nnutils": "import nnutils",
    "nnutils + models + train": "import nnutils, nnutils.models, nnutils.train",
}


def run_child(statement: str) -> dict:
    result = subprocess.run([sys.executable, "-c", CHILD.format(statement=statement)],
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"the child process failed to run {statement!r}:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> int:
    times = {name: [] for name in CASES}
    loaded = {}
    for _ in range(RUNS):
        for name, statement in CASES.items():
            report = run_child(statement)
            times[name].append(report["seconds"])
            loaded[name] = set(report["loaded"])
    medians = {name: statistics.median(values) for name, values in times.items()}
    ref = medians["numpy"]
    rows = []
    for name in CASES:
        extra = medians[name] - ref
        heavy = sorted(m for m in WATCHED if m in loaded[name])
        rows.append((name, f"{medians[name] * 1e3:.1f} ms", f"{min(times[name]) * 1e3:.1f} ms",
                     "-" if name == "numpy" else f"{extra * 1e3:.1f} ms",
                     "-" if name == "numpy" else f"{medians[name] / ref:.2f}",
                     ", ".join(heavy) or "none"))
    print(f"Python {sys.version.split()[0]}; median and best of {RUNS} fresh processes each\n")
    print_table(["import", "median", "best", "minus numpy", "ratio to numpy",
                 f"of {', '.join(WATCHED)}"], rows, title="Import time")

    extra_ms = (medians["nnutils"] - ref) * 1e3
    print(f"import nnutils costs {extra_ms:.1f} ms on top of numpy: goal <= {GOAL_MS:.0f} ms:"
          f" {'ok' if extra_ms <= GOAL_MS else 'MISSED'}")
    bad = {name: sorted(m for m in FORBIDDEN if m in loaded[name]) for name in CASES}
    bad = {name: mods for name, mods in bad.items() if mods and name != "numpy"}
    if bad:
        for name, mods in bad.items():
            print(f"FAILED: {name} imports {', '.join(mods)}; import them inside the functions"
                  f" that use them")
        return 1
    print(f"ok: no import of {', '.join(FORBIDDEN)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
