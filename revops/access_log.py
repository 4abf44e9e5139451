"""gunicorn's request log, one line a request, written without building gunicorn's full set of log atoms.

gunicorn's own ``Logger.access`` collects every atom a format could name — each request header, each response header
and the whole WSGI environment — and then formats five of them: at hundreds of requests a second that was a few per
cent of the web processes' CPU. This logger writes the same line (``[time] "METHOD /path HTTP/1.1" status bytes
Nms``, the format ``serve`` asked gunicorn for) from the five values it shows.
"""

import traceback

from gunicorn.glogging import Logger


class AccessLog(Logger):
    """``serve``'s gunicorn logger (``--logger-class revops.access_log.AccessLog``)."""

    def access(self, resp, req, environ, request_time) -> None:
        if not self.access_log_enabled:
            return
        status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
        millis = request_time.seconds * 1000 + request_time.microseconds // 1000
        try:
            self.access_log.info('%s "%s %s %s" %s %s %sms', self.now(), environ["REQUEST_METHOD"],
                                 environ["RAW_URI"], environ["SERVER_PROTOCOL"], status,
                                 getattr(resp, "sent", None), millis)
        except Exception:  # noqa: BLE001 - as gunicorn's own: a log line never breaks a request
            self.error(traceback.format_exc())
