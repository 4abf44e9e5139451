"""A realistic demo: territories, teams, reps, scoring and routing rules, and leads pushed through the pipeline.

Leads and events go in through the same services the API and CSV import use (``lead_ingest``, ``events_record``)
with jobs run inline, so every score, owner, task and notification is the pipeline's own work; outcomes and the
reps' work on their tasks go through the lifecycle and task services (``demo_history.py``).
"""

from __future__ import annotations

import random
import unicodedata
from datetime import timedelta

from django.contrib.auth.models import Group, User
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from leads.models import CompanyProfile, Lead
from leads.services import events_record, industry_vocabulary_defaults_ensure, leads_bulk_ingest
from leads.services.vocabulary import DEFAULT_INDUSTRY_VOCABULARY
from revops.base.jobs import jobs_inline
from revops.base.roles import ROLE_REVOPS_ADMIN, ROLE_SALES_MANAGER, ROLE_SALES_REP
from routing.choices import RepRole, RuleAction, Strategy
from routing.models import Rep, RoutingRule, SlaPolicy, StageSla, TaskTemplate, Team, Territory
from routing.services import disqualify_reasons_defaults_ensure
from scoring.choices import Dimension, ModelStatus, Operator, RuleKind
from scoring.models import ScoringModel, ScoringRule

from .dashboard_facts import lead_facts_rebuild
from .demo_dashboards import demo_experiment, demo_feedback, demo_predictive, demo_timeline
from .demo_history import demo_outcomes, demo_reengaged, demo_task_states
from .demo_nurture import demo_nurture_history, demo_nurture_program
from .health_demo import health_history_demo

INDUSTRIES = DEFAULT_INDUSTRY_VOCABULARY  # canonical → synonyms: the demo companies use them all
NA_EAST_STATES = "NY, NJ, MA, PA, CT, VA, NC, GA, FL, OH, MI, IL, MD, DC, ME, VT, NH, RI, DE, SC, TN, KY, IN, WI, MN"
REPS = [
    # username, first, last, team, role, territories, skills, tz
    ("alice", "Alice", "Martin", "SDR", RepRole.SDR, ["NA-East", "NA-West"], "", "America/New_York"),
    ("bruno", "Bruno", "Costa", "SDR", RepRole.SDR, ["EMEA", "APAC"], "", "Europe/Lisbon"),
    ("chen", "Chen", "Wei", "SMB", RepRole.AE, ["NA-West", "APAC"], "retail, media", "America/Los_Angeles"),
    ("dana", "Dana", "Cohen", "SMB", RepRole.AE, ["NA-East"], "education", "America/New_York"),
    ("emma", "Emma", "Schmidt", "SMB", RepRole.AE, ["EMEA"], "manufacturing", "Europe/Berlin"),
    ("farid", "Farid", "Haddad", "Mid-Market", RepRole.AE, ["EMEA"], "financial services", "Europe/London"),
    ("greta", "Greta", "Olsen", "Mid-Market", RepRole.AE, ["NA-East"], "technology", "America/New_York"),
    ("hugo", "Hugo", "Laurent", "Mid-Market", RepRole.AE, ["NA-West", "APAC"], "healthcare", "America/Denver"),
    ("ines", "Ines", "Garcia", "Enterprise", RepRole.SENIOR_AE, ["NA-East", "NA-West"], "technology",
     "America/Chicago"),
    ("jonas", "Jonas", "Berg", "Enterprise", RepRole.SENIOR_AE, ["EMEA", "APAC"], "financial services",
     "Europe/Stockholm"),
]
FIRST = ["James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth", "Lukas",
         "Sophie", "Mateo", "Lucia", "Hiroshi", "Yuki", "Priya", "Arjun", "Olivia", "Noah", "Emma", "Liam", "Chloe",
         "Lea", "Jonas", "Anna", "Pierre", "Camille", "Sven", "Ingrid", "Wei", "Mei", "Carlos", "Sofia", "Ahmed"]
LAST = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Müller", "Schneider", "Dubois",
        "Martin", "Rossi", "Bianchi", "Tanaka", "Sato", "Patel", "Sharma", "Kim", "Lee", "Nguyen", "Fernández",
        "López", "Jansen", "de Vries", "Andersson", "Nilsson", "Wang", "Li", "O'Brien", "Kowalski", "Novak"]
