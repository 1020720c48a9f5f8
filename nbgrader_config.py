"""nbgrader configuration of the course (used by `make release`, `make grade` and the tests).

Instructors run nbgrader from the repository root: solutions/ is the source, notebooks/ the
release. dlcourse/grading/grade.py loads this file into its own scratch course folder.
"""

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

c.CourseDirectory.course_id = "dl-course"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# A student who deletes a test cell gets it back, instead of an ungradable notebook.
c.OverwriteCells.add_missing_cells = True
# Any stderr in a test cell scores 0; Python warnings (e.g. a PyTorch UserWarning raised by a
# correct answer) are not failures, so they are removed before scoring. Errors are kept.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"\w*Warning: "
# A cell that runs longer than this is stopped and scored 0; the rest of the class goes on.
c.Execute.timeout = 300

# Feedback returned to students must not reveal the hidden tests (nbgrader shows them by default).
from dlcourse.grading.feedback import StripHiddenTests  # noqa: E402
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor  # noqa: E402
from nbgrader.preprocessors import GetGrades  # noqa: E402

c.GenerateFeedback.preprocessors = [GetGrades, StripHiddenTests, CSSHTMLHeaderPreprocessor]
# Feedback and the formgrader render submissions as HTML: nbconvert removes active content from
# Markdown and outputs (dlcourse.grading.sanitize already made the graded notebooks inert: defence in depth).
c.HTMLExporter.sanitize_html = True
