"""Contact import from CSV: a company moving from Zendesk or Freshdesk, or Berry's booking system,
brings its contacts as one file (``POST /api/v1/contacts/import``, ``python -m hub contacts import``).

The file: UTF-8 (a BOM is fine), a header row, comma-separated (a header without commas but with
semicolons or tabs, as some spreadsheets save, sets that separator). Columns, case-insensitive:
``name``, ``type`` (consumer|provider), ``email``, ``phone``, ``whatsapp``, ``language``, ``tags``
(separated by ``;``) and ``custom.<key>`` for custom fields. An unknown column refuses the whole
file (422 naming it), and so does a header without an identity column.

Each row is matched by its identities (``email``, ``phone``, ``whatsapp``, normalized exactly as
everywhere else, ``hub/contacts.py`` and ``hub/identity.py``):

- no identity known: a contact is **created**;
- every known identity belongs to one contact: that contact is **updated** - empty fields filled
  (name, language, custom fields not set yet), tags added, the row's new identities added; a value
  it already has is never overwritten, and its type is kept: a ``type`` cell that says otherwise
  is reported as the row's ``warning`` (column ``type``; the report counts ``warnings``), so the
  admin can change it by hand. Nothing new: **unchanged**;
- identities of two different contacts: the row is an **error** (merge them first; an import never
  merges);
- a row without any identity, or with a bad value (an address that is not one, a name over 200
  characters, a cell over ``MAX_CELL`` characters...): an **error** naming the column, and nothing
  of that row is written. The other rows still land.

A second row for a contact an earlier row of the same file touched updates it and carries
``duplicate_of`` (the earlier row). Importing the same file again creates nothing: every row is
``unchanged``. Rows are numbered as a spreadsheet shows them: the header is row 1. Two imports of one
file at once create each contact once: a row whose contact the other import is creating waits for it
and is reported ``unchanged`` or ``updated``.

Cells are stored as text, exactly as sent: a cell starting with ``=``, ``+``, ``-`` or ``@`` is
never evaluated here, and the hub's CSV/XLSX writers (``hub/reports/tables.py``,
``hub/platform/audit_api.py``) prefix such cells with ``'`` on the way out.
"""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from hub.audit import Audit
from hub.contacts import Contacts, _checked
from hub.errors import Conflict, HubError, InvalidInput, NotFound, PayloadTooLarge
from hub.models import Contact, ContactType, IdentityKind

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000  # the command line's limit (python -m hub contacts import)
# The API's: one request must answer well inside a reverse proxy's 60 s timeout on the 2-core
# reference machine, updates being the slowest rows (BENCHMARKS.md, 2026-11-27 contact import)
API_MAX_ROWS = 2_000
CLI_HINT = (f"; import a larger file (up to {MAX_ROWS} rows) on the server with "
            "`python -m hub contacts import FILE.csv`")
MAX_CELL = 2_000  # characters in any one cell (a name's own limit, 200, is the API's)
MAX_CUSTOM_VALUE = 1_000
MAX_CUSTOM_COLUMNS = 100
MAX_RESULTS = 1_000  # per-row results in a report (errors first); counts always cover every row
CHUNK = 200  # rows checked, then looked up, then written
LOOK_UPS = 16  # identity reads sent at once
CREATING_WAITS = 12  # reads of a contact another writer is creating (0.02 s, doubling to 0.3 s: ~3 s)
IDENTITY_COLUMNS: dict[str, IdentityKind] = {
    "email": IdentityKind.email, "phone": IdentityKind.phone, "whatsapp": IdentityKind.whatsapp}
COLUMNS = ("name", "type", "language", "tags", *IDENTITY_COLUMNS)
CUSTOM = "custom."
Status = Literal["created", "updated", "unchanged", "error"]


class RowResult(BaseModel):
    row: int = Field(description="The row as a spreadsheet numbers it (the header is row 1)")
    status: Status
    contact_id: str | None = Field(None, description="None for an error, and in a dry run for a contact "
                                                     "that would be created")
    column: str | None = Field(None, description="The column to blame (an error's or a warning's)")
    reason: str | None = None
    warning: str | None = Field(None, description=(
        "Something the row says that was not applied (a type other than the contact's): the row "
        "still counts as updated or unchanged"))
    duplicate_of: int | None = Field(None, description="An earlier row of this file for the same contact")


class ImportReport(BaseModel):
    dry_run: bool
    rows: int
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: int = 0
    duplicates: int = 0
    warnings: int = Field(0, description="Rows with a warning (a type cell other than the contact's)")
    results: list[RowResult] = Field(default_factory=list, description=(
        f"Errors first, then rows with a warning, then the others in file order; at most {MAX_RESULTS}"))
    results_truncated: bool = False


