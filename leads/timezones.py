"""A lead's time zone, from its country and state (pure: no models).

Steps: a state of the United States, Canada or Australia (its code, "CA", or its name, "California") gives the
zone of most of its people; a country with one time zone gives that zone; a country with several gives the zone of
most of its people (``MAIN_ZONES``; else the first the time zone database lists for it, ``zone.tab``). Nothing
known (no country, a code no zone belongs to) gives None: the caller falls back to the company's zone.
"""

from __future__ import annotations

import functools
import os
import zoneinfo

from .normalize.state import normalize_state

US = {
    "America/New_York": "CT DE DC FL GA IN KY ME MD MA MI NH NJ NY NC OH PA RI SC VT VA WV",
    "America/Chicago": "AL AR IL IA KS LA MN MS MO NE ND OK SD TN TX WI",
    "America/Denver": "CO ID MT NM UT WY",
    "America/Phoenix": "AZ",
    "America/Los_Angeles": "CA NV OR WA",
    "America/Anchorage": "AK",
    "Pacific/Honolulu": "HI",
}
CA = {
    "America/St_Johns": "NL", "America/Halifax": "NS PE", "America/Moncton": "NB", "America/Toronto": "ON QC",
    "America/Winnipeg": "MB", "America/Regina": "SK", "America/Edmonton": "AB NT", "America/Vancouver": "BC",
    "America/Whitehorse": "YT", "America/Iqaluit": "NU",
}
AU = {
    "Australia/Sydney": "NSW ACT", "Australia/Melbourne": "VIC", "Australia/Brisbane": "QLD",
    "Australia/Adelaide": "SA", "Australia/Darwin": "NT", "Australia/Perth": "WA", "Australia/Hobart": "TAS",
}
STATE_ZONES = {country: {state: zone for zone, states in table.items() for state in states.split()}
               for country, table in (("US", US), ("CA", CA), ("AU", AU))}
# Countries with several zones: the zone of most of their people (zone.tab lists another first). The United
# States without a state: Central, at most two hours from any of the mainland's zones.
MAIN_ZONES = {
    "US": "America/Chicago", "CA": "America/Toronto", "AU": "Australia/Sydney", "BR": "America/Sao_Paulo",
    "MX": "America/Mexico_City", "RU": "Europe/Moscow", "UA": "Europe/Kyiv", "UZ": "Asia/Tashkent",
    "PS": "Asia/Hebron", "ID": "Asia/Jakarta", "KZ": "Asia/Almaty", "CN": "Asia/Shanghai",
}


def lead_time_zone(country: str | None, state: str | None = None) -> str | None:
    """The IANA zone name of a lead in ``country`` (ISO alpha-2) and ``state`` (code or name), or None."""
    code = (country or "").strip().upper()
    if not code:
        return None
    states = STATE_ZONES.get(code)
    if states and state:
        zone = states.get(normalize_state(state.strip(), code).upper())
        if zone:
            return _valid(zone)
    return _valid(MAIN_ZONES.get(code) or _country_zones().get(code))


@functools.cache
def _country_zones() -> dict[str, str]:
    """Each country's first zone in the time zone database's ``zone.tab`` (empty when it cannot be found)."""
    zones: dict[str, str] = {}
    for directory in zoneinfo.TZPATH:
        path = os.path.join(directory, "zone.tab")
        if not os.path.exists(path):
            continue
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("#") or not line.strip():
                    continue
                parts = line.split("\t")
                if len(parts) >= 3:
                    zones.setdefault(parts[0].strip().upper(), parts[2].strip())
        break
    return zones


@functools.cache
def _valid(zone: str | None) -> str | None:
    """The zone when this machine's time zone database has it (names change: Europe/Kiev became Europe/Kyiv)."""
    if not zone:
        return None
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None
    return zone
