"""Write the routing and scoring configuration to a YAML file (configuration as code)."""

from pathlib import Path

from django.core.management.base import BaseCommand

from revops.top.config import config_dump_yaml, config_export


class Command(BaseCommand):
    help = ("Export territories, teams, reps' routing attributes, routing rules, SLA policies, stage SLAs, task "
            "templates, disqualification reasons and scoring models with their rules to a YAML file; `-` writes to "
            "standard output. Re-import with import_config.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="the YAML file to write, or - for standard output")

    def handle(self, *args, file: str, **options) -> None:
        data = config_export()
        text = config_dump_yaml(data)
        if file == "-":
            self.stdout.write(text, ending="")
            return
        Path(file).write_text(text, encoding="utf-8")
        counts = ", ".join(f"{len(data[section])} {section.replace('_', ' ')}" for section in data
                           if section != "version")
        self.stdout.write(self.style.SUCCESS(f"Wrote {file}: {counts}."))
