"""Training's business rules, one module per part: course_state (open, over, taking
applications; the course lock), courses, sessions (and the roll call), enrolment, completion.
Plain functions: session, actor and time in; they never commit."""
