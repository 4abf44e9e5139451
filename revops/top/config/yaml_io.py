"""The YAML reader and writer of configuration as code: safe loading with line numbers in errors, readable dumps."""

import re
from typing import Any

import yaml

from .specs import ConfigError

# --- YAML ---------------------------------------------------------------------------------------------------------
# YAML 1.1 reads `NO` (Norway) as false and `17:30` as the number 1050. A configuration file is full of country codes
# and working hours, so the loader knows only true/false as booleans and only plain numbers as numbers.


class _Loader(yaml.SafeLoader):
    pass


_BOOL, _INT, _FLOAT = "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in (_BOOL, _INT, _FLOAT)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
_Loader.add_implicit_resolver(_INT, re.compile(r"^[-+]?(?:0|[1-9][0-9_]*)$"), list("-+0123456789"))
_Loader.add_implicit_resolver(
    _FLOAT, re.compile(r"^[-+]?(?:[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?|\.[0-9_]+(?:[eE][-+]?[0-9]+)?)$"),
    list("-+0123456789."),
)


class _Dumper(yaml.SafeDumper):
    pass


# The dumper keeps the standard resolvers, so it quotes every string a YAML 1.1 reader would turn into something else
# ('NO', '17:30'): the file reads the same in any YAML tool. Short lists of plain values are written on one line.


def _represent_list(dumper: yaml.SafeDumper, items: list) -> yaml.Node:
    flow = bool(items) and all(isinstance(item, str | int | float) for item in items) and len(str(items)) < 80
    return dumper.represent_sequence("tag:yaml.org,2002:seq", items, flow_style=flow)


_Dumper.add_representer(list, _represent_list)


def config_load_yaml(text: str) -> Any:
    """Parse a configuration file (see the module notes on booleans and times)."""
    try:
        return yaml.load(text, Loader=_Loader)  # _Loader is a SafeLoader subclass  # nosec B506
    except yaml.YAMLError as exc:
        raise ConfigError([f"not valid YAML: {exc}"]) from exc


def config_dump_yaml(data: dict) -> str:
    header = ("# Leadflow configuration: territories, teams, reps, routing rules, SLA policies, scoring models.\n"
              "# Import with: manage.py import_config FILE [--dry-run]. Fields left out take their defaults.\n")
    return header + yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120)


