"""The scheduled reports: the daily scoring report and the weekly performance review against a hand-built data set,
delivered to the Slack stand-in and the locmem mailbox once per period, each behind its kill switch and due from
07:00 in the settings' time zone; and their pages in the browser."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Group
from django.core import mail

from revops.base.choices import ReportKind, Workflow
from revops.base.models import SentReport
from revops.base.roles import ROLE_SALES_REP
from revops.base.switches import workflow_switch_set
from revops.top.reports_delivery import report_due, report_send, scoring_report_job, weekly_review_job
from revops.top.reports_figures import daily_scoring_figures, weekly_review_figures

from .reports_data import build_scoring_day, build_week, review_monday, scoring_day

pytestmark = pytest.mark.django_db


@pytest.fixture
def locmem(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def test_the_daily_figures_count_the_days_scoring_only():
    day = scoring_day()
    build_scoring_day(day)
    r = daily_scoring_figures(day)
    assert (r["scored"], r["changes"], r["up"], r["down"]) == (2, 3, 2, 1)
    assert r["bands"] == [{"band": "A", "leads": 1}, {"band": "B", "leads": 0}, {"band": "C", "leads": 1},
                          {"band": "D", "leads": 0}]  # Ann's last change of the day put her in A
    assert r["movements"] == [{"from": "Engaged", "to": "MQL", "leads": 1}, {"from": "MQL", "to": "SQL", "leads": 1}]
    assert r["triggers"] == [{"kind": "Became MQL", "count": 1}, {"kind": "Became SQL", "count": 1}]
    assert r["reasons"] == [
        {"code": "vp", "label": "VP or above", "times": 3, "avg_points": 20.0},
        {"code": "demo", "label": "Asked for a demo", "times": 2, "avg_points": 30.0},
        {"code": "pricing", "label": "Visited pricing", "times": 1, "avg_points": 10.0},
    ]


def test_the_weekly_figures_funnel_bands_speed_sla_and_workload(reps):
    monday = review_monday()
    build_week(monday, reps)
    r = weekly_review_figures(monday)
    assert r["new_leads"] == 2
    assert [(row["stage"], row["reached"]) for row in r["funnel"]] == [
        ("New", 2), ("Engaged", 1), ("MQL", 1), ("SQL", 1), ("Opportunity", 1), ("Customer", 1)]
    bands = {row["band"]: row for row in r["bands"]}
    assert (bands["A"]["won"], bands["A"]["conversion"], str(bands["A"]["total_deal"])) == (1, 100.0, "1000.00")
    assert bands["B"]["leads"] == 2  # Val and Old: both created within the 90 days to the week's end
    assert r["speed"] == {"leads": 2, "assignment": {"count": 1, "median": 2.0, "p90": 2.0},
                          "first_touch": {"count": 2, "median": 26.0, "p90": 49.0}}  # Wes 3 h, Val 49 h
    team, total = r["sla"]
    assert (team["team"], team["due"], team["on_time"], team["late"], team["open_overdue"], team["met_pct"]) == (
        "Mid-Market", 3, 1, 1, 1, 33.3)
    assert total["team"] == "All teams" and total["met_pct"] == 33.3
    rita, ravi = sorted(r["workload"], key=lambda row: row["rep"].lower().startswith("ravi"))
    assert (rita["open_leads"], rita["capacity"], rita["open_tasks"], rita["overdue_tasks"]) == (1, 200, 2, 2)
    assert (ravi["open_leads"], ravi["open_tasks"]) == (0, 0)


def test_the_daily_report_goes_to_slack_and_the_managers_mailboxes_once(slack, locmem, inline_jobs, revops_admin,
                                                                      sales_manager,
                                                                      django_capture_on_commit_callbacks):
    day = scoring_day()
    build_scoring_day(day)
    with django_capture_on_commit_callbacks(execute=True):
        queued = report_send(kind=ReportKind.DAILY_SCORING, period_start=day)
    with django_capture_on_commit_callbacks(execute=True):
        again = report_send(kind=ReportKind.DAILY_SCORING, period_start=day)
    assert (queued, again) == (3, 0)
    [post] = slack.messages
    assert post["channel"] == "#leadflow" and "*Daily scoring report" in post["text"]
    assert "Leads scored: 2" in post["text"] and f"/reports/daily/?date={day.isoformat()}|Open the report>" in post[
        "text"]
    assert sorted(m.to[0] for m in mail.outbox) == ["ada@example.com", "max@example.com"]
    message = mail.outbox[0]
    assert message.subject.startswith("Leadflow: Daily scoring report")
    assert "VP or above: 3 times, 20.0 points on average" in message.body
    [(html, mime)] = message.alternatives
    assert mime == "text/html" and "<td>VP or above</td>" in html and "Engaged" in html
    assert SentReport.objects.get().recipients == 3


def test_the_weekly_review_is_delivered_once_per_week(slack, locmem, inline_jobs, reps, sales_manager,
                                                     django_capture_on_commit_callbacks):
    monday = review_monday()
    build_week(monday, reps)
    with django_capture_on_commit_callbacks(execute=True):
        assert report_send(kind=ReportKind.WEEKLY_REVIEW, period_start=monday) == 2
        assert report_send(kind=ReportKind.WEEKLY_REVIEW, period_start=monday) == 0
    [post] = slack.messages
    assert "*Weekly performance review" in post["text"] and "SLA met: 33.3 %" in post["text"]
    [message] = mail.outbox
    assert message.to == ["max@example.com"] and "Mid-Market: 33.3 % met" in message.body
    assert "to assignment: 2.0 / 2.0 (1 of 2 leads)" in message.body
    assert 'id="report-sla"' in message.alternatives[0][0]


def test_reports_are_due_from_seven_in_the_settings_time_zone(settings):
    settings.TIME_ZONE = "Europe/Berlin"
    monday_0530_utc = datetime(2026, 11, 30, 5, 30, tzinfo=UTC)  # 06:30 in Berlin: not yet
    assert report_due(ReportKind.DAILY_SCORING, now=monday_0530_utc) is None
    monday_0600_utc = monday_0530_utc + timedelta(minutes=30)  # 07:00 in Berlin
    assert str(report_due(ReportKind.DAILY_SCORING, now=monday_0600_utc)) == "2026-11-29"
    assert str(report_due(ReportKind.WEEKLY_REVIEW, now=monday_0600_utc)) == "2026-11-23"
    assert str(report_due(ReportKind.WEEKLY_REVIEW, now=monday_0600_utc + timedelta(days=2))) == "2026-11-23"


def test_each_report_job_stops_at_its_kill_switch(settings):
    settings.LEADFLOW_REPORT_HOUR = 0  # due at any hour
    workflow_switch_set(workflow=Workflow.SCORING_REPORT, enabled=False)
    workflow_switch_set(workflow=Workflow.WEEKLY_REVIEW, enabled=False)
    assert scoring_report_job() == "skipped" and weekly_review_job() == "skipped"
    assert not SentReport.objects.exists()
    workflow_switch_set(workflow=Workflow.SCORING_REPORT, enabled=True)
    assert scoring_report_job().endswith("messages queued")
    assert scoring_report_job().endswith("already sent")
    assert list(SentReport.objects.values_list("kind", flat=True)) == [ReportKind.DAILY_SCORING]


def test_the_reports_are_viewable_in_the_browser_by_date(client, sales_manager, reps, django_user_model):
    day, monday = scoring_day(), review_monday()
    build_scoring_day(day, owner=reps[0].user)  # the manager's rep's leads: in the manager's report
    build_week(monday, reps)
    client.force_login(sales_manager)
    daily = client.get("/reports/daily/", {"date": day.isoformat()}).content.decode()
    assert "Daily scoring report" in daily and "<td>VP or above</td>" in daily
    weekly = client.get("/reports/weekly/", {"date": (monday + timedelta(days=3)).isoformat()}).content.decode()
    assert f"{monday:%d %b}" in weekly and 'id="report-sla"' in weekly and "Mid-Market" in weekly
    assert client.get("/reports/weekly/").status_code == 200
    bad = client.get("/reports/daily/", {"date": "soon"})
    assert bad.status_code == 400 and b"date" in bad.content
    rep = django_user_model.objects.create_user("rory", password="pw")
    rep.groups.add(Group.objects.get(name=ROLE_SALES_REP))
    client.force_login(rep)
    assert client.get("/reports/daily/").status_code == 403


@pytest.fixture
def other_team(django_user_model):
    """Enterprise, managed by Bea, with rep Bob and one lead of the review week (created Wednesday, owned by Bob,
    his follow-up done late)."""
    from revops.base.roles import ROLE_SALES_MANAGER
    from routing.models import Rep, Team

    bea = django_user_model.objects.create_user("bea", email="bea@example.com", is_staff=True)
    bea.groups.add(Group.objects.get(name=ROLE_SALES_MANAGER))
    team = Team.objects.create(name="Enterprise")
    team.managers.add(bea)
    bob = Rep.objects.create(user=django_user_model.objects.create_user("bob", first_name="Bob"), team=team)
    return {"manager": bea, "rep": bob, "team": team}


def _week_with_enterprise(monday, reps, other_team):
    from leads.models import Lead
    from routing.models import Task

    from .reports_data import at

    build_week(monday, reps)
    bob = other_team["rep"]
    lead = Lead.objects.create(email="eve@x.example", band="A", owner=bob.user)
    Lead.objects.filter(pk=lead.pk).update(created_at=at(monday + timedelta(days=2), 9))
    Task.objects.create(lead=lead, assignee=bob.user, title="Follow up", dedup_key="e1", status="done",
                        due_at=at(monday + timedelta(days=2), 12), completed_at=at(monday + timedelta(days=3), 12))


def test_a_managers_report_page_holds_their_teams_figures_and_an_admins_every_team(client, reps, sales_manager,
                                                                                 revops_admin, other_team):
    monday = review_monday()
    _week_with_enterprise(monday, reps, other_team)
    client.force_login(sales_manager)
    mine = client.get("/reports/weekly/", {"date": monday.isoformat()})
    assert mine.context["scope"] == "Your teams: Mid-Market" and mine.context["r"]["new_leads"] == 2
    assert {row["team"] for row in mine.context["r"]["workload"]} == {"Mid-Market"}
    assert "Enterprise" not in mine.content.decode() and "Bob" not in mine.content.decode()
    client.force_login(other_team["manager"])
    theirs = client.get("/reports/weekly/", {"date": monday.isoformat()})
    assert theirs.context["scope"] == "Your teams: Enterprise" and theirs.context["r"]["new_leads"] == 1
    assert [row["team"] for row in theirs.context["r"]["sla"]] == ["Enterprise", "All teams"]
    client.force_login(revops_admin)
    every = client.get("/reports/weekly/", {"date": monday.isoformat()})
    assert every.context["scope"] == "All teams" and every.context["r"]["new_leads"] == 3
    assert {row["team"] for row in every.context["r"]["workload"]} == {"Mid-Market", "Enterprise"}


def test_each_manager_is_mailed_their_teams_figures_and_the_admin_every_teams(slack, locmem, inline_jobs, reps,
                                                                             sales_manager, revops_admin, other_team,
                                                                             django_capture_on_commit_callbacks):
    monday = review_monday()
    _week_with_enterprise(monday, reps, other_team)
    with django_capture_on_commit_callbacks(execute=True):
        assert report_send(kind=ReportKind.WEEKLY_REVIEW, period_start=monday) == 4
    by_address = {message.to[0]: message.body for message in mail.outbox}
    assert "Your teams: Mid-Market" in by_address["max@example.com"]
    assert "Enterprise" not in by_address["max@example.com"] and "Bob" not in by_address["max@example.com"]
    assert "Your teams: Enterprise" in by_address["bea@example.com"]
    assert "Mid-Market" not in by_address["bea@example.com"]
    assert "All teams" in by_address["ada@example.com"]
    assert "Enterprise: 0.0 % met" in by_address["ada@example.com"]
    assert "Mid-Market: 33.3 % met" in by_address["ada@example.com"]


def test_the_top_reasons_skip_what_is_not_a_reason(db):
    """Reasons are read from each change's JSON list by the database: a list that is not one, an entry that is not
    an object, or one without a code is left out; a reason without points counts 0."""
    from leads.models import Lead
    from revops.top.reports_figures import top_reasons
    from scoring.models import ScoreChange

    lead = Lead.objects.create(email="odd@x.example")
    for reasons in ("not a list", {"code": "x"}, [1, "vp", {"label": "no code"}, {"code": "", "points": 5}],
                    [{"code": "vp", "label": "VP or above", "points": 15}, {"code": "vp"}], []):
        ScoreChange.objects.create(lead=lead, at=datetime.now(UTC), cause="test", reasons=reasons)
    assert top_reasons(ScoreChange.objects.all()) == [
        {"code": "vp", "label": "VP or above", "times": 2, "avg_points": 7.5}]


def test_the_top_reasons_show_each_predictive_feature_and_one_label_for_per_lead_labels(db):
    """The predictive model's features share two codes: each feature is its own row, named; reasons whose label is
    about one lead (its win probability, its count of smaller reasons) are one row under one label."""
    from leads.models import Lead
    from revops.top.reports_figures import top_reasons
    from scoring.models import ScoreChange

    lead = Lead.objects.create(email="model@x.example")

    def feature(code, label):
        return {"code": code, "label": label, "points": 0, "kind": "predictive"}

    for probability, smaller in ((62, 3), (18, 2)):
        ScoreChange.objects.create(lead=lead, at=datetime.now(UTC), cause="test", reasons=[
            {"code": "predicted_win", "label": f"predicted win probability {probability}%", "points": probability // 5,
             "kind": "predictive"},
            {"code": "other_reasons", "label": f"{smaller} smaller reasons", "points": smaller, "kind": "summary"},
            feature("predicts_up", "industry: Technology"),
            feature("predicts_down", "source: webinar") if probability < 50 else feature("predicts_up", "VP or above"),
        ])
    found = {(r["code"], r["label"]): (r["times"], r["avg_points"]) for r in top_reasons(ScoreChange.objects.all())}
    assert found == {
        ("predicted_win", "predicted win probability (the predictive model's points)"): (2, 7.5),
        ("other_reasons", "smaller reasons, added up"): (2, 2.5),
        ("predicts_up", "model: industry: Technology (raises the win probability)"): (2, 0.0),
        ("predicts_up", "model: VP or above (raises the win probability)"): (1, 0.0),
        ("predicts_down", "model: source: webinar (lowers the win probability)"): (1, 0.0),
    }
