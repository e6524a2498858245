#!/usr/bin/env python3
"""A reference connector for Dossier: an events platform answering dossier-connector/1.

Python 3 standard library only (http.server, sqlite3, json). It keeps attendees (found by email)
and their registrations in an SQLite file, created with sample data on first start, and answers
every call of the protocol described in docs/connector-protocol.md:

    GET  /health    the protocol version and the collections served
    POST /access    NDJSON: every record of the person, a collection at a time
    POST /locate    NDJSON: the person's records, by key, with the fields asked for
    POST /read      current values of records, by key
    POST /execute   changes, all in one transaction
    POST /emails    NDJSON: every address held

Run it:

    export DOSSIER_CONNECTOR_TOKEN="$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
    python3 server.py --port 8765 --db events.db

It prints `listening on http://127.0.0.1:PORT` once it accepts calls (`--port 0` picks a free
port). It logs the method, path and status of each call, never an address or a record.
"""

import argparse
import hmac
import json
import os
import sqlite3
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PROTOCOL = "dossier-connector/1"
TOKEN_ENV = "DOSSIER_CONNECTOR_TOKEN"
MAX_BODY = 1024 * 1024

# The collections this service offers. Dossier names fields in its calls; only the fields listed
# here are ever put into SQL, so a call can never name another column or table.
COLLECTIONS = {
    "attendees": {
        "table": "attendees",
        "fields": ["id", "email", "first_name", "last_name", "phone", "city", "newsletter", "created_at"],
    },
    "registrations": {
        "table": "registrations",
        "fields": ["id", "attendee_id", "event", "ticket", "registered_at", "dietary_needs"],
    },
}

SCHEMA = """
CREATE TABLE attendees (
    id INTEGER PRIMARY KEY,
    email TEXT,
    first_name TEXT,
    last_name TEXT,
    phone TEXT,
    city TEXT,
    newsletter INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE TABLE registrations (
    id INTEGER PRIMARY KEY,
    attendee_id INTEGER NOT NULL REFERENCES attendees(id),
    event TEXT NOT NULL,
    ticket TEXT NOT NULL,
    registered_at TEXT NOT NULL,
    dietary_needs TEXT
);
CREATE INDEX attendees_email ON attendees (lower(trim(email)));
CREATE INDEX registrations_attendee ON registrations (attendee_id);
"""

SAMPLE = [
    ("INSERT INTO attendees VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [
        (1, "jeanne.martin@example.fr", "Jeanne", "Martin", "+33612345678", "Lyon", 1, "2025-03-02"),
        (2, "paul.durand@example.com", "Paul", "Durand", None, "Paris", 0, "2025-04-18"),
        # The same person, registered again with her address typed differently.
        (3, " Jeanne.Martin@Example.FR", "Jeanne", "Martin", None, None, 0, "2026-01-05"),
        (4, "amelie.roux@example.org", "Amélie", "Roux", "+33698765432", "Nantes", 1, "2025-11-30"),
    ]),
    ("INSERT INTO registrations VALUES (?, ?, ?, ?, ?, ?)", [
        (100, 1, "Rust Lyon Meetup, May 2026", "standard", "2026-02-10T09:12:00Z", "vegetarian"),
        (101, 1, "Privacy Engineering Day 2026", "student", "2026-02-11T18:40:00Z", None),
        (102, 2, "Rust Lyon Meetup, May 2026", "standard", "2026-02-12T08:05:00Z", None),
        (103, 3, "Open Data Workshop", "free", "2026-01-05T14:30:00Z", "no nuts"),
        (104, 4, "Privacy Engineering Day 2026", "speaker", "2025-12-01T10:00:00Z", None),
    ]),
]


class Refused(Exception):
    """A call this service will not carry out: answered 400 with the sentence."""


