"""Synthetic leads with known duplicates, and the metrics that score a duplicate scan against them.

Used by the dedup engine tests and by ``bench/bench_dedup_scan.py``; never by the application.
"""

from __future__ import annotations

import random
import string
from collections.abc import Iterable

from rapidfuzz import fuzz

from leads.dedup import CandidatePair, DedupRecord
from leads.dedup.names import COMPANY_THRESHOLD, NICKNAMES, blocking_domain, normalize_company

# ---------------------------------------------------------------------------------------------------------------
# Evaluation helpers
# ---------------------------------------------------------------------------------------------------------------


def _found_keys(found: Iterable[CandidatePair]) -> set[tuple[int, int]]:
    """Distinct ``(lower id, higher id)`` keys of the found pairs."""
    keys: set[tuple[int, int]] = set()
    for pair in found:
        a, b = pair.lead_id, pair.other_lead_id
        keys.add((a, b) if a < b else (b, a))
    return keys


def pair_recall(found: Iterable[CandidatePair], truth: set[tuple[int, int]]) -> float:
    """Share of true duplicate pairs (``(low id, high id)``) that were found; 1.0 when there is nothing to find."""
    if not truth:
        return 1.0
    return len(_found_keys(found) & truth) / len(truth)


def pair_precision(found: Iterable[CandidatePair], truth: set[tuple[int, int]]) -> float:
    """Share of found pairs that are true duplicates; 1.0 when nothing was found."""
    keys = _found_keys(found)
    if not keys:
        return 1.0
    return len(keys & truth) / len(keys)


# ---------------------------------------------------------------------------------------------------------------
# Synthetic data
# ---------------------------------------------------------------------------------------------------------------

_FIRST_NAMES = (
    "james john robert michael william david richard joseph thomas charles christopher daniel matthew anthony "
    "mark donald steven paul andrew joshua kenneth kevin brian george timothy ronald edward jason jeffrey ryan "
    "jacob gary nicholas eric jonathan stephen lawrence justin scott brandon benjamin samuel gregory alexander "
    "frank patrick raymond dennis jerry tyler aaron jose adam nathan henry douglas zachary peter kyle noah "
    "ethan jeremy walter christian keith roger terry austin sean gerald carl harold dylan arthur jordan jesse "
    "bryan bruce gabriel logan albert alan eugene russell vincent philip bradley frederick "
    "mary patricia jennifer linda elizabeth barbara susan jessica sarah karen lisa nancy margaret sandra "
    "ashley kimberly emily donna michelle carol amanda dorothy melissa deborah stephanie rebecca sharon laura "
    "cynthia kathleen amy angela shirley anna brenda pamela emma nicole helen samantha katherine christine "
    "rachel carolyn janet catherine maria heather diane ruth julie olivia joyce virginia victoria kelly lauren "
    "christina joan evelyn judith megan andrea cheryl hannah jacqueline martha gloria teresa sara madison "
    "frances kathryn janice jean abigail alice judy sophia grace denise amber doris marilyn danielle beverly "
    "isabella theresa diana natalie brittany charlotte marie kayla alexis lori "
    "lukas leon felix jonas maximilian sophie lena mia klaus juergen wolfgang francois pierre camille chloe "
    "manon lucas hugo antoine priya rahul amit anil sunita deepak wei ming xiao yan hiroshi yuki kenji sakura "
    "carlos juan luis miguel sofia lucia javier elena giulia marco luca matteo alessandro francesca olga ivan "
    "dmitri sergei natasha ahmed fatima omar mohammed ingrid astrid lars sven bjorn mats erik"
).split()

_LAST_NAMES = (
    "smith johnson williams brown jones garcia miller davis rodriguez martinez hernandez lopez gonzalez wilson "
    "anderson thomas taylor moore jackson martin lee perez thompson white harris sanchez clark ramirez lewis "
    "robinson walker young allen king wright scott torres nguyen hill flores green adams nelson baker hall "
    "rivera campbell mitchell carter roberts gomez phillips evans turner diaz parker cruz edwards collins reyes "
    "stewart morris morales murphy cook rogers gutierrez ortiz morgan cooper peterson bailey reed kelly howard "
    "ramos kim cox ward richardson watson brooks chavez wood james bennett gray mendoza ruiz hughes price "
    "alvarez castillo sanders patel myers long ross foster jimenez powell jenkins perry russell sullivan bell "
    "coleman butler henderson barnes fisher vasquez simmons romero jordan patterson alexander hamilton graham "
    "reynolds griffin wallace moreno west cole hayes bryant herrera gibson ellis tran medina aguilar stevens "
    "murray ford castro marshall owens harrison fernandez mcdonald woods washington kennedy wells vargas henry "
    "chen freeman webb tucker guzman burns crawford olson simpson porter hunter gordon mendez silva shaw snyder "
    "mason dixon munoz hunt hicks holmes palmer wagner black robertson boyd rose stone salazar fox warren mills "
    "meyer rice schmidt garza daniels ferguson nichols stephens soto weaver ryan gardner payne grant dunn "
    "spencer hawkins arnold pierce hansen peters santos hart bradley knight elliott cunningham duncan armstrong "
    "hudson carroll lane riley andrews alvarado delgado berry perkins hoffman johnston matthews pena richards "
    "willis carpenter sandoval mueller schneider fischer weber becker schulz koch richter klein wolf schroeder "
    "neumann schwarz zimmermann braun krueger hartmann lange schmitt werner krause meier lehmann dubois durand "
    "lefebvre moreau laurent simon michel leroy roux bertrand morel fournier girard bonnet rossi russo ferrari "
    "esposito bianchi romano colombo ricci marino greco sharma gupta singh kumar verma reddy iyer wang zhang liu "
    "yang huang zhao zhou sato suzuki takahashi tanaka watanabe ivanov smirnov kuznetsov popov"
).split()

