"""The web server ``manage.py serve`` (and so ``make run``) starts by default, gunicorn, answers with DEBUG off
(static files through WhiteNoise, the styled 404, the API's refusal), and Ctrl-C stops it and everything else
quietly. Static files are also served by the WSGI application itself, whatever server runs it."""

import gc
import os
import signal
import time
import weakref
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client, override_settings

from tests.revops.test_serve_shutdown import _get, start_serve

ROOT = Path(settings.BASE_DIR)


@pytest.mark.own_sqlite_file
def test_gunicorn_serves_the_pages_and_static_files_and_stops_on_ctrl_c(tmp_path):
    serve, base = start_serve(tmp_path, 18950 + os.getpid() % 40, "--web-workers", "2")
    try:
        assert _get(f"{base}/static/admin/css/base.css")[0] == 200
        assert _get(f"{base}/static/vendor/chart.js/chart.umd.min.js")[0] == 200
        status, body = _get(f"{base}/no-such-page/")
        assert status == 404 and "There is nothing here" in body and "URLconf" not in body
        assert _get(f"{base}/api/leads/")[0] in (401, 403)
        time.sleep(2)
    finally:
        os.killpg(serve.pid, signal.SIGINT)
        output, _ = serve.communicate(timeout=120)
    assert serve.returncode == 0, output
    assert "Traceback" not in output, output
    assert "Stopped web, workers and scheduler, cron, then Redis." in output
    assert "Booting worker" not in output  # gunicorn's own lines from warnings up
    assert '"GET /api/leads/ HTTP/1.1" 40' in output  # a request log line per request


@pytest.mark.django_db
@override_settings(DEBUG=False)
def test_the_wsgi_application_serves_static_files_with_debug_off():
    response = Client().get("/static/admin/css/base.css")
    assert response.status_code == 200 and b"".join(response.streaming_content).strip()


def test_a_web_process_loads_the_views_and_the_country_names_before_its_first_request():
    """revops/wsgi.py warms up: the country-name table (0.7 s to build) is not left to the first lead posted."""
    import importlib

    import revops.wsgi
    from leads.normalize import country

    country._country_table.cache_clear()
    country.normalize_country_text.cache_clear()  # as in a new process: no spelling looked up yet
    assert country._country_table.cache_info().currsize == 0
    importlib.reload(revops.wsgi)
    assert country._country_table.cache_info().currsize == 1
    assert callable(revops.wsgi.application)


def test_a_pipeline_worker_loads_the_country_names_before_its_first_job(settings):
    """``PipelineWorker`` warms up as the web does (``LEADFLOW_WARM_UP``): a CSV import's first batch does not build
    the country-name table; without the setting nothing is loaded."""
    from django_rq import get_connection

    from leads.normalize import country
    from revops.base.worker import PipelineWorker

    settings.LEADFLOW_WORKER_NICE = 0  # the test process keeps its priority
    settings.LEADFLOW_SQLITE_WORKER_YIELD_MS = 0  # and its connections
    connection = get_connection("default")
    settings.LEADFLOW_WARM_UP = ""
    country._country_table.cache_clear()
    country.normalize_country_text.cache_clear()  # as in a new process: no spelling looked up yet
    PipelineWorker(["default"], connection=connection)
    assert country._country_table.cache_info().currsize == 0
    settings.LEADFLOW_WARM_UP = "revops.top.warm_up.process_warm_up"
    try:
        PipelineWorker(["default"], connection=connection)
    finally:
        gc.unfreeze()  # the test process's objects go back to the collector
    assert country._country_table.cache_info().currsize == 1


def test_a_warmed_up_process_keeps_what_it_loaded_out_of_the_collectors_passes():
    """After the warm-up the objects a process loaded are frozen (``gc.freeze``): the collector's passes no longer
    walk them; garbage left before it is collected first, not frozen."""
    from revops.top.warm_up import process_warm_up

    class Cycle:
        pass

    gc.unfreeze()
    garbage = Cycle()
    garbage.me = garbage  # only the collector frees a cycle
    collected = []
    ref = weakref.ref(garbage, collected.append)
    del garbage
    kept = ["loaded before the warm-up"]
    try:
        process_warm_up()
        frozen = gc.get_freeze_count()
        assert frozen > 1000
        assert ref() is None and collected  # collected before the freeze
        gc.collect()
        # A collection moves no frozen object back; one whose last reference goes meanwhile (another thread's) is
        # still freed, so the count may drop by a few.
        assert frozen - 20 <= gc.get_freeze_count() <= frozen
        assert gc.is_tracked(kept) and not any(o is kept for o in gc.get_objects())  # not walked by a pass
    finally:
        gc.unfreeze()
    assert gc.get_freeze_count() == 0