def open_db(path):
    conn = sqlite3.connect(path, timeout=10, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA journal_mode = WAL")
    return conn


def create_db(path):
    if os.path.exists(path):
        return
    conn = open_db(path)
    try:
        conn.executescript("BEGIN;" + SCHEMA)
        for sql, rows in SAMPLE:
            conn.executemany(sql, rows)
        conn.execute("COMMIT")
    finally:
        conn.close()


def collection(name):
    if name not in COLLECTIONS:
        raise Refused(f"this service has no collection {name!r}")
    return COLLECTIONS[name]


def checked_fields(coll, names):
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise Refused("fields must be a list of names")
    for n in names:
        if n not in coll["fields"]:
            raise Refused(f"collection {coll['table']} has no field {n!r}")
    return names


def where_key(coll, key):
    if not isinstance(key, dict) or not key:
        raise Refused("a record is identified by a non-empty key")
    names = checked_fields(coll, list(key))
    return " AND ".join(f'"{n}" = ?' for n in names), [key[n] for n in names]


def normalised(email):
    if not isinstance(email, str) or "@" not in email:
        raise Refused("the call needs the person's email address")
    return email.strip().lower()


def person_rows(conn, email):
    """The person's records, collection by collection: attendees by address, then registrations."""
    attendees = conn.execute(
        "SELECT * FROM attendees WHERE lower(trim(email)) = ? ORDER BY id", (email,)
    ).fetchall()
    ids = [a["id"] for a in attendees]
    registrations = []
    if ids:
        marks = ", ".join("?" for _ in ids)
        registrations = conn.execute(
            f"SELECT * FROM registrations WHERE attendee_id IN ({marks}) ORDER BY id", ids
        ).fetchall()
    return [("attendees", attendees), ("registrations", registrations)]


class Handler(BaseHTTPRequestHandler):
    server_version = "events-connector/1"

    # -- plumbing -------------------------------------------------------------------------

    def authorised(self):
        expected = "Bearer " + self.server.token
        given = self.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), expected.encode())

    def send_json(self, status, document):
        body = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def start_stream(self):
        # HTTP/1.0: the answer ends when the connection closes; the closing {"end": true} line
        # tells Dossier it is complete.
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.end_headers()

    def line(self, document):
        self.wfile.write(json.dumps(document).encode() + b"\n")

    def end_stream(self):
        self.line({"end": True})
        self.wfile.flush()

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise Refused("the call is too large")
        try:
            document = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            raise Refused("the call is not JSON")
        if not isinstance(document, dict):
            raise Refused("the call must be a JSON object")
        return document

    def handle_call(self, routes):
        if not self.authorised():
            self.send_json(401, {"error": "missing or wrong token"})
            return
        route = routes.get(self.path)
        if route is None:
            self.send_json(404, {"error": f"nothing at {self.path}"})
            return
        conn = open_db(self.server.db)
        try:
            route(self, conn)
        except Refused as e:
            self.send_json(400, {"error": str(e)})
        except sqlite3.Error as e:
            # Never echo the database's own message: it may quote values.
            self.log_error("database error: %s", type(e).__name__)
            self.send_json(500, {"error": "the events database failed; try again later"})
        finally:
            conn.close()

    def do_GET(self):
        self.handle_call({"/health": Handler.health})

    def do_POST(self):
        self.handle_call({
            "/access": Handler.access,
            "/locate": Handler.locate,
            "/read": Handler.read,
            "/execute": Handler.execute,
            "/emails": Handler.emails,
        })

    # -- the protocol ----------------------------------------------------------------------

    def health(self, conn):
        conn.execute("SELECT 1")
        self.send_json(200, {"protocol": PROTOCOL, "collections": list(COLLECTIONS)})

    def access(self, conn):
        email = normalised(self.body().get("email"))
        found = person_rows(conn, email)
        self.start_stream()
        for name, rows in found:
            for row in rows:
                self.line({"collection": name, "record": dict(row)})
        self.end_stream()

    def locate(self, conn):
        call = self.body()
        email = normalised(call.get("email"))
        asked = call.get("collections") or {}
        if not isinstance(asked, dict):
            raise Refused("collections must map names to {key, fields}")
        wanted = {}
        for name, what in asked.items():
            coll = collection(name)
            wanted[name] = (checked_fields(coll, what.get("key", [])), checked_fields(coll, what.get("fields", [])))
        found = person_rows(conn, email)
        self.start_stream()
        for name, rows in found:
            if name not in wanted:
                continue
            key, fields = wanted[name]
            for row in rows:
                self.line({
                    "collection": name,
                    "key": {k: row[k] for k in key},
                    "values": {f: row[f] for f in fields},
                })
        self.end_stream()

    def read(self, conn):
        answers = []
        for record in self.body().get("records", []):
            coll = collection(record.get("collection"))
            fields = checked_fields(coll, record.get("fields", []))
            where, args = where_key(coll, record.get("key"))
            columns = ", ".join(f'"{f}"' for f in fields) or "1"
            row = conn.execute(f'SELECT {columns} FROM "{coll["table"]}" WHERE {where}', args).fetchone()
            if row is None:
                answers.append({"found": False, "values": {}})
            else:
                answers.append({"found": True, "values": {f: row[f] for f in fields}})
        self.send_json(200, {"records": answers})

    def execute(self, conn):
        call = self.body()
        steps = call.get("steps")
        if not isinstance(steps, list):
            raise Refused("steps must be a list")
        outcomes = []
        # One transaction for every step: all or nothing. BEGIN IMMEDIATE takes the write lock at
        # once, so the records read are the records changed.
        conn.execute("BEGIN IMMEDIATE")
        try:
            for step in steps:
                coll = collection(step.get("collection"))
                table = coll["table"]
                where, args = where_key(coll, step.get("key"))
                change = step.get("change") or {}
                if change.get("delete") is True:
                    deleted = conn.execute(f'DELETE FROM "{table}" WHERE {where}', args).rowcount
                    # A record already gone was deleted by an earlier run of the same steps.
                    outcomes.append({"found": deleted > 0, "after": None})
                elif isinstance(change.get("update"), dict) and change["update"]:
                    values = change["update"]
                    fields = checked_fields(coll, list(values))
                    if conn.execute(f'SELECT 1 FROM "{table}" WHERE {where}', args).fetchone() is None:
                        outcomes.append({"found": False, "after": None})
                        continue
                    sets = ", ".join(f'"{f}" = ?' for f in fields)
                    conn.execute(f'UPDATE "{table}" SET {sets} WHERE {where}', [values[f] for f in fields] + args)
                    columns = ", ".join(f'"{f}"' for f in fields)
                    row = conn.execute(f'SELECT {columns} FROM "{table}" WHERE {where}', args).fetchone()
                    outcomes.append({"found": True, "after": {f: row[f] for f in fields}})
                else:
                    raise Refused("a change is {\"delete\": true} or {\"update\": {field: value}}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        # The request id is safe to log: it is a hash of the steps.
        self.log_message("executed %s: %d steps", str(call.get("request"))[:64], len(steps))
        self.send_json(200, {"outcomes": outcomes})

    def emails(self, conn):
        self.body()
        rows = conn.execute(
            "SELECT DISTINCT lower(trim(email)) AS email FROM attendees "
            "WHERE email IS NOT NULL AND trim(email) <> '' ORDER BY 1"
        )
        self.start_stream()
        for row in rows:
            self.line({"email": row["email"]})
        self.end_stream()


def main():
    parser = argparse.ArgumentParser(description="An events platform answering Dossier's connector protocol.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (0 picks a free one; default 8765)")
    parser.add_argument("--db", default="events.db", help="SQLite file, created with sample data if missing")
    args = parser.parse_args()

    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        sys.exit(f"set {TOKEN_ENV} to the token Dossier will send (the same value as Dossier's token_env)")

    create_db(args.db)
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    server.token = token
    server.db = args.db
    host, port = server.server_address[:2]
    print(f"listening on http://{host}:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
