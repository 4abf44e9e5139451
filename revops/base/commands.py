"""The base of Leadflow's management commands that write: they never die with a traceback after their commit.

Their writes schedule pipeline jobs. When Redis is unreachable the jobs stay in the pending-jobs table
(``revops.base.pending``) and the command ends with one line saying how many wait for the sweeper.
"""

from django.core.management.base import BaseCommand

from .jobs import jobs_left_pending, jobs_left_pending_notice


class PipelineCommand(BaseCommand):
    """A command whose writes schedule pipeline jobs; says in one line when Redis left some of them pending."""

    def execute(self, *args, **options):
        left_before = jobs_left_pending()
        result = super().execute(*args, **options)
        if notice := jobs_left_pending_notice(since=left_before):
            self.stdout.write(notice)
        return result
