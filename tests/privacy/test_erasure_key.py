"""An erasure keeps the e-mail as a hash keyed with the install's own key (made once by migration, kept in the
database): a table of hashes of known addresses made for one install says nothing about another's. Erasures recorded
before the key (the same fixed prefix on every install) are still matched."""

from __future__ import annotations

import hashlib
import hmac
import importlib

import pytest
from django.apps import apps
from rest_framework.test import APIClient

from leads.models import Lead
from revops.base import privacy
from revops.base.models import ErasureRecord, InstallSecret
from revops.base.privacy import ERASURE_KEY, email_hash, email_hash_unkeyed

pytestmark = pytest.mark.django_db

ADDRESS = "Ingrid.Vale@Northwind.example"


@pytest.fixture
def key_read_afresh():
    privacy.erasure_key.cache_clear()
    yield
    privacy.erasure_key.cache_clear()


def test_the_hash_is_keyed_with_the_install_s_own_key(key_read_afresh):
    digest = email_hash(ADDRESS)
    key = InstallSecret.objects.get(name=ERASURE_KEY).value
    assert len(key) == 64
    assert digest == hmac.new(key.encode(), b"ingrid.vale@northwind.example", hashlib.sha256).hexdigest()
    assert digest != email_hash_unkeyed(ADDRESS)
    assert email_hash(" ingrid.vale@NORTHWIND.example ") == digest  # the address as leads store it


def test_two_installs_hash_the_same_address_differently(key_read_afresh):
    first = email_hash(ADDRESS)
    InstallSecret.objects.filter(name=ERASURE_KEY).update(value="f" * 64)
    privacy.erasure_key.cache_clear()
    assert email_hash(ADDRESS) != first


def test_the_migration_makes_the_key_once():
    make = importlib.import_module("revops.base.migrations.0017_install_secret").erasure_key_make
    InstallSecret.objects.all().delete()
    make(apps, None)
    key = InstallSecret.objects.get(name=ERASURE_KEY).value
    make(apps, None)
    assert InstallSecret.objects.get(name=ERASURE_KEY).value == key
    assert int(key, 16) and len(key) == 64


def test_a_person_erased_before_the_key_stays_erased(api_client, configured, revops_admin, key_read_afresh):
    ErasureRecord.objects.create(email_hash=email_hash_unkeyed(ADDRESS), via="command", lead_ids=[], counts={})
    stale = api_client.post("/api/leads/", {"email": ADDRESS, "first_name": "Ingrid"}, format="json")
    assert stale.status_code == 400 and "erased on request" in stale.json()["email"][0]
    assert not Lead.objects.filter(email=ADDRESS.lower()).exists()

    admin = APIClient()
    admin.force_authenticate(revops_admin)
    again = admin.post("/api/people/erase/", {"email": ADDRESS}, format="json").json()
    assert again["repeat"] is True and again["detail"].startswith("already erased")
    assert ErasureRecord.objects.order_by("-pk").first().email_hash == email_hash(ADDRESS)  # recorded keyed now