TITLES = ["CEO", "CTO", "VP Sales", "VP of Marketing", "Head of Operations", "Director of IT", "IT Manager",
          "Marketing Manager", "Senior Software Engineer", "Sales Representative", "Analyst", "Founder",
          "Chief Financial Officer", "Procurement Lead", "Office Manager", "Data Scientist"]
COUNTRIES = [("United States", "US", 40), ("USA", "US", 8), ("Canada", "CA", 5), ("UK", "GB", 8),
             ("Deutschland", "DE", 7), ("France", "FR", 5), ("Netherlands", "NL", 4), ("España", "ES", 3),
             ("Sweden", "SE", 2), ("Australia", "AU", 4), ("Japan", "JP", 3), ("Singapore", "SG", 2),
             ("India", "IN", 4), ("Brasil", "BR", 2), ("", "", 3)]
US_STATES = ["NY", "CA", "TX", "WA", "MA", "IL", "FL", "CO", "GA", "OR", "NJ", "PA"]
PHONE_FORMATS = {
    "US": ["(415) 555-{a:04d}", "+1 212 555 {a:04d}", "212.555.{a:04d}"],
    "CA": ["+1 416 555 {a:04d}"],
    "GB": ["020 7946 {a:04d}", "+44 20 7946 {a:04d}"],
    "DE": ["030 1234{a:04d}", "0049 30 1234{a:04d}"],
    "FR": ["01 42 68 {b:02d} {c:02d}"],
    "NL": ["06 12 34 {b:02d} {c:02d}"],
}
SOURCES = [("webform", 35), ("webinar", 15), ("content", 15), ("paid_search", 15), ("referral", 5), ("event", 10),
           ("partner", 5), ("outbound", 6)]
EVENT_MIX = [("email_open", 35), ("page_view", 30), ("email_click", 12), ("content_download", 8),
             ("webinar_attended", 5), ("demo_request", 3), ("email_bounce", 1), ("unsubscribe", 1)]
DEMO_TASK_TEMPLATES = [
    dict(name="Hot inbound", band="A", title="Call {first_name} at {company} now (hot, {source})",
         call_script="Hi {first_name}, this is {owner_first_name} from Leadflow. You were looking at our pricing: "
                     "what made {company} start looking now?\n- Who else decides?\n- Timeline?\n- Book a demo.",
         email_subject="{company} and Leadflow",
         email_body="Hi {first_name},\n\nThanks for your interest. I help {industry} teams like {company} route "
                    "leads in minutes. Do you have 20 minutes this week?\n\n{owner_first_name}"),
    dict(name="Webinar follow-up", source="webinar", title="Follow up {first_name} after the webinar",
         call_script="Ask {first_name} what they took from the webinar and whether {company} has the problem today.",
         email_subject="The webinar recording", email_body="Hi {first_name},\n\nHere is the recording.\n\n"
                                                          "{owner_first_name}"),
    dict(name="Outbound", source="outbound", title="First touch: {full_name} ({company})",
         call_script="Cold call: introduce yourself, one line on why {industry} teams use us, ask for 15 minutes."),
]
PAGES = ["/", "/product", "/pricing", "/customers", "/blog/revops", "/docs", "/pricing/enterprise"]


def _weighted(rng: random.Random, pairs):
    items, weights = zip(*[(p[:-1] if len(p) > 2 else p[0], p[-1]) for p in pairs], strict=True)
    return rng.choices(items, weights=weights)[0]


def _demo_user(username: str, first: str, last: str, password: str, group: str, *, is_staff: bool = True,
               is_superuser: bool = False) -> User:
    """One demo login in its role group (made once; a second load keeps its password)."""
    user, created = User.objects.get_or_create(username=username, defaults={
        "email": f"{username}@leadflow.example", "first_name": first, "last_name": last, "is_staff": is_staff,
        "is_superuser": is_superuser})
    if created:
        user.set_password(password)
        user.save()
    user.groups.add(Group.objects.get(name=group))
    return user


