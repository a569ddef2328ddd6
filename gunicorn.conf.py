"""gunicorn settings read from the working directory (`gunicorn wsgi:app` in /srv/supporters).

The slowest request is the largest trainee import (5,000 rows or 5 MB, checked before
anything is written): about 17 s on SQLite and 25 s on PostgreSQL of CPU time, measured at
47 s and 75 s on a busy 2-core machine (`benchmarks/bench_training.py --rows 5000`).
gunicorn's default 30 s timeout would kill that worker mid-import (the import is rolled
back, the user sees a proxy error), so the timeout leaves room above the measured worst
case. Options on the command line override these.
"""

timeout = 180  # seconds a sync worker may spend on one request
graceful_timeout = 30
