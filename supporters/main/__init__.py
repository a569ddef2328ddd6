"""The top of the web: the start page (what each role has to do), the health check, the
language switch and the audit log page."""
