"""`apply_decay`: the daily score decay, now (the same job the scheduler runs, kill switch included)."""


from revops.base.commands import PipelineCommand
from scoring.jobs import scores_decay_job


class Command(PipelineCommand):
    help = "Decay engagement scores now (set-based); leads that fall below a threshold move down a stage."

    def handle(self, *args, **options) -> None:
        result = scores_decay_job()
        self.stdout.write("decay skipped: the decay kill switch is off" if result == "skipped" else result)
