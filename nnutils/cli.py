"""``nncourse`` (also ``python -m nnutils``): check, release and grade the course.

    nncourse check [PATHS...]            execute notebooks headlessly; exit 1 if any fails
    nncourse release [ASSIGNMENT...]     regenerate assignments/ from solutions/ (--check)
    nncourse grade ASSIGNMENT SUBMISSIONS --out DIR [--jobs N] [--timeout S] [--memory MB]
    nncourse lab [--student NAME] [--port P]  JupyterLab on the course, nbgrader set up locally
    nncourse doctor                      check what the lectures need in JupyterLab; say how to fix
    nncourse site [--out DIR]            the lectures, executed, as a static HTML site

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
    # the reports are written by now; a terminal that cannot show a name (an ASCII locale)
    # gets an escape instead of a UnicodeEncodeError. grade_table escapes everything a
    # student chose (names, notes), so nothing raw reaches the terminal.
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="backslashreplace")
    print(grade_table(results))
    print(f"\nwrote {Path(args.out) / 'grades.csv'}, {Path(args.out) / 'summary.html'} and "
          f"{len(results)} feedback page(s) in {Path(args.out) / 'feedback'}")
    return 0


def cmd_doctor(args) -> int:
    from .lab import doctor, doctor_table

    checks = doctor(_root(args))
    print(doctor_table(checks))
    return 0 if all(c.ok for c in checks) else 1


def cmd_lab(args) -> int:
    from .lab import LabServer, doctor, doctor_table, prepare_course, student_workspace

    root = _root(args)
    problems = [c for c in doctor() if not c.ok]
    if problems:
        print("JupyterLab would start, but the lectures would not work there yet:")
        print(doctor_table(problems))
        return 1
    print("releasing the assignments to the course exchange (build/exchange) ...", flush=True)
    released = prepare_course(root)
    print(f"released {', '.join(released)}")
    if args.prepare_only:
        return 0
    folder = student_workspace(root, args.student) if args.student else root
    role = (f"student {args.student}: open the Assignments tab (Nbgrader menu) to fetch, "
            "Validate in the notebook toolbar, submit from the Assignments tab"
            if args.student else
            "instructor: lectures/, solutions/, the Formgrader in the Nbgrader menu")
    server = LabServer(folder, port=args.port or 0)
    server.start()
    print(f"JupyterLab for the {role}\n\n    {server.url(workspace='course')}\n\n"
          "Press Ctrl-C to stop.", flush=True)
    if not args.no_browser:
        import webbrowser
        webbrowser.open(server.url(workspace="course"))
    try:
        server.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


def cmd_site(args) -> int:
    from .site import build_site

    root = _root(args)
    out = Path(args.out) if args.out else root / "build" / "site"
    paths = [Path(p).resolve() for p in args.lectures] or None
    for path in paths or []:
        if path.suffix != ".ipynb" or not path.is_file():
            from .course import CourseError
            raise CourseError(f"{path} is not a lecture notebook")
    pages = build_site(root, out, paths, jobs=args.jobs, progress=not args.quiet)
    for page in pages:
        status = "ok" if page.ok else f"FAILED: {page.message}"
        print(f"{page.lecture:<22} {page.snapshots:>2} widget snapshot(s)  {status}")
    print(f"\nwrote {out / 'index.html'}")
    return 0 if all(p.ok for p in pages) else 1


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

    p = sub.add_parser("lab", help="open JupyterLab on the course with nbgrader's assignment "
                                   "list, Validate and formgrader working on this machine")
    p.add_argument("--student", metavar="NAME",
                   help="open a student's workspace (build/lab/NAME) instead of the course")
    p.add_argument("--port", type=int, default=None, help="port (default: a free one)")
    p.add_argument("--no-browser", action="store_true", help="print the URL only")
    p.add_argument("--prepare-only", action="store_true",
                   help="release to the course exchange and fill the gradebook, then exit")
    p.set_defaults(func=cmd_lab)

    p = sub.add_parser("doctor", help="check that JupyterLab, the kernel and the widget "
                                      "extension are ready; print how to fix what is not")
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser("site", help="execute the lectures and write them as a static HTML site "
                                    "(widget state and plot snapshots embedded)")
    p.add_argument("lectures", nargs="*", metavar="LECTURE", help="default: every lecture")
    p.add_argument("--out", metavar="DIR", help="default: build/site")
    p.add_argument("--jobs", type=int, default=None, help="lectures at once (default: cores)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_site)
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
