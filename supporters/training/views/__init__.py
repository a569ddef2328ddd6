"""The training blueprint (`training`, under /courses), one module of pages per part:
courses, sessions (and the roll call), enrolments, completion. Importing the package
registers every page on `bp`."""

from supporters.training.views import completion, courses, enrolments, sessions
from supporters.training.views.common import bp

__all__ = ["bp", "completion", "courses", "enrolments", "sessions"]
