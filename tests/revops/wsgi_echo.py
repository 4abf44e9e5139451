"""A one-line WSGI application (it answers with the body it was sent): what tests/revops/test_web_worker.py runs
gunicorn with, so that the wake-ups counted are the web server's own."""


def application(environ, start_response):
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)) or b"ok"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
