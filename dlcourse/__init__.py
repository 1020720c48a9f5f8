"""The course's tooling, one installed package (``utils`` is the students' own): ``authoring``
(release, mutation testing, book, student edition), ``grading`` (collect, precheck, sandbox, kernel
guard, autograde, gradebook, feedback, report) and ``bench``; ``course`` (dlcourse.cli) is its one
command line."""
