"""In a real browser: the RevOps admin opens /dashboard/, sees the band and funnel charts drawn, and downloads the
band table as CSV under the filters of the page."""

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from leads.models import Lead

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def admin_with_bands(revops_admin):
    now = timezone.now()
    for index, (band, outcome, deal) in enumerate([("A", "won", 900), ("A", "lost", None), ("B", "won", 400),
                                                   ("B", "won", 300), ("C", "lost", None), ("C", "open", None)]):
        lead = Lead.objects.create(email=f"b{index}@x.example", band=band, outcome=outcome, source="web",
                                   stage="mql", deal_value=Decimal(deal) if deal else None)
        Lead.objects.filter(pk=lead.pk).update(created_at=now - timedelta(days=20),
                                               closed_at=None if outcome == "open" else now)
    revops_admin.set_password("browser-pw")
    revops_admin.save()
    return revops_admin


def test_the_revops_admin_sees_the_charts_drawn_and_downloads_the_band_csv(live_server, browser_page,  # noqa: F811
                                                                           admin_with_bands, shots):
    page = browser_page
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.goto(f"{live_server.url}/accounts/login/?next=/dashboard/%3Fperiod%3D90%26source%3Dweb")
    page.fill("#id_username", admin_with_bands.username)
    page.fill("#id_password", "browser-pw")
    page.click("main button[type=submit]")
    page.wait_for_selector("#bands-chart")
    page.wait_for_function("() => window.Chart && Chart.getChart('bands-chart') && Chart.getChart('funnel-chart')")
    for canvas in ("#bands-chart", "#funnel-chart"):
        box = page.locator(canvas).bounding_box()
        assert box and box["width"] > 0 and box["height"] > 0
        drawn = page.evaluate(f"""() => {{ const c = document.querySelector('{canvas}');
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            for (let i = 3; i < d.length; i += 4) {{ if (d[i] !== 0) return true; }} return false; }}""")
        assert drawn, f"{canvas} has no painted pixel"
    assert "Band A converts no better than band B" in page.inner_text(".band-warning")
    page.screenshot(path=str(shots / "dashboard-1.png"), full_page=True)
    with page.expect_download() as download_info:
        page.click("#csv-bands")
    download = download_info.value
    assert download.suggested_filename == "leadflow-bands.csv"
    text = Path(download.path()).read_text()
    assert text.splitlines()[0].startswith("Band,Leads,Won") and text.splitlines()[1].startswith("A,2,1,1,0,2,50.0")
