"""`rescore_leads [--all]`: recompute scores set-based, after a model change or to catch up."""


from revops.base.choices import Workflow
from revops.base.commands import PipelineCommand
from revops.base.switches import workflow_enabled
from scoring.services import leads_rescore_bulk, leads_rescore_needed


class Command(PipelineCommand):
    help = ("Rescore leads set-based: by default the leads never scored and those scored before the newest model "
            "activation; --all every live lead.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--all", action="store_true", help="rescore every live lead")

    def handle(self, *args, **options) -> None:
        if not workflow_enabled(Workflow.SCORING):
            self.stdout.write("rescoring skipped: the scoring kill switch is off")
            return
        summary = leads_rescore_bulk(cause="rescore") if options["all"] else leads_rescore_needed()
        self.stdout.write(str(summary))
