"""A bare Falcon endpoint that answers 204: the ceiling the write service is compared with.

    gunicorn -c api/write/gunicorn_conf.py bench.bare_app:app
"""

import falcon


class NoContent:
    def on_post(self, req, resp):
        req.bounded_stream.read()
        resp.status = falcon.HTTP_204


app = falcon.App()
app.add_route("/api/event", NoContent())
