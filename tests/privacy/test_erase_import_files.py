"""An erasure drops the person's rows from the stored import files and error files (whatever the phone format), and
keeps the header and everyone else's rows."""

import pytest
from django.core.files.base import ContentFile

from leads.models import LeadImport
from leads.services import lead_ingest
from revops.top.privacy import person_erase

pytestmark = pytest.mark.django_db(transaction=True)

UPLOAD = ("first_name,last_name,email,phone,company\n"
          "Zelda,Quixotica,zelda.q@acme.example,(415) 555-2671,Acme\n"
          "Otto,Normal,otto@other.example,+1 212 555 0100,Other\n")
ERRORS = ("row,field,reason,first_name,phone\n"
          "3,email,not an e-mail address,Zelda,415.555.2671\n"
          "4,email,not an e-mail address,Otto,212 555 0100\n")


def _stored(field) -> str:
    with field.storage.open(field.name, "rb") as handle:
        return handle.read().decode()


def test_the_person_s_rows_leave_the_import_files_and_the_others_stay(configured):
    lead_ingest(data={"first_name": "Zelda", "last_name": "Quixotica", "email": "zelda.q@acme.example",
                      "phone": "(415) 555-2671", "country": "United States"})
    lead_import = LeadImport(original_name="list.csv")
    lead_import.file.save("list.csv", ContentFile(UPLOAD.encode()), save=False)
    lead_import.errors_file.save("list-errors.csv", ContentFile(ERRORS.encode()), save=False)
    lead_import.save()

    result = person_erase(email="zelda.q@acme.example")

    lead_import.refresh_from_db()
    upload, errors = _stored(lead_import.file), _stored(lead_import.errors_file)
    assert "zelda" not in upload.lower() and "555-2671" not in upload
    assert upload.splitlines()[0] == "first_name,last_name,email,phone,company" and "otto@other.example" in upload
    assert "Zelda" not in errors and "Otto" in errors and errors.splitlines()[0].startswith("row,field")
    assert result.counts["leads.LeadImport file rows dropped"] == 2
    assert result.record.counts["leads.LeadImport file rows dropped"] == 2
