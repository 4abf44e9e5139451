"""Behaviour of the full-database duplicate scan (the ``leads.dedup`` engine); pure Python, no database."""

from __future__ import annotations

import random
import re
import string
from collections import defaultdict

import pytest

from leads.dedup import FREE_EMAIL_DOMAINS, CandidatePair, DedupRecord, find_duplicate_pairs, name_similarity
from leads.dedup.names import blocking_domain
from leads.normalize import is_free_email_domain
from tests.synthetic.leads import generate_synthetic_leads, pair_precision, pair_recall

E164 = re.compile(r"^\+[1-9]\d{7,14}$")


def lead(
    lead_id: int,
    first: str,
    last: str,
    *,
    email: str = "",
    phone: str = "",
    company: str = "",
    domain: str = "",
) -> DedupRecord:
    """A normalized lead with only the fields a test cares about."""
    return DedupRecord(
        id=lead_id, email=email, phone=phone, first_name=first, last_name=last, company=company, domain=domain
    )


def scan(records: list[DedupRecord], **options: float) -> list[CandidatePair]:
    """Run the full scan and materialize its pairs."""
    return list(find_duplicate_pairs(records, **options))


def distinct_names(count: int) -> list[tuple[str, str]]:
    """``count`` random (first, last) names; random letter strings score far below the default threshold."""
    rng = random.Random(0)
    return [
        ("".join(rng.choices(string.ascii_lowercase, k=7)), "".join(rng.choices(string.ascii_lowercase, k=9)))
        for _ in range(count)
    ]


@pytest.fixture(scope="module")
def synthetic_20k() -> tuple[list[DedupRecord], set[tuple[int, int]], list[CandidatePair]]:
    """20k synthetic leads, their true duplicate pairs and the scan's pairs (shared by the slower tests)."""
    records, truth = generate_synthetic_leads(20_000, seed=11)
    return records, truth, scan(records)


# --- name_similarity ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (("john", "smith"), ("smith", "john")),
        (("jonathan", "miller"), ("jonathon", "miller")),
        (("bob", "jones"), ("robert", "jones")),
        (("j", "smith"), ("john", "smith")),
        (("smith", "j"), ("john", "smith")),
        (("Anna-Lena", "Schmidt"), ("anna lena", "schmidt")),
    ],
)
def test_name_similarity_tolerates_swaps_typos_nicknames_and_initials(a: tuple[str, str], b: tuple[str, str]) -> None:
    assert name_similarity(*a, *b) >= 85.0


def test_name_similarity_separates_different_people() -> None:
    assert name_similarity("john", "smith", "maria", "garcia") < 50.0
    assert name_similarity("john", "smith", "jane", "smith") < 85.0


def test_name_similarity_scores_initials_below_full_names_and_empty_names_zero() -> None:
    assert name_similarity("john", "smith", "john", "smith") == 100.0
    assert 85.0 <= name_similarity("j", "smith", "john", "smith") < 100.0
    assert name_similarity("", "", "", "") == 0.0
    assert name_similarity("john", "smith", "", "") == 0.0


# --- pair rules -----------------------------------------------------------------------------------------------


def test_it_pairs_same_phone_with_similar_name() -> None:
    pairs = scan(
        [
            lead(1, "jonathan", "miller", phone="+14155550101", email="jm@gmail.com", company="acme"),
            lead(2, "jonathon", "miller", phone="+14155550101", email="jonm@yahoo.com", company="globex"),
        ]
    )

    assert [(p.lead_id, p.other_lead_id, p.reason) for p in pairs] == [(1, 2, "same_phone_similar_name")]
    assert pairs[0].similarity >= 85.0


def test_it_flags_switchboard_phone_as_weak_pair() -> None:
    pairs = scan(
        [
            lead(1, "john", "smith", phone="+4930123456", company="acme"),
            lead(2, "maria", "garcia", phone="+4930123456", company="acme"),
        ]
    )

    assert [(p.lead_id, p.other_lead_id, p.reason) for p in pairs] == [(1, 2, "same_phone_different_name")]
    assert pairs[0].similarity < 85.0