_SURNAME_STEMS = (
    "ander berg hol lind stroh wester kal mar nord ost ros sand sten vik win eck fal gold hart kirch lich mon pell "
    "rad sil tor ull vor zell bran cor dal fen gar hal jar kess lor mer"
).split()
_SURNAME_ENDINGS = (
    "son sen berg mann stein feld strom ley ton wood ford ski ova enko ini etti ard ier hof dorf by well".split()
)

_BRAND_SYLLABLES = (
    "ac ad al am an ar as av ax be bi bo br ca ce ci co cr da de di do dr el en ev ex fa fi fl fo ga ge gl gr ha "
    "he hy in io ja ka ki kr la le li lo lu ma me mi mo na ne ni no nu ob om on op or pa pe pi pl po pr qu ra re "
    "ri ro ru sa se si so st su sy ta te ti to tr ty ul un ur va ve vi vo xa ze zi zo"
).split()
_BRAND_ENDINGS = "x tech ly fy io on ix ora ent us ware bit sys gen".split()
_INDUSTRY_WORDS = (
    "analytics logistics systems software labs solutions health capital energy foods media robotics networks "
    "consulting partners bank insurance security cloud data"
).split()
_LEGAL_FORMS = ("inc", "llc", "ltd", "gmbh", "corp", "ag", "sa")
_TLDS = ("com", "com", "com", "com", "io", "de", "co", "net", "ai", "fr", "co.uk")
_FREE_MAIL_CHOICES = (
    "gmail.com",
    "gmail.com",
    "gmail.com",
    "yahoo.com",
    "hotmail.com",
    "outlook.com",
    "icloud.com",
    "gmx.de",
    "web.de",
    "aol.com",
    "proton.me",
)
_NAME_EDITS = ("typo_last", "typo_first", "swap", "nickname", "initial", "none")
_NAME_EDIT_WEIGHTS = (24, 22, 8, 12, 6, 28)


def _zipf_cum_weights(count: int, exponent: float, offset: float) -> list[float]:
    """Cumulative weights of a Zipf-like popularity curve for ``random.choices`` (rank 0 is the most common)."""
    total = 0.0
    cumulative: list[float] = []
    for rank in range(count):
        total += 1.0 / (rank + offset) ** exponent
        cumulative.append(total)
    return cumulative


def _typo(rng: random.Random, word: str) -> str:
    """One keyboard slip in ``word``: substitute, delete, insert or transpose a letter (rarely the first one)."""
    if len(word) < 3:
        return word
    pos = rng.randrange(1, len(word)) if rng.random() < 0.9 else 0
    op = rng.randrange(4)
    letter = rng.choice(string.ascii_lowercase)
    if op == 0:
        return word[:pos] + letter + word[pos + 1 :]
    if op == 1:
        return word[:pos] + word[pos + 1 :]
    if op == 2:
        return word[:pos] + letter + word[pos:]
    pos = min(pos, len(word) - 2)
    return word[:pos] + word[pos + 1] + word[pos] + word[pos + 2 :]


def _random_phone(rng: random.Random) -> str:
    """A random E.164 number from one of a few countries."""
    country = rng.random()
    if country < 0.55:
        return f"+1{rng.randrange(201, 990)}{rng.randrange(2000000, 9999999)}"
    if country < 0.7:
        return f"+447{rng.randrange(100000000, 999999999)}"
    if country < 0.85:
        return f"+491{rng.randrange(5000000000, 7999999999)}"
    return f"+336{rng.randrange(10000000, 99999999)}"


