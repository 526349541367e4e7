"""gunicorn.conf.py - settings for the iris sample server. The bind address comes from
IRIS_BIND (default 127.0.0.1:5000) so the gateway's supervisor and the tests can pick a port."""

import os

bind = os.environ.get("IRIS_BIND", "127.0.0.1:5000")
workers = int(os.environ.get("IRIS_WORKERS", "1"))
threads = int(os.environ.get("IRIS_THREADS", "4"))
worker_class = "gthread"
# Longer than the gateway pool's idle timeout (30 s), so the gateway, not the server, closes
# idle keep-alive sockets and never reuses one the server is closing.
keepalive = 75
timeout = 60
graceful_timeout = 10
accesslog = None
errorlog = "-"
loglevel = os.environ.get("IRIS_LOG_LEVEL", "info")
# Train once in the master; workers fork with the model in memory.
preload_app = True
