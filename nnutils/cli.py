"""``nncourse`` (also ``python -m nnutils``): check, release and grade the course.

    nncourse check [PATHS...]            execute notebooks headlessly; exit 1 if any fails
    nncourse release [ASSIGNMENT...]     regenerate assignments/ from solutions/ (--check)
    nncourse grade ASSIGNMENT SUBMISSIONS --out DIR [--jobs N] [--timeout S] [--memory MB]

Errors in the request (an unknown assignment, a missing folder) print one line and exit 2.
"""

import argparse
import os
import sys
import warnings
from pathlib import Path


def _root(args) -> Path:
    from .course import find_root
    return find_root(Path(args.course) if args.course else None)


def cmd_check(args) -> int:
    from .course import CourseError, all_notebooks, check_notebooks, check_table

    root = _root(args)
    if args.paths:
        paths = []
        for p in args.paths:
            path = Path(p).resolve()
            if path.is_dir():
                paths += sorted(q for q in path.rglob("*.ipynb")
                                if ".ipynb_checkpoints" not in q.parts)
            elif path.suffix == ".ipynb" and path.is_file():
                paths.append(path)
            else:
                raise CourseError(f"{p} is not a notebook or a folder")
            if root not in path.parents and path != root:
                raise CourseError(f"{p} is not inside the course {root}")
    else:
        paths = all_notebooks(root)
    if not paths:
        print("no notebooks to check")
        return 0
    results = check_notebooks(root, paths, jobs=args.jobs, timeout=args.timeout,
                              progress=not args.quiet)
    print(check_table(results))
    return 0 if all(r.ok for r in results) else 1


def cmd_release(args) -> int:
    from .course import release, stale_releases

    root = _root(args)
    if args.check:
        stale = stale_releases(root, args.assignments or None)
        if not stale:
            print("the student versions in assignments/ are up to date")
            return 0
        for name, diffs in stale.items():
            print(f"assignments/{name} is out of date: " + "; ".join(diffs[:5]))
        print("run `nncourse release` and commit assignments/")
        return 1
    for name in release(root, args.assignments or None):
        print(f"released {name}: solutions/{name} -> assignments/{name}")
    return 0


def cmd_grade(args) -> int:
    from .course import CourseError
    from .grading.report import grade_table
    from .grading.runner import grade_all
    from .grading.sandbox import IsolationWarning

    root = _root(args)
    if args.jobs is not None and args.jobs < 1:
        raise CourseError("--jobs must be at least 1")
    if args.timeout <= 0 or args.memory < 256:
        raise CourseError("--timeout must be positive and --memory at least 256 (MB)")
    warnings.simplefilter("always", IsolationWarning)
    warnings.formatwarning = lambda msg, cat, *a, **k: f"WARNING: {msg}\n"
    results = grade_all(root, args.assignment, Path(args.submissions), Path(args.out),
                        jobs=args.jobs, timeout=args.timeout, memory_mb=args.memory,
                        progress=not args.quiet)
    print(grade_table(results))
    print(f"\nwrote {Path(args.out) / 'grades.csv'}, {Path(args.out) / 'summary.html'} and "
          f"{len(results)} feedback page(s) in {Path(args.out) / 'feedback'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nncourse", description="Check, release and grade the neural-networks course.")
    parser.add_argument("--course", metavar="DIR",
                        help="the course folder (default: found from the working folder)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("check", help="execute every lecture, solution and student notebook "
                                     "(or the given ones) and print a table; exit 1 on failure")
    p.add_argument("paths", nargs="*", metavar="PATHS", help="notebooks or folders")
    p.add_argument("--jobs", type=int, default=None, help="notebooks at once (default: cores)")
    p.add_argument("--timeout", type=float, default=120, help="seconds per cell (default 120)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("release", help="regenerate assignments/ from solutions/ with nbgrader")
    p.add_argument("assignments", nargs="*", metavar="ASSIGNMENT")
    p.add_argument("--check", action="store_true",
                   help="change nothing; exit 1 if the committed student versions are stale")
    p.set_defaults(func=cmd_release)

    p = sub.add_parser("grade", help="grade a folder of submissions: grades.csv, feedback "
                                     "pages, summary")
    p.add_argument("assignment", metavar="ASSIGNMENT")
    p.add_argument("submissions", metavar="SUBMISSIONS",
                   help="one folder per student, named by student id")
    p.add_argument("--out", required=True, metavar="DIR", help="where to write the results")
    p.add_argument("--jobs", type=int, default=None,
                   help=f"submissions graded at once (default: the number of cores, "
                        f"{os.cpu_count()})")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds per cell (default 30)")
    p.add_argument("--memory", type=int, default=2048, help="MB per submission (default 2048)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_grade)
    return parser


def main(argv: list[str] | None = None) -> int:
    from .course import CourseError
    from .grading.notebook import AssignmentError
    from .grading.runner import GradingError

    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except (CourseError, GradingError, AssignmentError) as exc:
        print(f"nncourse {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