def _companies(rng: random.Random, count: int) -> list[tuple[str, str]]:
    """``count`` distinct ``(company name, web domain)`` pairs built from invented brand names."""
    seen: set[str] = set()
    out: list[tuple[str, str]] = []
    while len(out) < count:
        brand = rng.choice(_BRAND_SYLLABLES) + rng.choice(_BRAND_SYLLABLES)
        if rng.random() < 0.4:
            brand += rng.choice(_BRAND_SYLLABLES)
        brand += rng.choice(_BRAND_ENDINGS)
        if brand in seen:
            continue
        seen.add(brand)
        name = f"{brand} {rng.choice(_INDUSTRY_WORDS)}" if rng.random() < 0.5 else brand
        out.append((name, f"{brand}.{rng.choice(_TLDS)}"))
    return out


def _unique_email(used: dict[str, int], local: str, domain: str) -> str:
    """``local@domain``, numbered (``local2@``) when an earlier lead already holds it, as mail systems do.

    ``used`` maps every issued address to 1 and every base address to the next number to try, so numbering
    resumes where it stopped and a number never collides with a mailbox that already ends in digits.
    """
    base = f"{local}@{domain}"
    if base not in used:
        used[base] = 2
        return base
    number = used[base]
    while f"{local}{number}@{domain}" in used:
        number += 1
    used[base] = number + 1
    email = f"{local}{number}@{domain}"
    used[email] = 1
    return email


def _work_local(rng: random.Random, first: str, last: str) -> str:
    """A corporate mailbox name following one of the common patterns."""
    pattern = rng.randrange(6)
    if pattern == 0:
        return f"{first}.{last}"
    if pattern == 1:
        return f"{first[:1]}{last}"
    if pattern == 2:
        return first
    if pattern == 3:
        return f"{first}_{last}"
    if pattern == 4:
        return f"{first}{last[:1]}"
    return f"{last}.{first}"


def _shares_evidence(base: dict[str, str], dup: dict[str, str]) -> bool:
    """True when a duplicate shares something the scan may report on besides a similar name.

    That is the same e-mail, the same phone, the same non-free domain, or companies that match after
    normalization (exactly or with ``fuzz.ratio`` >= ``COMPANY_THRESHOLD``).
    """
    if base["email"] and base["email"] == dup["email"]:
        return True
    if base["phone"] and base["phone"] == dup["phone"]:
        return True
    dom = blocking_domain(base["domain"], base["email"])
    if dom and dom == blocking_domain(dup["domain"], dup["email"]):
        return True
    a, b = normalize_company(base["company"]), normalize_company(dup["company"])
    return bool(a and b and fuzz.ratio(a, b) >= COMPANY_THRESHOLD)


def _mutate(rng: random.Random, base: dict[str, str], company_domain: str, used: dict[str, int]) -> dict[str, str]:
    """Derive a duplicate lead from ``base`` the way a second sign-up or import of the same person looks.

    Steps:
    1. E-mail: kept (45%), a new work address at the same company (30%; free mail when there is none), a free
       mail address (15%) or missing (10%). Exact e-mail duplicates are mostly stopped at ingest, so most
       duplicates in the database differ here.
    2. Phone: kept (55%; however it was typed, it normalizes to the same E.164 string), missing (25%) or a new
       number (20%).
    3. Name: one or two edits among a typo in the last or first name, swapped parts, a nickname, an initial,
       or none.
    4. Company: kept (80%), a spelling variant (legal suffix added or a typo, 12%) or missing (8%).
    5. If nothing the scan may report on is left in common (see ``_shares_evidence``), restore the phone or
       e-mail: such a record is a different lead for RevOps purposes, not a duplicate to find.
    """
    dup = dict(base)
    first, last = base["first_name"], base["last_name"]
    roll = rng.random()
    if 0.45 <= roll < 0.75 and company_domain:
        dup["email"] = _unique_email(used, _work_local(rng, first, last), company_domain)
        dup["domain"] = company_domain
    elif 0.45 <= roll < 0.9:
        free = rng.choice(_FREE_MAIL_CHOICES)
        dup["email"] = _unique_email(used, f"{first}.{last}{rng.randrange(100)}", free)
        dup["domain"] = free
    elif roll >= 0.9:
        dup["email"], dup["domain"] = "", ""

    roll = rng.random()
    if 0.55 <= roll < 0.8:
        dup["phone"] = ""
    elif roll >= 0.8:
        dup["phone"] = _random_phone(rng)

    for edit in rng.choices(_NAME_EDITS, weights=_NAME_EDIT_WEIGHTS, k=rng.choice((1, 1, 2))):
        if edit == "typo_last":
            dup["last_name"] = _typo(rng, dup["last_name"])
        elif edit == "typo_first":
            dup["first_name"] = _typo(rng, dup["first_name"])
        elif edit == "swap":
            dup["first_name"], dup["last_name"] = dup["last_name"], dup["first_name"]
        elif edit == "nickname":
            nicks = [nick for nick, formal in NICKNAMES.items() if formal == dup["first_name"]]
            if nicks:
                dup["first_name"] = rng.choice(nicks)
        elif edit == "initial" and dup["first_name"]:
            dup["first_name"] = dup["first_name"][0]

    roll = rng.random()
    if dup["company"] and roll < 0.12:
        if roll < 0.06:
            dup["company"] = f"{normalize_company(dup['company'])} {rng.choice(_LEGAL_FORMS)}"
        else:
            words = dup["company"].split()
            words[0] = _typo(rng, words[0])
            dup["company"] = " ".join(words)
    elif roll < 0.2:
        dup["company"] = ""

    if not _shares_evidence(base, dup):
        if base["phone"]:
            dup["phone"] = base["phone"]
        else:
            dup["email"], dup["domain"] = base["email"], base["domain"]
    return dup