def test_it_ignores_similar_name_with_nothing_shared() -> None:
    pairs = scan(
        [
            lead(1, "john", "smith", email="john.smith@acme.com", phone="+14155550101", company="acme"),
            lead(2, "john", "smith", email="jsmith@globex.io", phone="+14155550199", company="globex"),
        ]
    )

    assert pairs == []


def test_it_does_not_count_a_free_mail_domain_as_shared() -> None:
    assert "gmail.com" in FREE_EMAIL_DOMAINS
    pairs = scan(
        [
            lead(1, "john", "smith", email="john.smith@gmail.com", domain="gmail.com"),
            lead(2, "jon", "smith", email="jon.smith77@gmail.com", domain="gmail.com"),
        ]
    )

    assert pairs == []


def test_it_pairs_same_email_with_full_similarity_whatever_the_names() -> None:
    pairs = scan(
        [
            lead(4, "john", "smith", email="info@acme.com"),
            lead(7, "maria", "garcia", email="info@acme.com"),
        ]
    )

    assert pairs == [CandidatePair(4, 7, 100.0, "same_email")]


def test_it_pairs_similar_name_at_same_domain() -> None:
    pairs = scan(
        [
            lead(1, "katherine", "miller", email="katherine.miller@initech.com", company="initech"),
            lead(2, "kate", "miller", email="kmiller@initech.com", domain="initech.com"),
        ]
    )

    assert [(p.lead_id, p.other_lead_id, p.reason) for p in pairs] == [(1, 2, "similar_name_same_domain")]


def test_it_pairs_similar_name_at_same_company_across_spelling_variants() -> None:
    pairs = scan(
        [
            lead(1, "sakura", "tanaka", email="sakura.tanaka@gmail.com", company="acme analytics inc"),
            lead(2, "sakura", "tanaka", email="stanaka@outlook.com", company="acme analytcs"),
            lead(3, "sakura", "tanaka", email="sakura77@yahoo.com", company="umbrella labs"),
        ]
    )

    assert [(p.lead_id, p.other_lead_id, p.reason) for p in pairs] == [(1, 2, "similar_name_same_company")]


def test_it_does_not_pair_different_people_at_the_same_company() -> None:
    pairs = scan(
        [
            lead(1, "john", "smith", email="john.smith@acme.com", company="acme"),
            lead(2, "maria", "garcia", email="maria.garcia@acme.com", company="acme"),
        ]
    )

    assert pairs == []


def test_it_never_matches_nameless_leads_on_an_organisation_alone() -> None:
    pairs = scan(
        [
            lead(1, "", "", email="a@acme.com", company="acme"),
            lead(2, "", "", email="b@acme.com", company="acme"),
            lead(3, "", "", email="", phone=""),
            lead(4, "", "", email="", phone=""),
        ]
    )

    assert pairs == []


def test_it_emits_each_pair_once_with_the_strongest_reason() -> None:
    shared = {"email": "j.smith@acme.com", "phone": "+14155550101", "company": "acme", "domain": "acme.com"}
    pairs = scan([lead(1, "john", "smith", **shared), lead(2, "jon", "smith", **shared)])

    assert pairs == [CandidatePair(1, 2, 100.0, "same_email")]


def test_it_orients_pairs_by_lead_id_and_sorts_them() -> None:
    pairs = scan(
        [
            lead(90, "maria", "garcia", email="x@acme.com"),
            lead(30, "maria", "garcia", email="x@acme.com"),
            lead(50, "peter", "novak", phone="+33612345678"),
            lead(10, "petr", "novak", phone="+33612345678"),
        ]
    )

    assert [(p.lead_id, p.other_lead_id) for p in pairs] == [(10, 50), (30, 90)]


def test_name_threshold_decides_between_similar_and_different_name() -> None:
    records = [
        lead(1, "jonathan", "miller", phone="+14155550101"),
        lead(2, "jonathon", "miller", phone="+14155550101"),
    ]

    assert scan(records)[0].reason == "same_phone_similar_name"
    assert scan(records, name_threshold=99.0)[0].reason == "same_phone_different_name"


