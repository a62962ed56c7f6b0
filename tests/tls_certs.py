"""Certificates made in the test, for real TLS: a server certificate for 127.0.0.1,
a client certificate signed by the CA the server is told to trust
(`clients-ca.crt`), and a stranger's, signed by a CA it does not trust."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import NamedTuple

import trustme


class Certs(NamedTuple):
    folder: Path  # server.crt, server.key, clients-ca.crt
    server_ca: trustme.CA
    server: trustme.LeafCert
    client: trustme.LeafCert  # signed by the CA in clients-ca.crt
    stranger: trustme.LeafCert  # signed by a CA the server does not trust


def make_certs(folder: Path) -> Certs:
    server_ca, client_ca, other_ca = trustme.CA(), trustme.CA(), trustme.CA()
    server = server_ca.issue_cert("127.0.0.1")
    server.private_key_pem.write_to_path(folder / "server.key")
    (folder / "server.crt").write_bytes(b"".join(pem.bytes() for pem in server.cert_chain_pems))
    client_ca.cert_pem.write_to_path(folder / "clients-ca.crt")
    return Certs(
        folder,
        server_ca,
        server,
        client_ca.issue_cert("prometheus@example.org"),
        other_ca.issue_cert("x@example.org"),
    )


def client_context(certs: Certs, cert: trustme.LeafCert | None = None) -> ssl.SSLContext:
    """What a scraper uses: trusts the server's CA, and presents `cert` if given."""
    context = ssl.create_default_context()
    certs.server_ca.configure_trust(context)
    if cert is not None:
        cert.configure_cert(context)
    return context