def generate_synthetic_leads(
    n: int, *, duplicate_rate: float = 0.05, seed: int = 7
) -> tuple[list[DedupRecord], set[tuple[int, int]]]:
    """Realistic B2B leads with a known set of true duplicate pairs ``(lower id, higher id)``.

    Steps:
    1. Draw ``n // 10`` companies with invented brand names and web domains; lead counts per company follow a
       Zipf curve, so a few companies are big (thousands of leads at 1M) and most are small.
    2. Draw ``n - round(n * duplicate_rate)`` original leads: Zipf-distributed first and last names (common
       English, European and Asian names plus invented surnames), company with an occasional legal suffix,
       a work e-mail in a common pattern (numbered on collision) or free mail, a personal phone, a company
       switchboard phone shared with colleagues, or none.
    3. Derive the duplicates from randomly chosen originals (an original can get several) with ``_mutate``;
       every two members of one original's family form a true pair.
    4. Shuffle and number the leads 1..n so duplicates are not adjacent by id.
    """
    if n < 0 or not 0.0 <= duplicate_rate < 1.0:
        raise ValueError("n must be >= 0 and duplicate_rate in [0, 1)")
    rng = random.Random(seed)
    n_dup = round(n * duplicate_rate)
    n_base = n - n_dup
    last_names = list(_LAST_NAMES) + [stem + ending for stem in _SURNAME_STEMS for ending in _SURNAME_ENDINGS]
    companies = _companies(rng, max(5, n // 10))
    switchboards = [_random_phone(rng) for _ in companies]

    firsts = rng.choices(_FIRST_NAMES, cum_weights=_zipf_cum_weights(len(_FIRST_NAMES), 0.9, 8.0), k=n_base)
    lasts = rng.choices(last_names, cum_weights=_zipf_cum_weights(len(last_names), 0.8, 10.0), k=n_base)
    company_idx = rng.choices(range(len(companies)), cum_weights=_zipf_cum_weights(len(companies), 0.7, 3.0), k=n_base)

    used: dict[str, int] = {}
    rows: list[dict[str, str]] = []
    company_of: list[int] = []
    for first, last, cidx in zip(firsts, lasts, company_idx, strict=True):
        has_company = rng.random() < 0.92
        company, company_domain = companies[cidx] if has_company else ("", "")
        if has_company and rng.random() < 0.25:
            company = f"{company} {rng.choice(_LEGAL_FORMS)}"
        kind = rng.random()
        if has_company and kind < 0.68:
            email = _unique_email(used, _work_local(rng, first, last), company_domain)
            domain = company_domain
        elif kind < 0.94:
            free = rng.choice(_FREE_MAIL_CHOICES)
            email = _unique_email(used, f"{first}.{last}{rng.randrange(100)}", free)
            domain = free
        else:
            email, domain = "", ""
        kind = rng.random()
        if has_company and kind < 0.06:
            phone = switchboards[cidx]
        elif kind < 0.88 or not email:
            phone = _random_phone(rng)
        else:
            phone = ""
        rows.append(
            {
                "email": email,
                "phone": phone,
                "first_name": first,
                "last_name": last,
                "company": company,
                "domain": domain,
            }
        )
        company_of.append(cidx if has_company else -1)

    families: dict[int, list[int]] = {}
    for _ in range(n_dup):
        origin = rng.randrange(n_base)
        cidx = company_of[origin]
        dup = _mutate(rng, rows[origin], companies[cidx][1] if cidx >= 0 else "", used)
        families.setdefault(origin, [origin]).append(len(rows))
        rows.append(dup)

    ids = list(range(1, len(rows) + 1))
    rng.shuffle(ids)
    records = [DedupRecord(id=ids[i], **row) for i, row in enumerate(rows)]
    records.sort(key=lambda rec: rec.id)
    truth: set[tuple[int, int]] = set()
    for members in families.values():
        member_ids = sorted(ids[m] for m in members)
        for x, a in enumerate(member_ids):
            for b in member_ids[x + 1 :]:
                truth.add((a, b))
    return records, truth
