"""In a real browser, at desktop width and at 390 px: a sales manager opens the workflow-health page (the runs and
failures charts drawn, a workflow far below its usual rate flagged, the CSV downloaded) and the weekly review."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from revops.base.choices import Workflow
from revops.base.models import WorkflowHourlyStat
from revops.base.workflow_stats import hour_start
from tests.revops.reports_data import build_scoring_day, build_week, review_monday, scoring_day

pytestmark = pytest.mark.django_db(transaction=True)
WIDTHS = {"desktop": 1400, "phone": 390}


@pytest.fixture
def manager(sales_manager):
    """48 hours of runs for three workflows, four weeks of usual history for the last hour, and scoring far below
    its usual 120 runs in the last hour (with failures)."""
    last = hour_start(timezone.now() - timedelta(hours=1))
    rows = []
    for back in range(48):
        hour = last - timedelta(hours=back)
        rows += [WorkflowHourlyStat(workflow=Workflow.SCORING, hour=hour, runs=100 + (back * 7) % 40,
                                    failures=back % 5 == 0),
                 WorkflowHourlyStat(workflow=Workflow.ROUTING, hour=hour, runs=60 + (back * 5) % 30),
                 WorkflowHourlyStat(workflow=Workflow.NOTIFICATIONS, hour=hour, runs=40 + (back * 3) % 20)]
    rows[0].runs, rows[0].failures = 4, 2
    for week in range(1, 5):
        for workflow, runs in ((Workflow.SCORING, 120), (Workflow.ROUTING, 70), (Workflow.NOTIFICATIONS, 45)):
            rows.append(WorkflowHourlyStat(workflow=workflow, hour=last - timedelta(days=7 * week), runs=runs))
    WorkflowHourlyStat.objects.bulk_create(rows)
    sales_manager.set_password("browser-pw")
    sales_manager.save()
    return sales_manager


def _drawn(page, canvas: str) -> bool:
    return page.evaluate(f"""() => {{ const c = document.querySelector('{canvas}');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        for (let i = 3; i < d.length; i += 4) {{ if (d[i] !== 0) return true; }} return false; }}""")


def _login(page, url: str, user) -> None:
    page.goto(f"{url}/accounts/login/?next=/health/workflows/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "browser-pw")
    page.click("main button[type=submit]")


def test_the_manager_sees_workflow_health_charts_and_downloads_the_csv(live_server, browser_page,  # noqa: F811
                                                                       manager, shots):
    page = browser_page
    _login(page, live_server.url, manager)
    for name, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{live_server.url}/health/workflows/")
        page.wait_for_function("() => window.Chart && Chart.getChart('runs-chart') && Chart.getChart('failures-chart')")
        for canvas in ("#runs-chart", "#failures-chart"):
            box = page.locator(canvas).bounding_box()
            assert box and box["width"] > 0 and box["height"] > 0 and box["width"] <= width
            assert _drawn(page, canvas), f"{canvas} has no painted pixel at {width} px"
        scoring = page.locator("#workflows tr", has_text="Scoring").first.inner_text()
        assert "far below usual" in scoring and "120" in scoring
        page.screenshot(path=str(shots / f"health-{name}.png"), full_page=True)
        page.screenshot(path=str(shots / f"health-{name}-top.png"))
    with page.expect_download() as download_info:
        page.click("#csv-status")
    download = download_info.value
    assert download.suggested_filename == "leadflow-health-status.csv"
    lines = Path(download.path()).read_text().splitlines()
    assert lines[0].startswith("Workflow,Name,Hour (UTC),Runs") and any(
        line.startswith("scoring,Scoring,") and line.endswith(",far below usual") for line in lines)


def test_the_manager_reads_the_weekly_review_and_daily_report_in_the_browser(live_server, browser_page,  # noqa: F811
                                                                           manager, reps, shots):
    monday, day = review_monday(), scoring_day()
    build_week(monday, reps)
    build_scoring_day(day, owner=reps[0].user)  # the manager's rep's leads
    page = browser_page
    _login(page, live_server.url, manager)
    for name, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{live_server.url}/reports/weekly/?date={monday.isoformat()}")
        assert "Weekly performance review" in page.inner_text("h1")
        assert "33.3 %" in page.inner_text("#report-sla")
        page.screenshot(path=str(shots / f"report-weekly-{name}.png"), full_page=True)
        page.goto(f"{live_server.url}/reports/daily/?date={day.isoformat()}")
        assert "VP or above" in page.inner_text("#report-reasons")
        page.screenshot(path=str(shots / f"report-daily-{name}.png"), full_page=True)
