"""Certificates for the tests' own TLS server on loopback: a CA, a server certificate for 127.0.0.1, and a
client certificate the server requires (made with `cryptography`, valid for a day)."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.hostile_api import HostileServer


def _pair(name: str, issuer=None, san: bool = False):  # type: ignore[no-untyped-def]
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer[0].subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
    )
    if san:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
    certificate = builder.sign(issuer[1] if issuer else key, hashes.SHA256())
    pem = certificate.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return (certificate, key), (pem, key_pem)


def certificate_pair(directory: Path):  # type: ignore[no-untyped-def]
    """(CA pem, key pem), (server pem, key pem), (client pem, key pem)."""
    ca_objects, ca = _pair("test-ca")
    _, server = _pair("127.0.0.1", ca_objects, san=True)
    _, client = _pair("admin", ca_objects)
    return ca, server, client


@contextmanager
def tls_server(server_pair, ca) -> Iterator[tuple[str, HostileServer]]:  # type: ignore[no-untyped-def]
    """A HostileServer over TLS that requires a client certificate signed by `ca`; always stopped."""
    import tempfile

    server = HostileServer()
    with tempfile.TemporaryDirectory() as folder:  # the server's own certificate files, never the client's
        certificate, key = Path(folder) / "server.pem", Path(folder) / "server.key"
        certificate.write_bytes(server_pair[0])
        key.write_bytes(server_pair[1])
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certificate, key)
    context.load_verify_locations(cadata=ca[0].decode())
    context.verify_mode = ssl.CERT_REQUIRED
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}", server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
