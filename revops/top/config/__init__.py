"""Configuration as code: the routing and scoring configuration as one YAML file, exported and imported back.

The file holds territories, teams, reps' routing attributes (by username), routing rules (by name), SLA policies,
stage SLAs (by stage), task templates (by name), disqualification reasons (by name) and scoring models with their
rules (by name and version; rules by reason code). It lives here, at the top of the
layers, because it spans routing and scoring.

Import semantics:

- Objects are matched by natural key; a listed object is fully described by the file: a field left out takes the
  model's default (so deleting a condition from the file clears it). Objects the file does not list are left alone,
  except a scoring model's rules: the file lists all of them, and rules it no longer lists are deleted.
- A section left out of the file is not managed by it: nothing in it changes.
- Everything is validated (types, choices, references, each model's own ``clean()``); errors name their place in the
  file (``routing_rules[3].team: unknown team 'Enterprise'``) and nothing is written when there is any error: the
  import is one transaction.
- It is idempotent: an object whose fields already equal the file's is not saved (no history row, no signal).
- A dry run does the same work in a transaction that is rolled back and returns the diff: created, changed (with
  every field's old and new value), unchanged and deleted objects.
- Out-of-office windows are operational data kept in the admin, not configuration; they are neither exported nor
  touched. Users are not created: a rep's username must exist.
- A scoring model's ``status`` is applied last: retirements first, then activations through the scoring layer's
  ``scoring_model_activate`` (which retires the segment's previous version and schedules the rescore).
"""

from .export import config_export, config_export_yaml
from .importer import Change, ImportReport, config_import
from .specs import ConfigError
from .yaml_io import config_dump_yaml, config_load_yaml

__all__ = ["Change", "ConfigError", "ImportReport", "config_dump_yaml", "config_export", "config_export_yaml",
           "config_import", "config_load_yaml"]
