"""Contact import from CSV (``POST /api/v1/contacts/import``, ``python -m hub contacts import``):
rows create, update or fail one by one against real FerretDB; the file as a whole is refused only
when it cannot be read."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from hub import keys
from hub.contact_import import API_MAX_ROWS, MAX_BYTES, MAX_ROWS, read_rows
from hub.errors import PayloadTooLarge
from hub.models import Contact, IdentityKind, Role

from ...conftest import Api

URL = "/api/v1/contacts/import"
CSV = {"Content-Type": "text/csv"}


async def _import(api: Api, who: dict[str, Any], body: bytes | str, *, dry_run: bool = False,
                  status: int = 200, headers: dict[str, str] | None = None) -> dict[str, Any]:
    data = body.encode() if isinstance(body, str) else body
    resp = await api.client.post(URL + ("?dry_run=true" if dry_run else ""), data=data,
                                 headers={**who["headers"], **(headers or CSV)})
    assert resp.status == status, await resp.text()
    return await resp.json()  # type: ignore[no-any-return]


def _by_row(report: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {r["row"]: r for r in report["results"]}


async def _contact(api: Api, kind: str, value: str) -> dict[str, Any] | None:
    found = await api.app[keys.CONTACTS].find_by_identity(IdentityKind(kind), value)
    return found.model_dump(mode="json") if found else None


async def _counts(api: Api) -> tuple[int, int]:
    store = api.app[keys.STORE]
    return await store.contacts.count_documents({}), await store.identities.count_documents({})


async def _imports(api: Api) -> list[dict[str, Any]]:
    return [d async for d in api.app[keys.STORE].audit_log.find({"action": "contact.import"})]


async def test_create_update_and_the_same_file_again_changes_nothing(api: Api) -> None:
    sup = await api.user(Role.supervisor)
    existing = await (await api.client.post("/api/v1/contacts", headers=sup["headers"], json={
        "name": "Thandi Nkosi", "tags": ["wedding"],
        "identities": [{"kind": "email", "value": "thandi@example.com"}]})).json()
    text = ("Name,Type,Email,Phone,WhatsApp,Language,Tags,custom.booking_ref\n"
            "Thandi N.,consumer,THANDI@example.com,082 123 4567,,zu,vip;wedding,BK-1\n"
            "Sipho's Sound,provider,,+27 21 555 0101,+27215550101,en,dj; sound ,\n"
            "Lerato,,lerato@example.com,,,,,BK-3\n")
    first = await _import(api, sup, text)
    assert {k: first[k] for k in ("rows", "created", "updated", "unchanged", "errors", "duplicates")} == {
        "rows": 3, "created": 2, "updated": 1, "unchanged": 0, "errors": 0, "duplicates": 0}
    rows = _by_row(first)
    assert [rows[n]["status"] for n in (2, 3, 4)] == ["updated", "created", "created"]
    assert rows[2]["contact_id"] == existing["id"]
    thandi = await _contact(api, "phone", "+27821234567")
    assert thandi is not None and thandi["id"] == existing["id"]
    # filled, never overwritten: the name stays, language and the custom field are new, tags added
    assert thandi["name"] == "Thandi Nkosi" and thandi["language"] == "zu"
    assert thandi["tags"] == ["wedding", "vip"] and thandi["custom_fields"] == {"booking_ref": "BK-1"}
    sipho = await _contact(api, "whatsapp", "+27215550101")
    assert sipho is not None and sipho["type"] == "provider" and sipho["tags"] == ["dj", "sound"]
    assert sipho["id"] == rows[3]["contact_id"] == (await _contact(api, "phone", "0215550101") or {})["id"]
    before = await _counts(api)
    assert before == (3, 5)

    again = await _import(api, sup, text)
    assert (again["created"], again["updated"], again["unchanged"], again["errors"]) == (0, 0, 3, 0)
    assert [r["contact_id"] for r in again["results"]] == [r["contact_id"] for r in first["results"]]
    assert await _counts(api) == before
    audits = await _imports(api)
    assert len(audits) == 2 and audits[0]["actor_id"] == sup["user"]["id"]
    assert audits[0]["after"] == {"rows": 3, "created": 2, "updated": 1, "unchanged": 0, "errors": 0,
                                  "duplicates": 0}  # counts, never the data


async def test_a_dry_run_reports_the_same_and_writes_nothing(api: Api) -> None:
    admin = await api.user(Role.admin)
    text = "email,name,tags\na@example.com,A,x\nb@example.com,B,\na@example.com,,y\nnot-an-address,C,\n"
    before = await _counts(api)
    dry = await _import(api, admin, text, dry_run=True)
    assert dry["dry_run"] is True
    assert (dry["created"], dry["updated"], dry["errors"], dry["duplicates"]) == (2, 1, 1, 1)
    rows = _by_row(dry)
    assert rows[2]["contact_id"] is None and rows[4]["duplicate_of"] == 2 and rows[5]["column"] == "email"
    assert await _counts(api) == before and await _imports(api) == []
    real = await _import(api, admin, text)
    assert [(r["row"], r["status"], r.get("duplicate_of")) for r in real["results"]] == \
        [(r["row"], r["status"], r.get("duplicate_of")) for r in dry["results"]]
    assert (await _contact(api, "email", "a@example.com") or {})["tags"] == ["x", "y"]


async def test_a_row_with_two_contacts_identities_is_an_error_and_never_merges(api: Api) -> None:
    sup = await api.user(Role.supervisor)
    contacts = api.app[keys.CONTACTS]
    a = await contacts.create(Contact(name="A"), [(IdentityKind.email, "a@example.com")])
    b = await contacts.create(Contact(name="B"), [(IdentityKind.phone, "+27821110000")])
    text = "email,phone,whatsapp\na@example.com,+27821110000,+27829990000\n"
    report = await _import(api, sup, text)
    row = _by_row(report)[2]
    assert row["status"] == "error" and row["column"] == "phone" and row["contact_id"] is None
    assert a.id in row["reason"] and b.id in row["reason"] and "merge" in row["reason"]
    # nothing of the row was written: its new WhatsApp number belongs to nobody, both contacts as they were
    assert await _contact(api, "whatsapp", "+27829990000") is None
    assert (await contacts.get(a.id)).merged_into is None and (await contacts.get(b.id)).merged_into is None


async def test_hostile_rows_fail_alone_and_the_good_ones_land(api: Api) -> None:
    sup = await api.user(Role.supervisor)
    long_name = "N" * 201
    text = ("email,phone,name,type,tags,custom.note\n"
            "good1@example.com,,Good One,,,\n"
            "nobody-at-example,,Bad Mail,,,\n"                         # row 3: not an address
            f"long@example.com,+27825550001,{long_name},,,\n"          # row 4: name too long
            "type@example.com,,T,supplier,,\n"                         # row 5: unknown type
            f"tag@example.com,,T,,{'t' * 51},\n"                       # row 6: tag too long
            f"note@example.com,,T,,,{'x' * 1001}\n"                    # row 7: custom value too long
            ",,No identity,,,\n"                                       # row 8: nothing to match by
            "extra@example.com,,E,,,,surplus\n"                        # row 9: a cell too many
            "good2@example.com,+27 82 555 0002,Good Two,provider,a;b,hello\n")
    report = await _import(api, sup, text)
    assert (report["created"], report["errors"]) == (2, 7)
    errors = [(r["row"], r["column"]) for r in report["results"] if r["status"] == "error"]
    assert errors == [(3, "email"), (4, "name"), (5, "type"), (6, "tags"), (7, "custom.note"), (8, "email"),
                      (9, "row")]
    assert [r["status"] for r in report["results"]][:7] == ["error"] * 7  # errors first
    assert all(r["reason"] for r in report["results"][:7])
    assert await _counts(api) == (2, 3)
    assert await _contact(api, "phone", "+27825550001") is None  # row 4's phone was not claimed


async def test_formula_cells_are_stored_as_text(api: Api) -> None:
    sup = await api.user(Role.supervisor)
    text = ('email,name,tags,custom.note\n'
            'f@example.com,"=HYPERLINK(""http://evil.example"",""x"")",+vip;-1;@x,"=cmd|\' /C calc\'!A0"\n')
    report = await _import(api, sup, text)
    assert report["created"] == 1, report
    stored = await _contact(api, "email", "f@example.com")
    assert stored is not None
    assert stored["name"] == '=HYPERLINK("http://evil.example","x")'
    assert stored["tags"] == ["+vip", "-1", "@x"]
    assert stored["custom_fields"] == {"note": "=cmd|' /C calc'!A0"}


async def test_bom_crlf_quoted_newlines_case_and_semicolons(api: Api) -> None:
    admin = await api.user(Role.admin)
    text = '\ufeffEMAIL,Name\r\nbom@example.com,"Line one\r\nline two, with comma"\r\n\r\n'
    report = await _import(api, admin, text.encode("utf-8"))
    assert report["created"] == 1 and report["rows"] == 1
    stored = await _contact(api, "email", "bom@example.com")
    assert stored is not None and stored["name"] == "Line one\r\nline two, with comma"
    semicolons = "email;name;tags\nsemi@example.com;Semi, Colon;\"a;b\"\n"  # Excel in many locales
    report = await _import(api, admin, semicolons)
    assert report["created"] == 1
    assert (await _contact(api, "email", "semi@example.com") or {})["tags"] == ["a", "b"]


async def test_a_quote_never_closed_refuses_the_file_naming_its_line(api: Api) -> None:
    # csv reads an open quote to the end of the file: 'rows: 2' for 7 rows, the rest lost silently
    sup = await api.user(Role.supervisor)
    text = ("email,name\na@example.com,A\n\"Smith, J,sj@x\n"
            + "".join(f"r{i}@example.com,R{i}\n" for i in range(5)))
    problem = await _import(api, sup, text, status=422)
    assert problem["field"] == "body"
    assert "line 3" in problem["detail"] and "never closed" in problem["detail"]
    problem = await _import(api, sup, 'email,name\r\na@example.com,"Ann\r\nb@example.com,B', status=422)
    assert "line 2" in problem["detail"]
    assert await _counts(api) == (0, 0)
    # a closed quote may still span lines, also in the last row without a final newline
    report = await _import(api, sup, 'email,name\na@example.com,"Ann\nSmith"\nb@example.com,"B\nC"')
    assert report["rows"] == 2 and report["created"] == 2


async def test_a_bad_header_refuses_the_file_naming_the_column(api: Api) -> None:
    sup = await api.user(Role.supervisor)
    problem = await _import(api, sup, "email,name,Birthday,Shoe Size\nx@example.com,X,1,2\n", status=422)
    assert problem["field"] == "Birthday"
    assert "Birthday" in problem["detail"] and "Shoe Size" in problem["detail"]
    problem = await _import(api, sup, "name,language\nX,en\n", status=422)
    assert problem["field"] == "header" and "email" in problem["detail"]
    problem = await _import(api, sup, "email,custom.a.b\nx@example.com,1\n", status=422)
    assert problem["field"] == "custom.a.b"
    problem = await _import(api, sup, "email,Email\nx@example.com,y@example.com\n", status=422)
    assert problem["field"] == "email"
    wide = "email," + ",".join(f"custom.k{i}" for i in range(101)) + "\nx@example.com\n"
    assert (await _import(api, sup, wide, status=422))["field"] == "header"
    # a custom field only admins see is not written by a supervisor either
    api.app[keys.SETTINGS].restricted_contact_fields = ["id_number"]
    problem = await _import(api, sup, "email,custom.id_number\nx@example.com,800101\n", status=422)
    assert problem["field"] == "custom.id_number"
    assert await _counts(api) == (0, 0)


async def test_size_type_encoding_and_role_limits(api: Api) -> None:
    sup = await api.user(Role.supervisor)
    too_big = b"email\n" + b"a@example.com\n" * (MAX_BYTES // 14 + 1)
    problem = await _import(api, sup, too_big, status=413)
    assert "5 MB" in problem["detail"]
    # the API answers within a proxy's 60 s: a file over API_MAX_ROWS is pointed at the command line,
    # which reads it (up to MAX_ROWS)
    many = "email\n" + "".join(f"r{i}@example.com\n" for i in range(API_MAX_ROWS + 1))
    problem = await _import(api, sup, many, status=413)
    assert f"more than {API_MAX_ROWS} rows" in problem["detail"]
    assert "python -m hub contacts import" in problem["detail"] and str(MAX_ROWS) in problem["detail"]
    assert len(read_rows(many.encode())) == API_MAX_ROWS + 1
    with pytest.raises(PayloadTooLarge):
        read_rows(("email\n" + "".join(f"r{i}@x.com\n" for i in range(MAX_ROWS + 1))).encode())
    problem = await _import(api, sup, b'{"email": "a@example.com"}', status=415,
                            headers={"Content-Type": "application/json"})
    assert problem["field"] == "Content-Type"
    problem = await _import(api, sup, "email,name\nx@example.com,Ren\xe9\n".encode("cp1252"), status=422)
    assert "UTF-8" in problem["detail"] and "line 2" in problem["detail"]
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01"
    problem = await _import(api, sup, png, status=422)
    assert "not CSV" in problem["detail"]
    assert (await _import(api, sup, b"", status=422))["field"] == "body"
    assert await _counts(api) == (0, 0)
    agent = await api.user(Role.agent)
    await _import(api, agent, "email\na@example.com\n", status=403)


async def test_a_multipart_upload_with_a_file_field(api: Api) -> None:
    admin = await api.user(Role.admin)
    form = aiohttp.FormData()
    form.add_field("file", b"email,name\nform@example.com,Form\n", filename="contacts.csv",
                   content_type="text/csv")
    resp = await api.client.post(URL, data=form, headers=admin["headers"])
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["created"] == 1
    form = aiohttp.FormData()
    form.add_field("other", b"email\nx@example.com\n", filename="x.csv")
    resp = await api.client.post(URL, data=form, headers=admin["headers"])
    assert resp.status == 422 and (await resp.json())["field"] == "file"
    # a part header aiohttp cannot read (found by schemathesis: it was a 500)
    raw = b'--b\r\nContent-Disposition: form-data; name="@{\xc3\x93s\x1d"\r\n\r\nx\r\n--b--\r\n'
    resp = await api.client.post(URL, data=raw, headers={**admin["headers"],
                                                         "Content-Type": "multipart/form-data; boundary=b"})
    assert resp.status == 422 and (await resp.json())["field"] == "body"


async def test_the_cli_imports_a_file_with_the_same_rules(mongodb_url: str, db_name: str, store: Any,
                                                          tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text("email,name,tags\ncli@example.com,Cli,a\ncli@example.com,,b\nbroken,X,\n",
                    encoding="utf-8")
    env = {**os.environ, "BERRY_MONGODB_URL": mongodb_url, "BERRY_MONGODB_DB": db_name,
           "BERRY_BOT_ENGINE": "off", "BERRY_VAR_DIR": str(tmp_path / "var")}

    async def run(*args: str) -> tuple[int, dict[str, Any], str]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "hub", "contacts", "import", *args, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            out, err = await asyncio.wait_for(proc.communicate(), 90)
        except TimeoutError:
            proc.kill()
            out, err = await proc.communicate()
            raise AssertionError(err.decode()[-3000:]) from None
        assert out.strip(), err.decode()
        return proc.returncode or 0, json.loads(out.decode().strip().splitlines()[-1]), err.decode()

    code, summary, err = await run(str(path), "--dry-run")
    assert (code, summary["dry_run"], summary["created"], summary["errors"]) == (1, True, 1, 1), err
    assert await store.contacts.count_documents({}) == 0
    code, summary, err = await run(str(path))
    assert (summary["created"], summary["updated"], summary["duplicates"], summary["errors"]) == (1, 1, 1, 1)
    assert code == 1 and "row 4: email" in err and "import" in err  # the failed row, and tqdm's bar
    doc = await store.contacts.find_one({})
    assert doc["name"] == "Cli" and doc["tags"] == ["a", "b"]
    entry = await store.audit_log.find_one({"action": "contact.import"})
    assert entry["actor_id"] == "system:cli" and entry["after"]["created"] == 1
    path.write_text("email,shoe\nx@example.com,1\n", encoding="utf-8")
    code, summary, err = await run(str(path))
    assert code == 2 and "shoe" in summary["error"] and "shoe" in err


async def test_parallel_imports_of_one_file_report_no_spurious_errors(api: Api) -> None:
    """Three admins upload the same new file at once: each row's contact is created once, and the
    imports that lose the race report it unchanged (or updated), never an error without a column."""
    admin = await api.user(Role.admin)
    rows = 300
    text = "email,phone,whatsapp,name\n" + "".join(
        f"p{i}@example.com,+2782{i:07d},+2783{i:07d},P {i}\n" for i in range(rows))
    reports = await asyncio.gather(*(_import(api, admin, text) for _ in range(3)))
    problems = [r for rep in reports for r in rep["results"] if r["status"] == "error"]
    assert problems == [], [p["reason"] for p in problems[:3]]
    assert sum(rep["created"] for rep in reports) == rows
    assert all(rep["created"] + rep["updated"] + rep["unchanged"] == rows for rep in reports)
    assert await _counts(api) == (rows, 3 * rows)


async def test_an_identity_whose_contact_is_still_being_written_is_waited_for(api: Api) -> None:
    """``Contacts.create`` writes the identities first: a row meeting such an identity waits for the
    contact (another writer is creating it) instead of failing with "contact ... not found"."""
    admin = await api.user(Role.admin)
    store = api.app[keys.STORE]
    contact = Contact(name="Early")
    await store.identities.insert_one({"_id": "email:early@example.com", "contact_id": contact.id,
                                       "kind": "email", "value": "early@example.com"})

    async def finish_creating() -> None:
        await asyncio.sleep(0.3)
        await store.contacts.insert_one(contact.to_doc())

    report, _ = await asyncio.gather(_import(api, admin, "email,name,tags\nearly@example.com,Early,x\n"),
                                     finish_creating())
    assert [(r["status"], r["contact_id"]) for r in report["results"]] == [("updated", contact.id)]
    assert (await store.contacts.find_one({"_id": contact.id}))["tags"] == ["x"]


async def test_a_type_other_than_the_contacts_is_kept_and_reported_as_a_warning(api: Api) -> None:
    admin = await api.user(Role.admin)
    dj = await (await api.client.post("/api/v1/contacts", headers=admin["headers"], json={
        "name": "Sipho's Sound", "type": "provider",
        "identities": [{"kind": "email", "value": "sipho@example.com"}]})).json()
    text = ("email,type,tags\n"
            "sipho@example.com,consumer,dj\n"  # says consumer: not applied, a warning
            "sipho@example.com,Provider,\n"    # agrees
            "sipho@example.com,,\n"            # no type: nothing to say
            "new@example.com,provider,\n"
            "new@example.com,consumer,\n")     # the contact the row above created
    for dry_run in (True, False):
        report = await _import(api, admin, text, dry_run=dry_run)
        assert (report["updated"], report["unchanged"], report["created"], report["warnings"]) == (1, 3, 1, 2)
        rows = _by_row(report)
        assert [r["row"] for r in report["results"][:2]] == [2, 6]  # warnings before the other rows
        assert rows[2]["status"] == "updated" and rows[2]["column"] == "type"
        assert "type consumer not applied: the contact is a provider" in rows[2]["warning"]
        assert rows[6]["status"] == "unchanged" and "the contact is a provider" in rows[6]["warning"]
        assert all(rows[n]["warning"] is None for n in (3, 4, 5))
    assert (await _contact(api, "email", "sipho@example.com") or {})["type"] == "provider"
    assert (await _contact(api, "email", "new@example.com") or {})["type"] == "provider"
    assert dj["type"] == "provider"
