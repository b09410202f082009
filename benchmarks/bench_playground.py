"""Benchmark: frames per second of the notebook Playground (nnutils.widgets.playground).

    python benchmarks/bench_playground.py        (about 20-40 s; prints two tables, exits 0)

What a frame is. While Play is on, the app's background thread does, per frame: one training
epoch (one pass over the training points in mini-batches), then a full redraw: the 100 x 100
output heat map with the data points rasterized onto it (300 x 300 pixels), one thumbnail per
hidden neuron and for the output (a forward pass on a 20 x 20 grid), the weights between the
rows, the loss chart and the loss numbers, every image encoded to PNG and assigned to its
``ipywidgets.Image``. That is ``PlaygroundApp._frame``, the very method the thread calls.

Table 1 times ``_frame`` directly, 40 frames per setting after 3 untimed ones, and reports the
median frame and the fastest one (the least disturbed by other programs on the machine), and
the training and drawing parts of a frame, timed separately (medians): frames per second =
1 / median frame, and the verdict is on that. Table 2 runs the real thread (Play, uncapped
frame rate) for 3 s per setting and counts the frames drawn, which adds the thread's short
pauses between frames. The machine's load average is printed first: the 2 cores may be shared,
and a busy machine slows every number here.

Settings: the Playground's defaults (circle, features x1 and x2, layers [4, 2], batch 10,
250 training points); the largest network (6 hidden layers of 8 neurons); batch size 1 (250
weight updates per epoch); both at once; and the heaviest case the controls allow (spiral, all
seven features, 6 x 8, batch 1, 90 % training data).

The target is the original's: the TensorFlow Playground trains one epoch and repaints every
animation frame, and we ask for at least 10 frames per second on this 2-core machine.
"""

import os
import statistics
import sys
import time
from pathlib import Path

try:
    from nnutils.widgets.playground import PlaygroundApp
except ImportError:  # a checkout that was never pip-installed: use the source tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from nnutils.widgets.playground import PlaygroundApp
from _timing import format_seconds, print_table

TARGET_FPS = 10.0
FRAMES, WARMUP, THREAD_SECONDS = 40, 3, 3.0
ALL = ("x1", "x2", "x1^2", "x2^2", "x1x2", "sin(x1)", "sin(x2)")
CASES = [
    ("default (circle, [4, 2], batch 10)", {}),
    ("6 layers x 8 neurons", {"hidden_layers": (8,) * 6}),
    ("batch size 1", {"batch_size": 1}),
    ("6 x 8, batch 1", {"hidden_layers": (8,) * 6, "batch_size": 1}),
    ("spiral, 7 features, 6 x 8, batch 1, 90 %",
     {"dataset": "spiral", "features": ALL, "hidden_layers": (8,) * 6, "batch_size": 1,
      "train_percent": 90}),
]


def frame_times(fn, count):
    times = []
    for _ in range(count):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def time_frames(changes):
    app = PlaygroundApp(**changes)
    for _ in range(WARMUP):
        app._frame()
    frames = frame_times(app._frame, FRAMES)
    train = statistics.median(frame_times(app.engine.step, FRAMES // 2))
    draw = statistics.median(frame_times(app.redraw, FRAMES // 2))
    return statistics.median(frames), min(frames), train, draw


def time_thread(changes):
    app = PlaygroundApp(max_fps=None, **changes)
    app.play()
    time.sleep(THREAD_SECONDS)
    app.pause()
    assert not app.is_playing, "the training thread did not stop"
    return app.frames / THREAD_SECONDS


def verdict(fps):
    return "ok" if fps >= TARGET_FPS else "TOO SLOW"


def main():
    print(__doc__.split("\n\n")[0].strip().splitlines()[0])
    print(f"Reference: the original TensorFlow Playground trains one epoch and repaints once per "
          f"animation frame; its target here: >= {TARGET_FPS:g} frames per second.")
    print("Load average (1, 5, 15 min): " + ", ".join(f"{v:.2f}" for v in os.getloadavg())
          + f" on {os.cpu_count()} cores\n")
    rows = []
    for name, changes in CASES:
        frame, best, train, draw = time_frames(changes)
        rows.append([name, format_seconds(train), format_seconds(draw), format_seconds(frame),
                     format_seconds(best), f"{1 / frame:.1f}", verdict(1 / frame)])
    print_table(["setting", "epoch", "redraw", "frame (median)", "frame (best)", "fps",
                 f">= {TARGET_FPS:g}?"],
                rows, title="1. One frame = one epoch + a full redraw (PlaygroundApp._frame)")
    rows = []
    for name, changes in CASES:
        fps = time_thread(changes)
        rows.append([name, f"{fps:.1f}", verdict(fps)])
    print_table(["setting", "fps while playing", f">= {TARGET_FPS:g}?"], rows,
                title=f"2. The Play thread, uncapped, for {THREAD_SECONDS:g} s per setting")
    return 0


if __name__ == "__main__":
    sys.exit(main())
