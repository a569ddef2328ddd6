"""The only place an application is built at import time (gunicorn wsgi:app, flask --app wsgi)."""

from config import config_from_env
from supporters import create_app

app = create_app(config_from_env())
