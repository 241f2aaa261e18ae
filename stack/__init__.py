"""The local run: resolve the JVM pieces, supervise the services, apply the schema.

``python -m stack run|start|stop|status|setup|schema`` (the Makefile calls these).
"""