# --- scale controls -------------------------------------------------------------------------------------------


def test_it_finds_a_typo_duplicate_inside_a_company_bigger_than_block_max() -> None:
    staff = [lead(i, first, last, company="megacorp") for i, (first, last) in enumerate(distinct_names(300), 1)]
    staff.append(lead(1000, "priya", "sharma", email="priya.sharma@gmail.com", company="megacorp"))
    staff.append(lead(1001, "priya", "sharmaa", email="psharma@outlook.com", company="megacorp inc"))

    pairs = scan(staff, block_max=16, window=8)

    assert [(p.lead_id, p.other_lead_id, p.reason) for p in pairs] == [(1000, 1001, "similar_name_same_company")]


def test_it_reports_only_similar_names_on_a_big_switchboard() -> None:
    switchboard = "+442071234567"
    staff = [lead(i, first, last, phone=switchboard) for i, (first, last) in enumerate(distinct_names(40), 1)]
    staff.append(lead(500, "oliver", "bennett", phone=switchboard))
    staff.append(lead(501, "oliver", "benett", phone=switchboard))

    pairs = scan(staff, weak_block_max=8)

    assert [(p.lead_id, p.other_lead_id, p.reason) for p in pairs] == [(500, 501, "same_phone_similar_name")]


def test_it_reports_every_pair_on_a_small_shared_line() -> None:
    line = "+4989123456"
    pairs = scan(
        [lead(1, "anna", "berg", phone=line), lead(2, "omar", "ali", phone=line), lead(3, "li", "wang", phone=line)]
    )

    assert [(p.lead_id, p.other_lead_id) for p in pairs] == [(1, 2), (1, 3), (2, 3)]
    assert {p.reason for p in pairs} == {"same_phone_different_name"}