@dataclass
class Row:
    number: int
    values: dict[str, str]
    error: tuple[str, str] | None = None  # (column, reason) found while reading


@dataclass
class ParsedRow:
    number: int
    contact: Contact  # the fields as a new contact would have them
    identities: list[tuple[IdentityKind, str, str]]  # (kind, key, normalized value)
    type: ContactType | None = None  # the row's type cell (None: empty)


class UnsupportedMedia(HubError):
    status = 415
    title = "Unsupported media type"


# --- reading the file (check_*: never writes) -------------------------------------------------

def decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InvalidInput("the file is UTF-16; save it as CSV UTF-8", field="body")
    if b"\x00" in data:
        raise InvalidInput("not CSV text: the file holds NUL bytes (a binary or UTF-16 file?)", field="body")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise InvalidInput(f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}); "
                           "save it as CSV UTF-8", field="body") from exc
    if not text.strip():
        raise InvalidInput("the file is empty: a header row and one row per contact expected", field="body")
    return text


def _delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (",", ";", "\t")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def check_header(cells: list[str], hidden: frozenset[str] = frozenset()) -> list[str]:
    """The header's column names (lower-case; custom keys as written), or InvalidInput."""
    columns: list[str] = []
    unknown: list[str] = []
    for cell in cells:
        name = cell.strip()
        lower = name.lower()
        if not name:  # an unnamed column (a trailing separator): its cells must stay empty
            columns.append("")
        elif lower.startswith(CUSTOM):
            key = name[len(CUSTOM):].strip()
            if not key or key.startswith("$") or "." in key or len(key) > 100:
                raise InvalidInput(f"column {name!r}: a custom field key must be 1-100 characters, without "
                                   "'.' and not starting with '$'", field=name)
            if key in hidden:
                raise InvalidInput(f"column {name!r}: custom field {key!r} is restricted to admins",
                                   field=name)
            columns.append(CUSTOM + key)
        elif lower in COLUMNS:
            columns.append(lower)
        else:
            unknown.append(name)
    if sum(1 for c in columns if c.startswith(CUSTOM)) > MAX_CUSTOM_COLUMNS:
        raise InvalidInput(f"more than {MAX_CUSTOM_COLUMNS} custom.<key> columns", field="header")
    if unknown:
        raise InvalidInput(f"unknown columns: {', '.join(repr(u) for u in unknown)}; expected "
                           f"{', '.join(COLUMNS)}, custom.<key>", field=unknown[0] or "header")
    twice = sorted({c for c in columns if c and columns.count(c) > 1})
    if twice:
        raise InvalidInput(f"columns named twice: {', '.join(twice)}", field=twice[0])
    if not set(columns) & set(IDENTITY_COLUMNS):
        raise InvalidInput("the header has no email, phone or whatsapp column: rows could not be matched "
                           "to contacts", field="header")
    return columns


_EOF = "\x00end-of-file\x00"  # decode() refuses files holding NUL


def _check_closed(cells: list[str], line_num: int) -> None:
    """InvalidInput naming the line of a quote that is still open at the end of the file."""
    if cells and cells[-1].endswith(_EOF):
        spanned = len(io.StringIO(cells[-1], newline="").readlines())
        line = line_num - spanned + 1
        raise InvalidInput(f"line {line}: a quote (\") opens a value that is never closed, so every line "
                           "after it would be read as part of that value and those rows lost; close the "
                           "quote or remove it", field="body")


