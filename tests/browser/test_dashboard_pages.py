"""In a real browser: a sales manager opens every dashboard page at desktop width and at 390 px, sees each page's
charts drawn, and downloads a table of each page as CSV under the page's filters."""

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from leads.models import Lead
from revops.top.dashboards_views import PAGES
from routing.models import RoutingDecision, Task
from scoring.models import ScoreChange, ScoreFeedback, ScoringExperiment

pytestmark = pytest.mark.django_db(transaction=True)

#: The table each page's CSV link downloads in the test.
CSV_OF = {"scores": "deciles", "funnel": "cohort", "speed": "speed-rep", "routing": "rules",
          "workload": "workload", "experiments": "feedback"}


@pytest.fixture
def manager_with_data(sales_manager, configured):
    rita, ravi = configured["reps"]
    now = timezone.now()
    experiment = ScoringExperiment.objects.create(segment="default", name="MQL at 45", b_mql_threshold=45,
                                                  split_percent=50, active=True, started_at=now)
    for index in range(24):
        owner = (rita, ravi, None)[index % 3]
        won, lost = index % 4 == 0, index % 4 == 1
        lead = Lead.objects.create(
            email=f"b{index}@x.example", owner=owner.user if owner else None, score=100 - 4 * index,
            band="ABCD"[min(index // 6, 3)], source=("web", "event")[index % 2], stage=("mql", "sql", "engaged")[
                index % 3], outcome="won" if won else "lost" if lost else "open",
            deal_value=Decimal(1000 + 100 * index) if won else None, predicted_probability=(100 - 4 * index) / 100,
            queue="" if owner else ("review", "holding")[index % 2], first_touched_at=now - timedelta(days=9),
            score_reasons=[{"code": "pricing_visit", "label": "Pricing", "points": 10}])
        Lead.objects.filter(pk=lead.pk).update(created_at=now - timedelta(days=10, hours=index),
                                               closed_at=now - timedelta(days=index % 5) if won or lost else None)
        RoutingDecision.objects.create(lead=lead, rep=owner, owner=owner.user if owner else None, summary="t",
                                       rule=configured["rules"][0] if owner else None, explanation={},
                                       strategy="round_robin" if owner else "", queue="" if owner else "review")
        if owner:
            Task.objects.create(lead=lead, assignee=owner.user, title="call", dedup_key=f"b{index}",
                                due_at=now - timedelta(days=index % 2), status="done" if index % 2 else "open",
                                completed_at=now - timedelta(days=2) if index % 2 else None,
                                disposition="contacted" if index % 2 else "")
        ScoreChange.objects.create(lead=lead, at=now, cause="t", experiment=experiment, variant="AB"[index % 2],
                                   new_stage=lead.stage)
        if index % 5 == 0:
            ScoreFeedback.objects.create(lead=lead, reason=("too_high", "too_low")[index % 2], band=lead.band)
    sales_manager.set_password("browser-pw")
    sales_manager.save()
    return sales_manager


def canvas_painted(page, selector: str) -> bool:
    return page.evaluate(f"""() => {{ const c = document.querySelector('{selector}');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        for (let i = 3; i < d.length; i += 4) {{ if (d[i] !== 0) return true; }} return false; }}""")


def test_every_dashboard_page_draws_its_charts_and_downloads_a_csv_at_desktop_and_phone_width(
        live_server, browser_page, manager_with_data, shots):  # noqa: F811
    page = browser_page
    page.goto(f"{live_server.url}/accounts/login/?next=/dashboard/")
    page.fill("#id_username", manager_with_data.username)
    page.fill("#id_password", "browser-pw")
    page.click("main button[type=submit]")
    page.wait_for_selector("#bands-chart")
    for width, height in ((1400, 1000), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        for slug in PAGES:
            page.goto(f"{live_server.url}/dashboard/{slug}/?period=90")
            page.wait_for_function("() => window.Chart && document.querySelectorAll('canvas').length > 0 && "
                                   "[...document.querySelectorAll('canvas')].every(c => Chart.getChart(c))")
            canvases = page.locator("canvas")
            assert canvases.count() >= 1
            first_id = canvases.first.get_attribute("id")
            box = page.locator(f"#{first_id}").bounding_box()
            assert box and 0 < box["width"] <= width and box["height"] > 0
            assert canvas_painted(page, f"#{first_id}"), f"{slug}: {first_id} has no painted pixel"
            overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, f"{slug} scrolls sideways at {width} px"
            page.screenshot(path=str(shots / f"dashboard-{slug}-{width}.png"), full_page=True)
            if width == 390:  # the first screen as a phone shows it, at a readable scale
                page.locator("section.card").first.scroll_into_view_if_needed()
                page.screenshot(path=str(shots / f"dashboard-{slug}-{width}-first-card.png"))
            if width == 1400:
                with page.expect_download() as download_info:
                    page.click(f"#csv-{CSV_OF[slug]}")
                download = download_info.value
                assert download.suggested_filename == f"leadflow-{slug}-{CSV_OF[slug]}.csv"
                lines = Path(download.path()).read_text().splitlines()
                assert len(lines) >= 2, f"{slug}: the CSV has no rows"
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.goto(f"{live_server.url}/admin/")
    page.click("#dashboards-module a[href='/dashboard/speed/']")
    page.wait_for_selector("#chart-speed-assignment")
    page.goto(f"{live_server.url}/admin/")
    page.screenshot(path=str(shots / "admin-index-dashboards.png"))
