"""A local OSV-compatible vulnerability service, so pip-audit runs for real, offline.

pip-audit's OSV backend POSTs ``{"package": {"name", "ecosystem"}, "version"}`` to its
``--osv-url`` and reads back ``{"vulns": [...]}`` in the OSV schema (``{}`` when none).
The records served here are real advisories (ids, aliases, fixed versions and summaries
as published in the OSV database), matched on exact package name and version.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def advisory(
    vuln_id: str, aliases: list[str], package: str, fixed: str, summary: str
) -> dict[str, Any]:
    """One OSV record affecting ``package`` before ``fixed``."""
    return {
        "schema_version": "1.6.0",
        "id": vuln_id,
        "aliases": aliases,
        "summary": summary,
        "published": "2018-10-29T18:53:00Z",
        "modified": "2024-09-16T00:00:00Z",
        "affected": [
            {
                "package": {"name": package, "ecosystem": "PyPI"},
                "ranges": [
                    {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}
                ],
            }
        ],
    }


# Real advisories for requests 2.19.0 (as published by GitHub / PyPA in OSV).
REQUESTS_2_19_0 = [
    advisory(
        "GHSA-x84v-xcm2-53pg",
        ["CVE-2018-18074", "PYSEC-2018-28"],
        "requests",
        "2.20.0",
        "Insufficiently Protected Credentials in Requests",
    ),
    advisory(
        "GHSA-j8r2-6x86-q33q",
        ["CVE-2023-32681", "PYSEC-2023-74"],
        "requests",
        "2.31.0",
        "Unintended leak of Proxy-Authorization header in requests",
    ),
]


@contextmanager
def osv_server(
    answers: Mapping[tuple[str, str], list[dict[str, Any]]],
) -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """Serve ``answers`` keyed by (package, version); yield (query URL, queries seen)."""
    seen: list[tuple[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            key = (body["package"]["name"], body["version"])
            seen.append(key)
            vulns = answers.get(key)
            payload = json.dumps({"vulns": vulns} if vulns else {}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep the test output clean

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1/query", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
