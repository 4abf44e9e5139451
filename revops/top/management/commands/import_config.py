"""Apply a routing and scoring configuration from a YAML file; --dry-run prints the diff and writes nothing."""

import sys
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from revops.base.commands import PipelineCommand
from revops.top.config import ConfigError, config_import


class Command(PipelineCommand):
    help = ("Import a configuration file written by export_config (or by hand): objects are matched by name, "
            "everything is validated first and applied in one transaction. Prints what was created, changed, "
            "left unchanged or deleted, field by field. With --dry-run nothing is written.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="the YAML file to read, or - for standard input")
        parser.add_argument("--dry-run", action="store_true", help="Print the diff only; write nothing.")
        parser.add_argument("--user", help="Username recorded in the history of every change (default: none).")

    def handle(self, *args, file: str, dry_run: bool, user: str | None, **options) -> None:
        if file == "-":
            text = sys.stdin.read()
        else:
            path = Path(file)
            if not path.is_file():
                raise CommandError(f"{file}: no such file")
            text = path.read_text(encoding="utf-8")
        history_user = None
        if user:
            history_user = get_user_model().objects.filter(username=user).first()
            if history_user is None:
                raise CommandError(f"--user: no user {user!r}")
        try:
            report = config_import(text, dry_run=dry_run, user=history_user)
        except ConfigError as exc:
            raise CommandError(f"{file}: {len(exc.errors)} problem(s), nothing was written:\n  "
                               + "\n  ".join(exc.errors)) from exc
        self.stdout.write(report.as_text())
