"""serve's gunicorn request log: the line gunicorn's own logger writes for the same format, from five values."""

import datetime
import logging

from gunicorn.config import Config
from gunicorn.glogging import Logger

from revops.access_log import AccessLog

FORMAT = '%(t)s "%(r)s" %(s)s %(B)s %(M)sms'


class _Lines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


class _Response:
    status = "201 Created"
    sent = 412
    headers = [("Content-Type", "application/json")]


class _Request:
    headers = [("HOST", "127.0.0.1:8000"), ("AUTHORIZATION", "Token x")]


def _line(logger_class, monkeypatch) -> str:
    config = Config()
    config.set("accesslog", "-")
    config.set("access_log_format", FORMAT)
    logger = logger_class(config)
    lines = _Lines()
    logger.access_log.handlers = [lines]
    monkeypatch.setattr(logger, "now", lambda: "[06/Dec/2026:12:00:00 +0000]")
    environ = {"REQUEST_METHOD": "POST", "RAW_URI": "/api/leads/?x=1", "SERVER_PROTOCOL": "HTTP/1.1",
               "PATH_INFO": "/api/leads/", "REMOTE_ADDR": "127.0.0.1"}
    logger.access(_Response(), _Request(), environ, datetime.timedelta(seconds=1, microseconds=234_567))
    return lines.lines[0]


def test_the_line_is_the_one_gunicorn_writes_for_serves_format(monkeypatch):
    line = _line(AccessLog, monkeypatch)
    assert line == _line(Logger, monkeypatch)
    assert line == '[06/Dec/2026:12:00:00 +0000] "POST /api/leads/?x=1 HTTP/1.1" 201 412 1234ms'