def demo_users() -> dict[str, User]:
    """The demo logins: a RevOps admin, two sales managers (SMB, Mid-Market and SDR; Enterprise) and ten reps."""
    users = {
        "admin": _demo_user("admin", "Ada", "Admin", "leadflow-admin", ROLE_REVOPS_ADMIN, is_superuser=True),
        "manager": _demo_user("manager", "Max", "Manager", "leadflow-manager", ROLE_SALES_MANAGER),
        # The Enterprise team has a manager of its own: she sees that team's leads, tasks and reps only.
        "nora": _demo_user("nora", "Nora", "Novak", "leadflow-manager", ROLE_SALES_MANAGER),
    }
    for username, first, last, *_ in REPS:
        users[username] = _demo_user(username, first, last, "leadflow-rep", ROLE_SALES_REP, is_staff=False)
    return users


@transaction.atomic
def demo_configuration(users: dict[str, User]) -> None:
    """Territories, teams, reps, vocabulary, company directory, scoring model and routing rules."""
    industry_vocabulary_defaults_ensure()
    territories = {
        "NA-East": Territory.objects.create(name="NA-East", countries="US, CA", states=NA_EAST_STATES + ", ON, QC"),
        "NA-West": Territory.objects.create(name="NA-West", countries="US, CA",
                                            states="CA, WA, OR, NV, AZ, UT, CO, TX, NM, ID, MT, WY, AK, HI, BC, AB"),
        "EMEA": Territory.objects.create(name="EMEA", countries="GB, IE, DE, AT, CH, FR, BE, NL, LU, ES, PT, IT, "
                                                                  "SE, NO, DK, FI, PL, AE, SA, ZA, IL"),
        "APAC": Territory.objects.create(name="APAC", countries="AU, NZ, JP, SG, IN, KR, CN, HK, TW, MY, ID, PH"),
    }
    smb = Team.objects.create(name="SMB", description="Under 200 employees", slack_channel="#sales-smb",
                              manager=users["manager"])
    mid = Team.objects.create(name="Mid-Market", description="200–999 employees", overflow_team=smb,
                              slack_channel="#sales-mid-market", manager=users["manager"])
    ent = Team.objects.create(name="Enterprise", description="1,000+ employees", overflow_team=mid,
                              slack_channel="#sales-enterprise", manager=users["nora"])
    sdr = Team.objects.create(name="SDR", description="Qualification of MQLs", slack_channel="#sdr",
                              manager=users["manager"])
    teams = {"SMB": smb, "Mid-Market": mid, "Enterprise": ent, "SDR": sdr}
    for index, (username, _f, _l, team, role, terrs, skills, tz) in enumerate(REPS):
        country = "US" if tz.startswith("America/") else {"Lisbon": "PT", "Berlin": "DE", "London": "GB",
                                                           "Stockholm": "SE"}[tz.split("/")[1]]
        rep = Rep.objects.create(user=users[username], team=teams[team], role=role, skills=skills, time_zone=tz,
                                 country=country,
                                 capacity=400, weight=2 if role == RepRole.SENIOR_AE else 1,
                                 slack_user_id=f"U0DEMO{index:03d}")
        rep.territories.set([territories[t] for t in terrs])
    for band, minutes, escalate in (("A", 240, 30), ("B", 480, 60), ("C", 1440, 240), ("D", 2880, 1440)):
        SlaPolicy.objects.create(band=band, minutes=minutes, escalate_after_minutes=escalate)
    SlaPolicy.objects.create(source="outbound", minutes=24 * 60, escalate_after_minutes=240)
    disqualify_reasons_defaults_ensure()
    StageSla.objects.create(stage="mql", days=7)
    StageSla.objects.create(stage="sql", days=10, reroute_at_expiry=True)
    for template in DEMO_TASK_TEMPLATES:
        TaskTemplate.objects.create(**template)

    # The demo brings its own model: the fresh install's default (if migrate made one) is retired, kept as history.
    for default in ScoringModel.objects.filter(is_default=True, status=ModelStatus.ACTIVE):
        default.status, default.retired_at = ModelStatus.RETIRED, timezone.now()
        default._change_reason = "demo: replaced by Standard B2B"
        default.save()
    version = (ScoringModel.objects.filter(segment="default").aggregate(v=Max("version"))["v"] or 0) + 1
    model = ScoringModel.objects.create(
        name="Standard B2B", segment="default", segment_priority=100, status=ModelStatus.ACTIVE, version=version,
        band_a_min=75, band_b_min=50, band_c_min=25, mql_threshold=45, sql_threshold=75, min_fit=10,
        decay_rate=30, dimension_caps={"company_size": 20, "title": 20, "industry": 15, "geography": 10},
        activated_at=timezone.now(),
    )
    fit = [
        ("company_size", "size_50_200", "50–200 employees", "employees", Operator.RANGE, "50..200", 10),
        ("company_size", "size_201_1000", "201–1,000 employees", "employees", Operator.RANGE, "201..1000", 15),
        ("company_size", "size_1000_plus", "1,000+ employees", "employees", Operator.GTE, "1001", 20),
        ("company_size", "size_tiny", "Fewer than 10 employees", "employees", Operator.LTE, "9", -10),
        ("title", "vp_or_above", "VP or above", "seniority", Operator.IN, "vp, c_level", 15),
        ("title", "director", "Director", "seniority", Operator.EQUALS, "director", 10),
        ("title", "manager", "Manager", "seniority", Operator.EQUALS, "manager", 5),
        ("title", "student", "Student or intern", "title", Operator.REGEX, r"\b(student|intern)\b", -15),
        ("industry", "target_industry", "Target industry", "industry", Operator.IN,
         "technology, financial services", 10),
        ("industry", "secondary_industry", "Secondary industry", "industry", Operator.IN, "healthcare, manufacturing",
         5),
        ("geography", "core_market", "Core market", "country", Operator.IN, "US, CA, GB, DE, FR, NL", 5),
        ("other", "free_email", "Free e-mail address", "domain", Operator.IS_EMPTY, "", -5),
    ]
    for order, (dimension, code, label, field, operator, value, points) in enumerate(fit):
        ScoringRule.objects.create(model=model, kind=RuleKind.FIT, dimension=dimension, reason_code=code,
                                   label=label, field=field, operator=operator, value=value, points=points,
                                   order=order)
    engagement = [
        dict(reason_code="pricing_visit", label="Visited pricing", event_type="page_view", property_key="url",
             property_operator=Operator.CONTAINS, property_value="/pricing", points=8, cap_points=24, window_days=30),
        dict(reason_code="pricing_streak", label="3 pricing visits in 48 h", event_type="page_view",
             property_key="url", property_operator=Operator.CONTAINS, property_value="/pricing", points=15,
             frequency_count=3, frequency_hours=48),
        dict(reason_code="page_view", label="Viewed pages", event_type="page_view", points=1, cap_points=10,
             window_days=30),
        dict(reason_code="email_open", label="Opened e-mails", event_type="email_open", points=1, cap_points=10,
             window_days=30),
        dict(reason_code="email_click", label="Clicked e-mails", event_type="email_click", points=3, cap_points=15,
             window_days=30),
        dict(reason_code="content_download", label="Downloaded content", event_type="content_download", points=5,
             cap_points=15),
        dict(reason_code="webinar", label="Attended a webinar", event_type="webinar_attended", points=10),
        dict(reason_code="demo_request", label="Requested a demo", event_type="demo_request", points=35),
        dict(reason_code="bounced", label="E-mail bounced", event_type="email_bounce", points=-10,
             dimension=Dimension.NEGATIVE),
        dict(reason_code="unsubscribed", label="Unsubscribed", event_type="unsubscribe", points=-30,
             dimension=Dimension.NEGATIVE),
    ]
    for order, rule in enumerate(engagement):
        rule.setdefault("dimension", Dimension.BEHAVIOUR)
        ScoringRule.objects.create(model=model, kind=RuleKind.ENGAGEMENT, order=order, **rule)

    rules = [
        dict(name="VIP referral fast-track to Ines", order=5, bands="A", sources="referral",
             action=RuleAction.ASSIGN_REP, rep=Rep.objects.get(user=users["ines"])),
        dict(name="Enterprise SQL/MQL to Enterprise (account owner first)", order=10, min_employees=1000,
             stages="sql, mql", action=RuleAction.ASSIGN_TEAM, team=ent, strategy=Strategy.ACCOUNT),
        dict(name="Mid-Market SQL by capacity", order=20, min_employees=200, max_employees=999, stages="sql",
             action=RuleAction.ASSIGN_TEAM, team=mid, strategy=Strategy.CAPACITY),
        dict(name="SMB SQL by skills", order=30, max_employees=199, stages="sql", action=RuleAction.ASSIGN_TEAM,
             team=smb, strategy=Strategy.SKILLS),
        dict(name="MQL and re-engaged to SDRs for qualification", order=40, stages="mql, re_engaged",
             action=RuleAction.ASSIGN_TEAM, team=sdr, strategy=Strategy.ROUND_ROBIN),
        dict(name="Below MQL to nurture", order=90, stages="new, engaged, suppressed", action=RuleAction.QUEUE,
             queue="nurture"),
    ]
    for rule in rules:
        RoutingRule.objects.create(**rule)
    demo_nurture_program()  # the leads the last rule parks in nurture are enrolled as they are routed


