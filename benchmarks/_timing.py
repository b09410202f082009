"""Small timing helpers shared by the benchmarks: best-of-k wall time and a plain-text table."""

import time


def best_time(fn, repeat=20, warmup=2, max_seconds=None, warmup_seconds=0.0):
    """Best wall time in seconds of ``fn()`` over ``repeat`` calls, after untimed warm-up calls.

    The minimum is the least disturbed measurement (other processes, page faults, frequency
    changes only ever add time). Warm-up makes at least ``warmup`` calls and goes on until
    ``warmup_seconds`` have passed: thread pools of BLAS or OpenMP keep spinning for some
    milliseconds after their last job, and a warm-up long enough lets the pools of a library
    timed just before go quiet. With ``max_seconds``, timing stops early once that much time
    has been spent on timed calls and at least three calls were made.
    """
    start = time.perf_counter()
    done = 0
    while done < warmup or time.perf_counter() - start < warmup_seconds:
        fn()
        done += 1
    best, spent = float("inf"), 0.0
    for k in range(max(1, repeat)):
        start = time.perf_counter()
        fn()
        elapsed = time.perf_counter() - start
        best, spent = min(best, elapsed), spent + elapsed
        if max_seconds is not None and spent > max_seconds and k >= 2:
            break
    return best


def format_seconds(seconds):
    """A duration with a unit a reader takes in at a glance: '850 us', '12.3 ms', '1.93 s'."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} us"
    if seconds < 1.0:
        return f"{seconds * 1e3:.3g} ms" if seconds < 0.1 else f"{seconds * 1e3:.0f} ms"
    return f"{seconds:.3g} s"


def print_table(headers, rows, title=None):
    """Print rows (sequences of values, shown with str) under headers, columns aligned.

    The first column is aligned left, the others right (they are usually numbers).
    """
    cells = [[str(h) for h in headers]] + [[str(v) for v in row] for row in rows]
    widths = [max(len(row[j]) for row in cells) for j in range(len(headers))]

    def line(row):
        return "  ".join(c.ljust(w) if j == 0 else c.rjust(w)
                         for j, (c, w) in enumerate(zip(row, widths, strict=True)))

    if title:
        print(title)
    print(line(cells[0]))
    print("  ".join("-" * w for w in widths))
    for row in cells[1:]:
        print(line(row))
    print()
