"""TLS for the gateway: a self-signed certificate made at init, and TLS 1.3-only contexts.

The workspace keeps ``tls/server.crt`` and ``tls/server.key`` (0600). An operator's own
certificate and key replace them through ``gateway.toml``. Server contexts accept TLS 1.3
and nothing older; with a client CA they also require a client certificate signed by it.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from bastion.crypto.files import write_private_atomic
from bastion.errors import GatewayConfigError

TLS_DIRNAME = "tls"
CERT_FILENAME = "server.crt"
KEY_FILENAME = "server.key"
DEFAULT_NAMES = ("localhost", "127.0.0.1", "::1")
VALIDITY = dt.timedelta(days=397)  # the CA/Browser Forum ceiling for server certificates


def _san(names: tuple[str, ...]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for name in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(entries)


def make_self_signed(
    folder: Path,
    names: tuple[str, ...] = DEFAULT_NAMES,
    *,
    now: dt.datetime | None = None,
    client: bool = False,
) -> tuple[Path, Path]:
    """Write a fresh P-256 key and a self-signed certificate for ``names``.

    A server certificate by default; ``client=True`` makes one for client authentication
    (mutual TLS), e.g. for a service that calls the gateway.
    """
    now = now or dt.datetime.now(dt.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, names[0]),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Bastion gateway (self-signed)"),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(_san(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    key_path, cert_path = folder / KEY_FILENAME, folder / CERT_FILENAME
    write_private_atomic(
        key_path,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    write_private_atomic(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def server_context(cert: Path, key: Path, *, client_ca: Path | None = None) -> ssl.SSLContext:
    """A server context that speaks TLS 1.3 only; ``client_ca`` turns on mutual TLS."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    ctx.options |= ssl.OP_NO_COMPRESSION | ssl.OP_NO_RENEGOTIATION
    try:
        ctx.load_cert_chain(str(cert), str(key))
    except (OSError, ssl.SSLError) as exc:
        raise GatewayConfigError(
            f"cannot load the TLS certificate {cert} and key {key}: {exc}",
            code="gateway.tls_unreadable",
            hint="Check the paths in gateway.toml [tls], or remove them to use the "
            "workspace's self-signed certificate.",
        ) from exc
    if client_ca is not None:
        try:
            ctx.load_verify_locations(cafile=str(client_ca))
        except (OSError, ssl.SSLError) as exc:
            raise GatewayConfigError(
                f"cannot load the client CA {client_ca}: {exc}", code="gateway.tls_unreadable"
            ) from exc
        ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def client_context(ca: Path) -> ssl.SSLContext:
    """A client context that trusts ``ca`` (the gateway's self-signed certificate)."""
    ctx = ssl.create_default_context(cafile=str(ca))
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    return ctx