def demo_companies(rng: random.Random, count: int = 240) -> list[CompanyProfile]:
    """The company directory the enrichment provider reads."""
    stems = ["Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli", "Vandelay", "Wonka", "Tyrell",
             "Cyberdyne", "Soylent", "Aperture", "Black Mesa", "Massive", "Nakatomi", "Oscorp", "Pied Piper",
             "Monarch", "Gringotts", "Prestige", "Sterling", "Dunder", "Bluth"]
    suffixes = ["Systems", "Labs", "Analytics", "Health", "Capital", "Robotics", "Foods", "Media", "Logistics",
                "Software"]
    companies = []
    seen = set()
    while len(companies) < count:
        name = f"{rng.choice(stems)} {rng.choice(suffixes)}"
        domain = name.lower().replace(" ", "") + rng.choice([".com", ".io", ".co", ".de", ".co.uk"])
        if domain in seen:
            continue
        seen.add(domain)
        industry = rng.choice(list(INDUSTRIES))
        employees = int(rng.choice([rng.randint(3, 49), rng.randint(50, 199), rng.randint(200, 999),
                                    rng.randint(1000, 20000)]))
        label, code, _ = rng.choice(COUNTRIES[:-1])
        companies.append(CompanyProfile(domain=domain, name=name, industry=industry, employees=employees,
                                        annual_revenue=employees * rng.randint(80, 250) * 1000, country=code))
    CompanyProfile.objects.bulk_create(companies)
    return companies


