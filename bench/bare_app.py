"""A bare Falcon ASGI endpoint that answers 204: the ceiling the write service is compared
with (same gunicorn settings, same worker class).

    gunicorn -c api/write/gunicorn_conf.py bench.bare_app:app
"""

import falcon
import falcon.asgi


class NoContent:
    async def on_post(self, req, resp):
        await req.stream.read()
        resp.status = falcon.HTTP_204


app = falcon.asgi.App()
app.add_route("/api/event", NoContent())