def read_rows(data: bytes, hidden: frozenset[str] = frozenset(), max_rows: int = MAX_ROWS,
              too_many: str = "") -> list[Row]:
    """The file's data rows (blank lines skipped). Refuses the whole file when it cannot be read;
    ``too_many`` is added to the refusal of a file over ``max_rows`` rows."""
    if len(data) > MAX_BYTES:
        raise PayloadTooLarge(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB ({MAX_BYTES} bytes); "
                              "split it")
    text = decode(data)
    if not text.endswith(("\n", "\r")):
        text += "\n"
    # csv reads a quote that is never closed to the end of the file, silently taking every later
    # row into one cell. A sentinel line after the text tells: outside a quote it is a row of its
    # own; inside one it ends up at the end of the open cell, whose opening quote's line it gives.
    lines = itertools.chain(io.StringIO(text, newline=""), [_EOF])
    reader = csv.reader(lines, delimiter=_delimiter(text.split("\n", 1)[0]))
    try:
        header = next(reader)
        _check_closed(header, reader.line_num)
        columns = check_header(header, hidden)
        rows: list[Row] = []
        for number, cells in enumerate(reader, start=2):
            if cells == [_EOF]:
                break
            _check_closed(cells, reader.line_num)
            if not any(c.strip() for c in cells):
                continue
            if len(rows) >= max_rows:
                raise PayloadTooLarge(f"more than {max_rows} rows; split the file{too_many}")
            row = Row(number, {c: v.strip() for c, v in zip(columns, cells, strict=False) if c})
            unnamed = [v for c, v in zip(columns, cells, strict=False) if not c and v.strip()]
            if len(cells) > len(columns) and any(c.strip() for c in cells[len(columns):]):
                row.error = ("row", f"{len(cells)} cells, the header has {len(columns)} columns")
            elif unnamed:
                row.error = ("row", "a value in a column without a name in the header")
            for column, value in row.values.items():
                if len(value) > MAX_CELL:
                    row.error = row.error or (column, f"longer than {MAX_CELL} characters")
            rows.append(row)
    except csv.Error as exc:
        raise InvalidInput(f"not readable as CSV (line {reader.line_num}): {exc}", field="body") from exc
    return rows


def _column_of(loc: tuple[Any, ...], identity_columns: list[str]) -> str:
    if loc and loc[0] == "identities" and len(loc) > 1 and isinstance(loc[1], int):
        return identity_columns[loc[1]]
    if loc and loc[0] == "custom_fields" and len(loc) > 1:
        return f"{CUSTOM}{loc[1]}"
    return str(loc[0]) if loc else "row"


def check_row(row: Row) -> ParsedRow:
    """The row as a contact and its identities, or InvalidInput naming the column."""
    from hub.api.schemas import ContactIn  # the API's own limits for a contact (name, tags, language)

    if row.error:
        raise InvalidInput(row.error[1], field=row.error[0])
    values = row.values
    identity_columns = [c for c in IDENTITY_COLUMNS if values.get(c)]
    if not identity_columns:
        raise InvalidInput("no email, phone or whatsapp: nothing to match the contact by", field="email")
    custom = {c[len(CUSTOM):]: v for c, v in values.items() if c.startswith(CUSTOM) and v}
    for key, value in custom.items():
        if len(value) > MAX_CUSTOM_VALUE:
            raise InvalidInput(f"longer than {MAX_CUSTOM_VALUE} characters", field=CUSTOM + key)
    tags = list(dict.fromkeys(t.strip() for t in values.get("tags", "").split(";") if t.strip()))
    body: dict[str, Any] = {
        "name": values.get("name", ""), "tags": tags, "custom_fields": custom,
        "language": values.get("language") or None,
        "identities": [{"kind": IDENTITY_COLUMNS[c].value, "value": values[c]} for c in identity_columns]}
    if values.get("type"):
        body["type"] = values["type"].lower()
    try:
        checked = ContactIn.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InvalidInput(first["msg"], field=_column_of(tuple(first["loc"]), identity_columns)) from exc
    identities = []
    for column in identity_columns:
        kind = IDENTITY_COLUMNS[column]
        key, normalized = _checked(kind, values[column], column)
        identities.append((kind, key, normalized))
    contact = Contact(name=checked.name, type=checked.type, language=checked.language,
                      tags=list(checked.tags), custom_fields=checked.custom_fields)
    return ParsedRow(row.number, contact, identities, checked.type if values.get("type") else None)


def fill(existing: Contact, incoming: Contact) -> dict[str, Any]:
    """The changes that fill ``existing``'s empty fields from ``incoming`` and add its tags."""
    changes: dict[str, Any] = {}
    if not existing.name and incoming.name:
        changes["name"] = incoming.name
    if not existing.language and incoming.language:
        changes["language"] = incoming.language
    new_tags = [t for t in incoming.tags if t not in existing.tags]
    if new_tags:
        changes["tags"] = [*existing.tags, *new_tags]
    new_fields = {k: v for k, v in incoming.custom_fields.items()
                  if existing.custom_fields.get(k) in (None, "")}
    if new_fields:
        changes["custom_fields"] = {**existing.custom_fields, **new_fields}
    return changes


# --- writing (do_*) -----------------------------------------------------------------------------

