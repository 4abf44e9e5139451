"""Write everything stored about one person (found by e-mail) to a JSON file."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from revops.base.privacy import email_normalized
from revops.top.privacy import person_export


class Command(BaseCommand):
    help = ("Export everything stored about a person as JSON: their leads (with the ones merged into them), events, "
            "tasks, routing decisions, score changes, review pairs, notifications and the history rows of each. "
            "`-` writes to standard output.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("email", help="the person's e-mail")
        parser.add_argument("file", help="the JSON file to write, or - for standard output")

    def handle(self, *args, email: str, file: str, **options) -> None:
        if not email_normalized(email):
            raise CommandError("give the person's e-mail")
        data = person_export(email)
        text = json.dumps(data, indent=2, ensure_ascii=False)
        if file == "-":
            self.stdout.write(text)
            return
        Path(file).write_text(text, encoding="utf-8")
        counts = ", ".join(f"{n} {label}" for label, n in data["counts"].items()) or "nothing stored"
        self.stdout.write(self.style.SUCCESS(f"Wrote {file}: {len(data['lead_ids'])} lead(s); {counts}."))
