"""The periodic jobs, run by RQ's own cron scheduler (`manage.py rqcron revops.cron`).

Each job checks its workflow's kill switch when it runs; the schedule itself never changes with a deploy.
"""

from rq import cron

from leads.jobs import dedup_scan_job, leads_reenrich_job
from revops.base.jobs import pending_jobs_sweep_job
from revops.base.maintenance import database_statistics_job
from revops.base.notifications import notifications_sweep_job
from revops.base.outbox_alerts import notifications_failed_alert_job
from revops.base.webhooks import webhook_deliveries_due_job
from revops.top.dashboard_facts import lead_facts_refresh_job
from revops.top.health_alerts import workflow_health_check_job
from revops.top.reports_delivery import scoring_report_job, weekly_review_job
from routing.jobs import (
    nurture_steps_send_job,
    reps_digest_job,
    stage_slas_check_job,
    tasks_escalate_overdue_job,
)
from scoring.jobs import predictive_retrain_job, scores_cold_check_job, scores_decay_job

cron.register(pending_jobs_sweep_job, "default", interval=60, name="re-enqueue stuck pipeline jobs")
cron.register(tasks_escalate_overdue_job, "default", interval=300, name="escalate overdue tasks")
cron.register(stage_slas_check_job, "default", interval=3600, name="stage SLAs (time in stage)", job_timeout=1800)
cron.register(nurture_steps_send_job, "default", interval=600, name="nurture programs: e-mail the steps due",
              job_timeout=1800)
cron.register(notifications_sweep_job, "default", interval=600, name="retry stuck notifications")
cron.register(notifications_failed_alert_job, "default", cron="0 7 * * *", name="daily alert of failed messages")
cron.register(reps_digest_job, "default", cron="2 * * * *", name="reps' daily e-mail digest (08:00 their time)")
cron.register(scores_decay_job, "default", cron="15 2 * * *", name="daily score decay", job_timeout=3600)
cron.register(scores_cold_check_job, "default", cron="45 2 * * *", name="daily cold-lead check", job_timeout=3600)
cron.register(predictive_retrain_job, "default", cron="0 5 * * 1", name="weekly predictive retraining",
              job_timeout=3600)
cron.register(leads_reenrich_job, "default", cron="30 3 * * *", name="daily re-enrichment", job_timeout=3600)
cron.register(dedup_scan_job, "default", cron="0 4 * * 0", name="weekly duplicate scan", job_timeout=3600)
cron.register(database_statistics_job, "default", cron="0 1 * * *", name="nightly database statistics",
              job_timeout=3600)
cron.register(workflow_health_check_job, "default", cron="5 * * * *", name="workflow-health rate alerts")
cron.register(scoring_report_job, "default", cron="0 * * * *", name="daily scoring report (07:00 local time)",
              job_timeout=1800)
cron.register(weekly_review_job, "default", cron="0 * * * *", name="weekly performance review (Monday 07:00 local)",
              job_timeout=1800)
# One job keeps every dashboard summary: the funnel summary and the first assignments first, then the lead facts,
# the follow-up days and the experiments' summary (revops/top/dashboard_facts.py lead_facts_refresh).
cron.register(lead_facts_refresh_job, "default", interval=60, name="dashboards' summaries from the lead history",
              job_timeout=1800)
cron.register(webhook_deliveries_due_job, "default", interval=60, name="webhook deliveries due for an attempt")