@dataclass
class Importer:
    contacts: Contacts
    dry_run: bool = False
    owner_of: dict[str, str | None] = field(default_factory=dict)  # identity key → contact id (None: nobody)
    current: dict[str, Contact] = field(default_factory=dict)  # contact id → as this import left it
    first_row: dict[str, int] = field(default_factory=dict)  # contact id → first row that touched it
    planned: set[str] = field(default_factory=set)  # dry run: ids of contacts that would be created

    async def run(self, rows: list[Row], progress: Callable[[int], None] | None = None) -> list[RowResult]:
        results: list[RowResult] = []
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start:start + CHUNK]
            parsed: list[ParsedRow | RowResult] = []
            for row in chunk:
                try:
                    parsed.append(check_row(row))
                except InvalidInput as exc:
                    parsed.append(RowResult(row=row.number, status="error", column=exc.field,
                                            reason=exc.detail))
            await self._look_up([k for p in parsed if isinstance(p, ParsedRow) for _, k, _ in p.identities])
            for item in parsed:
                results.append(item if isinstance(item, RowResult) else await self._do_row(item))
            if progress:
                progress(len(chunk))
        return results

    async def _look_up(self, keys: list[str]) -> None:
        """Who owns ``keys``, and those contacts: one read by ``_id`` each, ``LOOK_UPS`` at a time
        (FerretDB v1 answers ``_id`` equality from its index but tests an ``$in`` list against
        every document)."""
        store = self.contacts.store
        unknown = [k for k in dict.fromkeys(keys) if k not in self.owner_of]
        for start in range(0, len(unknown), LOOK_UPS):
            batch = unknown[start:start + LOOK_UPS]
            found = await asyncio.gather(*(store.identities.find_one({"_id": k}, {"contact_id": 1})
                                           for k in batch))
            for key, doc in zip(batch, found, strict=True):
                self.owner_of[key] = doc["contact_id"] if doc else None
            owners = [c for c in dict.fromkeys(d["contact_id"] for d in found if d) if c not in self.current]
            for doc in await asyncio.gather(*(store.contacts.find_one({"_id": c}) for c in owners)):
                if doc and not doc.get("merged_into"):  # a merged one is read through Contacts.get
                    self.current[doc["_id"]] = Contact.from_doc(doc)

    async def _contact(self, contact_id: str) -> Contact:
        if contact_id not in self.current:
            contact = await self.contacts.get(contact_id)  # follows merges
            self.current[contact_id] = self.current[contact.id] = contact
        return self.current[contact_id]

    async def _do_row(self, row: ParsedRow, retry: bool = True) -> RowResult:
        try:
            owners = await self._owners(row)
            if len(owners) > 1:
                (a, col_a), (b, col_b) = list(owners.items())[:2]
                return RowResult(row=row.number, status="error", column=col_b, reason=(
                    f"{col_a} belongs to contact {self._shown(a)} and {col_b} to contact {self._shown(b)}: "
                    "merge them first (an import never merges)"))
            if owners:
                contact_id = next(iter(owners))
                status: Status = await self._update(contact_id, row)
            else:
                contact_id, status = await self._create(row), "created"
        except Conflict as exc:  # another writer claimed one of the row's identities meanwhile
            for _, key, _ in row.identities:
                self.owner_of.pop(key, None)
            if retry:
                await self._look_up([k for _, k, _ in row.identities])
                return await self._do_row(row, retry=False)
            return RowResult(row=row.number, status="error", column=exc.field, reason=exc.detail)
        except HubError as exc:  # e.g. an identity whose contact is gone: this row only
            return RowResult(row=row.number, status="error", column=exc.field, reason=exc.detail)
        duplicate_of = self.first_row.setdefault(contact_id, row.number)
        result = RowResult(row=row.number, status=status, contact_id=self._shown(contact_id),
                           duplicate_of=duplicate_of if duplicate_of != row.number else None)
        kept = self.current[contact_id].type if contact_id in self.current else None
        if status != "created" and row.type is not None and kept is not None and row.type != kept:
            result.column, result.warning = "type", (
                f"type {row.type.value} not applied: the contact is a {kept.value} (an import never "
                "changes a contact's type; change it on the contact if the file is right)")
        return result

    async def _owners(self, row: ParsedRow) -> dict[str, str]:
        """The contacts owning the row's identities → the column of the first identity of each."""
        owners: dict[str, str] = {}
        for kind, key, _ in row.identities:
            owner = self.owner_of.get(key)
            if owner is not None:
                owners.setdefault((await self._being_created(owner, kind.value)).id, kind.value)
        return owners

    async def _being_created(self, contact_id: str, column: str) -> Contact:
        """The owner of an identity of the row. ``Contacts.create`` writes the identities before the
        contact, so an owner not found yet is being created by another writer (another import of the
        same file, an inbound message): wait for it a little, as ``Contacts.resolve`` does. If it never
        shows up (its creator failed and takes its identities back), a Conflict naming the column makes
        ``_do_row`` read the owners again once."""
        delay = 0.02
        for _ in range(CREATING_WAITS):
            try:
                return await self._contact(contact_id)
            except NotFound:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.3)
        raise Conflict(f"the {column} belongs to contact {contact_id}, which another writer has not finished "
                       "creating: import this row again", field=column)

    def _shown(self, contact_id: str) -> str | None:
        return None if contact_id in self.planned else contact_id

    async def _create(self, row: ParsedRow) -> str:
        contact = row.contact
        if self.dry_run:
            self.planned.add(contact.id)
        else:
            await self.contacts.create(contact, [(kind, value) for kind, _, value in row.identities])
        self.current[contact.id] = contact
        for _, key, _ in row.identities:
            self.owner_of[key] = contact.id
        return contact.id

    async def _update(self, contact_id: str, row: ParsedRow) -> Status:
        existing = self.current[contact_id]
        changes = fill(existing, row.contact)
        new = [(kind, key, value) for kind, key, value in row.identities if self.owner_of.get(key) is None]
        if not self.dry_run and changes:  # filled from the contact as it is now (someone may edit it)
            changes = fill(await self.contacts.get(contact_id), row.contact)
        if not self.dry_run:
            added: list[str] = []
            try:
                for kind, key, value in list(new):
                    try:
                        await self.contacts.add_identity(contact_id, kind, value)
                    except Conflict:
                        # the writer creating this very contact added it meanwhile: not ours to add
                        owner = await self.contacts.store.identities.find_one({"_id": key}, {"contact_id": 1})
                        if owner is None or owner["contact_id"] != contact_id:
                            raise
                        new.remove((kind, key, value))
                        continue
                    added.append(key)
            except Conflict as exc:  # nothing half-written: the identities this row added go again
                await self.contacts.store.identities.delete_many(
                    {"_id": {"$in": added}, "contact_id": contact_id})
                column = next(k.value for k, key, _ in new if key not in added)
                raise Conflict(exc.detail, field=column) from exc
            if changes:
                self.current[contact_id] = await self.contacts.update(contact_id, changes)
        elif changes:
            self.current[contact_id] = existing.model_copy(update=changes)
        for _, key, _ in new:
            self.owner_of[key] = contact_id
        return "updated" if changes or new else "unchanged"