def _phone(rng: random.Random, country: str) -> str:
    formats = PHONE_FORMATS.get(country)
    if not formats or rng.random() < 0.3:
        return ""
    return rng.choice(formats).format(a=rng.randint(0, 9999), b=rng.randint(10, 99), c=rng.randint(10, 99))


def demo_lead_rows(rng: random.Random, companies: list[CompanyProfile], count: int) -> list[dict]:
    """Lead rows as an integrator would send them: mixed formats, gaps, a few repeats of the same person."""
    rows = []
    for index in range(count):
        if rows and rng.random() < 0.03:
            repeat = dict(rng.choice(rows))
            repeat["email"] = repeat["email"].upper()
            repeat["external_id"] = f"crm-{index}"
            rows.append(repeat)
            continue
        first, last = rng.choice(FIRST), rng.choice(LAST)
        company = rng.choice(companies)
        label, code = _weighted(rng, COUNTRIES)
        free = rng.random() < 0.15
        domain = rng.choice(["gmail.com", "outlook.com", "yahoo.com"]) if free else company.domain
        ascii_name = unicodedata.normalize("NFKD", f"{first}.{last}").encode("ascii", "ignore").decode()
        local = ascii_name.lower().replace(" ", "").replace("'", "")
        row = {
            "external_id": f"crm-{index}",
            "first_name": first if rng.random() > 0.02 else f"  {first} ",
            "last_name": last,
            "email": f"{local}{rng.randint(1, 99)}@{domain}",
            "phone": _phone(rng, code),
            "company": company.name if rng.random() > 0.1 else "",
            "website": f"https://www.{company.domain}/" if not free and rng.random() > 0.5 else "",
            "title": rng.choice(TITLES),
            "country": label,
            "state": rng.choice(US_STATES) if code == "US" else "",
            "industry": rng.choice([company.industry, rng.choice(INDUSTRIES[company.industry]), ""]),
            "employees": str(company.employees) if rng.random() > 0.4 else "",
            "source": _weighted(rng, SOURCES),
            "campaign": rng.choice(["q3-webinar", "pricing-ads", "ebook-revops", "partner-day", ""]),
            "utm_source": rng.choice(["google", "linkedin", "newsletter", ""]),
            "consent": rng.choice(["yes"] * 12 + ["unknown"] * 7 + ["no"]),
        }
        rows.append(row)
    return rows


