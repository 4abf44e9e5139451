"""How the duplicate checks compare people and companies (pure: no Django, no models).

Person names are compared robust to swapped parts, initials, nicknames and typos (``name_similarity``); company
names lose their punctuation and legal-form suffixes (``normalize_company``); free-mail domains say nothing about
the employer (``FREE_EMAIL_DOMAINS``, ``blocking_domain``). The ingest match rules, the bulk import and the
full-database scan all compare with these.
"""

from __future__ import annotations

from functools import lru_cache

from rapidfuzz import fuzz, utils

# One list of free-mail domains for normalisation and the duplicate checks: normalize's.
from leads.normalize.email import FREE_EMAIL_DOMAINS, is_free_email_domain  # noqa: F401 - re-exported

# Nickname -> formal first name. Both sides of a comparison are mapped before scoring, so "bob smith" and
# "robert smith" compare as identical. Ambiguous short forms ("jon", "al", "jo") are left out on purpose: they
# are as often typos or distinct names as they are nicknames.
NICKNAMES: dict[str, str] = {
    "abby": "abigail",
    "alex": "alexander",
    "andy": "andrew",
    "drew": "andrew",
    "tony": "anthony",
    "becky": "rebecca",
    "beth": "elizabeth",
    "liz": "elizabeth",
    "lizzie": "elizabeth",
    "betty": "elizabeth",
    "ben": "benjamin",
    "bill": "william",
    "billy": "william",
    "will": "william",
    "willie": "william",
    "bob": "robert",
    "bobby": "robert",
    "rob": "robert",
    "robbie": "robert",
    "cathy": "catherine",
    "kate": "katherine",
    "katie": "katherine",
    "kathy": "katherine",
    "charlie": "charles",
    "chuck": "charles",
    "chris": "christopher",
    "dan": "daniel",
    "danny": "daniel",
    "dave": "david",
    "debbie": "deborah",
    "ed": "edward",
    "eddie": "edward",
    "ted": "edward",
    "fred": "frederick",
    "greg": "gregory",
    "hank": "henry",
    "harry": "henry",
    "jack": "john",
    "johnny": "john",
    "jeff": "jeffrey",
    "jen": "jennifer",
    "jenny": "jennifer",
    "jim": "james",
    "jimmy": "james",
    "joe": "joseph",
    "joey": "joseph",
    "josh": "joshua",
    "ken": "kenneth",
    "kenny": "kenneth",
    "larry": "lawrence",
    "maggie": "margaret",
    "meg": "margaret",
    "peggy": "margaret",
    "matt": "matthew",
    "mike": "michael",
    "mikey": "michael",
    "nate": "nathan",
    "nick": "nicholas",
    "pat": "patricia",
    "patty": "patricia",
    "rick": "richard",
    "rich": "richard",
    "dick": "richard",
    "ron": "ronald",
    "ronnie": "ronald",
    "sam": "samuel",
    "steve": "steven",
    "sue": "susan",
    "susie": "susan",
    "tom": "thomas",
    "tommy": "thomas",
    "tim": "timothy",
    "vicky": "victoria",
    "zach": "zachary",
}

# Trailing legal-form words carry no identity: "acme analytics inc" and "acme analytics" are the same company.
COMPANY_SUFFIXES: frozenset[str] = frozenset(
    {
        "ag",
        "bv",
        "co",
        "company",
        "corp",
        "corporation",
        "gmbh",
        "group",
        "holding",
        "holdings",
        "inc",
        "incorporated",
        "kg",
        "limited",
        "llc",
        "llp",
        "ltd",
        "nv",
        "oy",
        "plc",
        "pty",
        "sa",
        "sarl",
        "sas",
        "se",
        "spa",
        "srl",
    }
)

COMPANY_THRESHOLD = 90.0
# An initial ("j smith") only proves the first letter, so a perfect initial match scores a bit below a perfect
# full-name match and a typo on top of an initial falls under the default threshold.
INITIAL_MATCH_WEIGHT = 0.95


def first_part(first: str) -> str:
    """Processed first name: ``utils.default_process``, then a nickname mapped to its formal name."""
    processed = utils.default_process(first)
    return NICKNAMES.get(processed, processed)


def _name_parts(first: str, last: str) -> tuple[str, str]:
    """Processed ``(first, last)`` as compared by ``name_similarity`` and the scan."""
    return first_part(first), utils.default_process(last)


def name_forms(first: str, last: str) -> tuple[str, str, bool]:
    """Return the comparison forms of processed name parts: ``(sorted_key, abbreviated_key, has_initial)``.

    Steps:
    1. ``sorted_key`` is all tokens sorted and space-joined, so ``fuzz.ratio`` on it equals
       ``fuzz.token_sort_ratio`` and swapped first/last names compare as equal.
    2. If either part is a single letter (an initial, in either position), ``abbreviated_key`` is that letter
       followed by the other part; otherwise it is the first letter of the first name followed by the last name.
       Comparing abbreviated keys lets "j smith" match "john smith" and "smith j".
    """
    if not first or not last:
        key = first or last
        return key, key, False
    if " " in first or " " in last:
        key = " ".join(sorted(first.split() + last.split()))
    else:
        key = f"{first} {last}" if first <= last else f"{last} {first}"
    if len(last) == 1 and len(first) > 1:
        return key, f"{last} {first}", True
    return key, f"{first[0]} {last}", len(first) == 1


def name_similarity(a_first: str, a_last: str, b_first: str, b_last: str) -> float:
    """Similarity 0..100 of two person names, robust to swapped parts, initials, nicknames and typos.

    Steps:
    1. Process both names and build their comparison forms (see ``_name_parts``, ``name_forms``); an empty
       name scores 0.
    2. Score ``fuzz.ratio`` of the sorted-token keys (i.e. ``token_sort_ratio`` after nickname mapping).
    3. When either side is an initial, also score the abbreviated keys, weighted by ``INITIAL_MATCH_WEIGHT``,
       and keep the higher score.

    ``find_duplicate_pairs`` computes exactly this formula, vectorised over blocks.
    """
    a_key, a_abbr, a_init = _compared_forms(a_first, a_last)
    b_key, b_abbr, b_init = _compared_forms(b_first, b_last)
    if not a_key or not b_key:
        return 0.0
    score = fuzz.ratio(a_key, b_key)
    if a_init or b_init:
        score = max(score, INITIAL_MATCH_WEIGHT * fuzz.ratio(a_abbr, b_abbr))
    return float(score)


@lru_cache(maxsize=65536)
def _compared_forms(first: str, last: str) -> tuple[str, str, bool]:
    """``name_forms(*_name_parts(first, last))``, kept for the names seen last: an import compares each new name
    with up to ``CANDIDATES_PER_KEY`` stored ones per key, and names repeat."""
    return name_forms(*_name_parts(first, last))


def normalize_company(company: str) -> str:
    """Lower-case, strip punctuation and drop trailing legal-form words ("acme analytics inc" -> "acme analytics")."""
    tokens = utils.default_process(company).split()
    while len(tokens) > 1 and tokens[-1] in COMPANY_SUFFIXES:
        tokens.pop()
    return " ".join(tokens)


def blocking_domain(domain: str, email: str) -> str:
    """Return the organisation domain of a lead (its ``domain`` field, else its e-mail's), or "" for free mail."""
    dom = domain.strip().lower().removeprefix("www.")
    if not dom:
        dom = email.partition("@")[2]
    return "" if is_free_email_domain(dom) else dom