def report(rows: int, results: list[RowResult], dry_run: bool) -> ImportReport:
    out = ImportReport(dry_run=dry_run, rows=rows)
    for r in results:
        if r.status == "error":
            out.errors += 1
        else:
            setattr(out, r.status, getattr(out, r.status) + 1)
        if r.duplicate_of is not None:
            out.duplicates += 1
        if r.warning:
            out.warnings += 1
    ordered = ([r for r in results if r.status == "error"] + [r for r in results if r.warning]
               + [r for r in results if r.status != "error" and not r.warning])
    out.results = ordered[:MAX_RESULTS]
    out.results_truncated = len(ordered) > MAX_RESULTS
    return out


async def import_csv(contacts: Contacts, audit: Audit, data: bytes, *, actor: str, dry_run: bool = False,
                     hidden: frozenset[str] = frozenset(),
                     progress: Callable[[int], None] | None = None,
                     on_rows: Callable[[int], None] | None = None, max_rows: int = MAX_ROWS,
                     too_many: str = "") -> ImportReport:
    """Read ``data`` (refused whole with InvalidInput/PayloadTooLarge), import each row, audit the counts
    once as ``contact.import`` (not for a dry run, which writes nothing). ``hidden``: custom fields
    the caller may not write (a non-admin and ``BERRY_RESTRICTED_CONTACT_FIELDS``)."""
    rows = read_rows(data, hidden, max_rows, too_many)
    if on_rows:
        on_rows(len(rows))
    results = await Importer(contacts, dry_run=dry_run).run(rows, progress)
    out = report(len(rows), results, dry_run)
    if not dry_run:
        counts = out.model_dump(include={"rows", "created", "updated", "unchanged", "errors", "duplicates"})
        await audit.record(actor, "contact.import", "contact", "import", after=counts)
    return out


__all__ = ["API_MAX_ROWS", "MAX_BYTES", "MAX_ROWS", "ImportReport", "RowResult", "UnsupportedMedia",
           "import_csv", "read_rows"]
