"""The dispatch blueprint (`dispatch`): consultation days, requests and the events' pages
(events.py), and a supporter's schedule and calendar (supporter.py). Importing the package
registers every page on `bp`."""

from supporters.dispatch.views import events, supporter
from supporters.dispatch.views.common import bp

__all__ = ["bp", "events", "supporter"]
