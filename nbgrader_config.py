# nbgrader's view of this repository: instructor versions in solutions/, student versions in
# assignments/. `nncourse release` passes the same settings explicitly and keeps the gradebook
# out of the repository.
c = get_config()  # noqa: F821
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "assignments"
c.CourseDirectory.course_id = "nncourse"
c.CourseDirectory.db_url = "sqlite:///build/gradebook.db"
c.Execute.timeout = 30