def test_a_role_inbox_shared_by_many_leads_is_chained_not_fully_paired() -> None:
    names = distinct_names(100)
    inbox = [lead(i, first, last, email="info@acme.com") for i, (first, last) in enumerate(names, 1)]

    pairs = scan(inbox, block_max=16, window=4)

    assert len(pairs) <= 100 * 4
    parent = {i: i for i in range(1, 101)}

    def root(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for p in pairs:
        parent[root(p.lead_id)] = root(p.other_lead_id)
    assert len({root(i) for i in parent}) == 1


def test_it_rejects_windows_and_blocks_that_cannot_work() -> None:
    with pytest.raises(ValueError):
        scan([], window=0)
    with pytest.raises(ValueError):
        scan([], block_max=1)


def test_it_yields_nothing_for_empty_or_single_input() -> None:
    assert scan([]) == []
    assert scan([lead(1, "john", "smith", email="j@acme.com", phone="+14155550101")]) == []


# --- synthetic data and evaluation ----------------------------------------------------------------------------


def test_it_accepts_a_one_shot_stream_and_is_deterministic(
    synthetic_20k: tuple[list[DedupRecord], set[tuple[int, int]], list[CandidatePair]],
) -> None:
    records, _, pairs = synthetic_20k

    assert list(find_duplicate_pairs(rec for rec in records)) == pairs


def test_every_pair_is_unique_ordered_and_well_formed(
    synthetic_20k: tuple[list[DedupRecord], set[tuple[int, int]], list[CandidatePair]],
) -> None:
    _, _, pairs = synthetic_20k
    keys = [(p.lead_id, p.other_lead_id) for p in pairs]

    assert pairs
    assert len(keys) == len(set(keys))
    assert keys == sorted(keys)
    assert all(a < b for a, b in keys)
    assert all(0.0 <= p.similarity <= 100.0 for p in pairs)
    assert {p.reason for p in pairs} == {
        "same_email",
        "same_phone_similar_name",
        "same_phone_different_name",
        "similar_name_same_company",
        "similar_name_same_domain",
    }


def test_vectorised_scores_equal_name_similarity(
    synthetic_20k: tuple[list[DedupRecord], set[tuple[int, int]], list[CandidatePair]],
) -> None:
    records, _, pairs = synthetic_20k
    by_id = {rec.id: rec for rec in records}
    scored = [p for p in pairs if p.reason != "same_email"]

    assert len(scored) > 500
    for p in scored:
        a, b = by_id[p.lead_id], by_id[p.other_lead_id]
        expected = name_similarity(a.first_name, a.last_name, b.first_name, b.last_name)
        assert p.similarity == pytest.approx(expected, abs=0.01)
        assert (expected >= 85.0) == (p.reason != "same_phone_different_name")


def test_recall_on_synthetic_set_is_at_least_90_percent(
    synthetic_20k: tuple[list[DedupRecord], set[tuple[int, int]], list[CandidatePair]],
) -> None:
    _, truth, pairs = synthetic_20k

    assert len(truth) > 900
    assert pair_recall(pairs, truth) >= 0.9


def test_pairs_other_than_weak_phone_pairs_are_mostly_true_duplicates(
    synthetic_20k: tuple[list[DedupRecord], set[tuple[int, int]], list[CandidatePair]],
) -> None:
    _, truth, pairs = synthetic_20k
    strong = [p for p in pairs if p.reason != "same_phone_different_name"]

    assert pair_precision(strong, truth) >= 0.85


def test_synthetic_leads_are_reproducible_normalized_and_duplicated_at_the_requested_rate() -> None:
    records, truth = generate_synthetic_leads(5_000, duplicate_rate=0.1, seed=3)
    again, truth_again = generate_synthetic_leads(5_000, duplicate_rate=0.1, seed=3)
    other, _ = generate_synthetic_leads(5_000, duplicate_rate=0.1, seed=4)

    assert records == again and truth == truth_again
    assert records != other
    assert sorted(rec.id for rec in records) == list(range(1, 5_001))
    assert all(a < b and 1 <= a and b <= 5_000 for a, b in truth)
    assert 500 <= len(truth) <= 600
    assert all(E164.match(rec.phone) for rec in records if rec.phone)
    assert all(rec.email == rec.email.lower() and rec.email.count("@") == 1 for rec in records if rec.email)
    assert all((rec.first_name + rec.last_name).isalpha() for rec in records if rec.first_name and rec.last_name)
    holders: dict[str, list[int]] = defaultdict(list)
    for rec in records:
        if rec.email:
            holders[rec.email].append(rec.id)
    shared = [sorted(ids) for ids in holders.values() if len(ids) > 1]
    assert shared, "some duplicates keep their e-mail"
    assert all((a, b) in truth for ids in shared for i, a in enumerate(ids) for b in ids[i + 1 :])


def test_synthetic_generator_rejects_impossible_sizes_and_rates() -> None:
    with pytest.raises(ValueError):
        generate_synthetic_leads(100, duplicate_rate=1.0)
    with pytest.raises(ValueError):
        generate_synthetic_leads(-1)
    assert generate_synthetic_leads(0) == ([], set())


def test_pair_recall_and_precision_count_each_pair_once_whatever_its_orientation() -> None:
    truth = {(1, 2), (3, 4), (5, 6), (7, 8)}
    found = [
        CandidatePair(1, 2, 90.0, "same_email"),
        CandidatePair(1, 2, 90.0, "same_email"),
        CandidatePair(4, 3, 90.0, "same_email"),
        CandidatePair(9, 10, 90.0, "same_email"),
    ]

    assert pair_recall(found, truth) == 0.5
    assert pair_precision(found, truth) == pytest.approx(2 / 3)
    assert pair_recall([], set()) == 1.0
    assert pair_precision([], truth) == 1.0


def test_the_duplicate_checks_and_normalisation_agree_on_free_mail():
    """One list: a country variant normalisation treats as free mail is no employer domain for the dedup blocks."""
    for domain in ("gmail.com", "yahoo.com.br", "wp.pl", "inbox.com"):
        assert is_free_email_domain(domain)
        assert blocking_domain("", f"ann@{domain}") == ""
    assert blocking_domain("", "ann@acme-corp.com") == "acme-corp.com"
