"""Job titles: seniority and department from word-boundary keyword rules."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from .text import clean_text, strip_accents

SENIORITY_CHOICES: tuple[tuple[str, str], ...] = (
    ("c_level", "C-level"),
    ("vp", "VP"),
    ("director", "Director"),
    ("manager", "Manager"),
    ("senior", "Senior"),
    ("individual", "Individual contributor"),
    ("", "Unknown"),
)

DEPARTMENT_CHOICES: tuple[tuple[str, str], ...] = (
    ("engineering", "Engineering"),
    ("sales", "Sales"),
    ("marketing", "Marketing"),
    ("finance", "Finance"),
    ("operations", "Operations"),
    ("it", "IT"),
    ("hr", "HR"),
    ("product", "Product"),
    ("executive", "Executive"),
    ("support", "Support"),
    ("legal", "Legal"),
    ("", "Unknown"),
)

# Checked in order; the first matching rule wins. Titles are lower-cased and accent-folded before matching.
_SENIORITY_RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (seniority, re.compile(pattern))
    for seniority, pattern in (
        # "Assistant to the CEO" describes someone else's rank.
        ("individual", r"\b(?:assistant|secretary|pa)\s+to\b"),
        (
            "c_level",
            r"\b(?:ceo|cto|cfo|coo|cmo|cio|ciso|cro|cpo|cso|cdo|cco|chro|cxo|chief(?!\s+of\s+staff)"
            r"|(?:co-?)?founder|(?<!product )owner|(?<!vice )(?<!vice-)president"
            r"|geschaftsfuhrer|pdg|directeur general|director general)\b",
        ),
        ("vp", r"\b(?:vp|svp|evp|avp|vice[\s-]+president|head\s+of)\b"),
        ("director", r"\b(?:director|dir|directeur|directora?|direktor)\b"),
        ("manager", r"\b(?:manager|mgr|lead(?!\s+gen)|leader|supervisor|gerente)\b"),
        ("senior", r"\b(?:senior|sr|snr|principal|staff)\b"),
    )
)

_DEPARTMENT_RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (department, re.compile(pattern))
    for department, pattern in (
        ("legal", r"\b(?:legal|counsel|attorney|lawyer|paralegal|compliance|clo)\b"),
        ("hr", r"\b(?:hr|human resources|people|talent|recruit\w*|chro|payroll|personnel|hrbp)\b"),
        (
            "finance",
            r"\b(?:financ\w*|cfo|accountant|accounting|controller|comptroller|treasur\w*|fp&a|audit\w*"
            r"|bookkeep\w*|tax)\b",
        ),
        (
            "marketing",
            r"\b(?:marketing|cmo|growth|brand\w*|demand gen\w*|content|seo|sem|communications|comms|pr"
            r"|public relations|social media)\b",
        ),
        # Revenue/sales operations is an operations function, even though it mentions sales.
        ("operations", r"\b(?:rev\s?ops|revenue operations|sales operations|sales ops|business operations)\b"),
        (
            "sales",
            r"\b(?:sales|account executive|account manager|account director|business development|bdr|sdr|bdm"
            r"|cro|revenue|partnerships?|channel|commercial|vertrieb)\b",
        ),
        (
            "support",
            r"\b(?:support|customer success|customer service|customer care|customer experience|chief customer"
            r"|csm|help\s?desk|service desk)\b",
        ),
        # Not "ui": a "UI Developer" writes code; designers are caught by "design".
        ("product", r"\b(?:product|cpo|ux|user experience|design\w*)\b"),
        (
            "it",
            r"\b(?:it|information technology|chief information|cio|ciso|sysadmin|systems? administrator"
            r"|network|infrastructure|security)\b",
        ),
        (
            "engineering",
            r"\b(?:engineer\w*|developer|development|software|devops|sre|architect|programmer|cto|technology"
            r"|technical|r&d|qa|data scien\w*|machine learning|ml|firmware|front-?end|back-?end|full-?stack)\b",
        ),
        (
            "operations",
            r"\b(?:operations|ops|operating|coo|logistics|supply chain|procurement|purchasing|facilities)\b",
        ),
        (
            "executive",
            r"\b(?:ceo|chief executive|(?:co-?)?founder|owner|(?<!vice )(?<!vice-)president|managing director"
            r"|general manager"
            r"|chair(?:man|woman|person)?|board|chief of staff|geschaftsfuhrer|pdg)\b",
        ),
    )
)


@lru_cache(maxsize=8192)
def classify_title(title: str) -> tuple[str, str]:
    """Seniority and department for an already-cleaned, non-empty title (cached: titles repeat a lot)."""
    folded = strip_accents(title).lower()
    seniority = next((level for level, pattern in _SENIORITY_RULES if pattern.search(folded)), "individual")
    department = next((name for name, pattern in _DEPARTMENT_RULES if pattern.search(folded)), "")
    return seniority, department


def title_to_seniority_department(title: Any) -> tuple[str, str]:
    """Return ``(seniority, department)`` from a job title using word-boundary keyword rules.

    An empty title gives ``("", "")``; a title with no seniority keyword is ``individual``.
    """
    text = clean_text(title)
    if not text:
        return "", ""
    return classify_title(text)
