"""gunicorn entry point (threaded workers):
``gunicorn -c api/read/gunicorn_conf.py api.read.wsgi:app``."""

from analytics.config import Config
from api.read.app import create_app

app = create_app(Config.from_env())
