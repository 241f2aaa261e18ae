"""gunicorn entry point (asyncio worker):
``gunicorn -c api/write/gunicorn_conf.py api.write.asgi:app``."""

from analytics.config import Config
from api.write.app import create_app

_config = Config.from_env()
app = create_app(_config, multiprocess_dir=str(_config.write_metrics_dir))
