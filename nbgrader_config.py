# nbgrader's view of this repository: instructor versions in solutions/, student versions in
# assignments/. `nncourse release` passes the same settings explicitly and keeps the gradebook
# out of the repository. `nncourse lab` uses this file for the formgrader: the gradebook and the
# exchange live in build/, so the whole workflow runs on one machine without root.
from pathlib import Path

c = get_config()  # noqa: F821
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "assignments"
c.CourseDirectory.course_id = "nncourse"
c.CourseDirectory.db_url = f"sqlite:///{Path(__file__).resolve().parent / 'build' / 'gradebook.db'}"
c.Exchange.root = str(Path(__file__).resolve().parent / "build" / "exchange")
c.Execute.timeout = 30