def demo_events(rng: random.Random, lead_row: dict, now) -> list[dict]:
    """Between 0 and 12 engagement events over the last 60 days; engaged leads cluster pricing visits."""
    count = rng.choice([0, 0, 1, 2, 3, 4, 6, 8, 12])
    events = []
    for _ in range(count):
        event_type = _weighted(rng, EVENT_MIX)
        props = {"url": f"https://leadflow.example{rng.choice(PAGES)}"} if event_type == "page_view" else {}
        events.append({"type": event_type, "occurred_at": now - timedelta(days=rng.uniform(0, 60)),
                       "properties": props, "source": "demo"})
    if count >= 6 and rng.random() < 0.5:
        for hours in (2, 20, 30):
            events.append({"type": "page_view", "occurred_at": now - timedelta(hours=hours),
                           "properties": {"url": "https://leadflow.example/pricing"}, "source": "demo"})
    return events


def demo_load(*, leads: int = 2000, seed: int = 42, stdout=None) -> dict[str, int]:
    """Load the whole demo (refuses when leads already exist). Returns counts."""
    if Lead.objects.exists() or Territory.objects.exists():
        raise RuntimeError("the database already has data; the demo loads into an empty database only")
    rng = random.Random(seed)
    users = demo_users()
    demo_configuration(users)
    companies = demo_companies(rng)
    now = timezone.now()
    counts: dict[str, int] = {}
    rows = demo_lead_rows(rng, companies, leads)

    done = 0
    with jobs_inline():
        demo_experiment()  # running while the leads arrive: their score changes log their variant
        for start in range(0, len(rows), 250):
            batch = list(enumerate(rows[start:start + 250], start=start))
            outcomes, _ = leads_bulk_ingest(batch, reason="demo data")
            for outcome in outcomes:
                counts[outcome.action] = counts.get(outcome.action, 0) + 1
                if outcome.lead_id is None:
                    continue
                row = rows[outcome.row]
                events = demo_events(rng, row, now)
                if events:  # recording events re-scores the lead
                    events_record(lead_id=outcome.lead_id, items=events)
            done += len(batch)
            if stdout is not None:
                stdout.write(f"  {done}/{len(rows)} leads through the pipeline")
        # The reps' work, through the same services as the workspace: outcomes, then the open tasks' states.
        pipeline_end = timezone.now()
        counts.update(demo_outcomes(rng, now))
        counts.update({f"tasks {state}": n for state, n in demo_task_states(rng, now).items()})
        # Weeks of history, flags and a predictive model for the dashboards (demo_dashboards.py).
        counts["leads spread over weeks"] = demo_timeline(rng, now, pipeline_end)
        counts["score flags"] = demo_feedback(rng, users)
        counts[f"predictive model {demo_predictive()}"] = 1
        counts["re-engaged"] = demo_reengaged(rng, now)
        counts.update(demo_nurture_history(rng, now))  # after the closes and re-engagements that stopped some
    counts["workflow hours"] = health_history_demo(random.Random(seed), now)  # its own stream: the rest unchanged
    # The demo moved its history back in time by hand: the dashboards' summaries start over from it.
    lead_facts_rebuild()  # the funnel summary, the first assignments and the facts (dashboard_facts.py)
    return counts
