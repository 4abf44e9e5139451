"""The erasure records in the admin: RevOps admins read them (no personal data in them); managers do not see them."""

import pytest

from revops.base.models import ErasureRecord
from revops.base.privacy import email_hash

pytestmark = pytest.mark.django_db


def test_revops_admins_read_erasure_records_and_managers_do_not(client, revops_admin, sales_manager):
    record = ErasureRecord.objects.create(email_hash=email_hash("gone@x.example"), user=revops_admin, lead_ids=[7],
                                          counts={"leads.Lead": 1})
    client.force_login(revops_admin)
    page = client.get(f"/admin/revops/erasurerecord/{record.pk}/change/")
    assert page.status_code == 200 and b"gone@x.example" not in page.content
    assert client.get("/admin/revops/erasurerecord/").status_code == 200
    client.force_login(sales_manager)
    assert client.get("/admin/revops/erasurerecord/").status_code == 403
