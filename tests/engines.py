"""A second Docker engine for the tests: its own dockerd on a loopback TCP port with mutual TLS
(certificates made here with openssl), its own data and exec roots, no bridge, no iptables."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

DATA_ROOT = Path("/var/lib/crucible-test-engine2")  # kept between local runs, so its images are reused
EXEC_ROOT = Path("/run/crucible-e2")  # short: containerd's socket path must stay under 108 bytes


@dataclass(frozen=True)
class SecondEngine:
    url: str
    ca: Path
    cert: Path
    key: Path

    def toml(self, **extra: str) -> str:
        """This engine as an inline table for `--set sandbox.engines=[...]`, with ``extra`` settings."""
        more = "".join(f', {key}="{value}"' for key, value in extra.items())
        return f'{{url="{self.url}", tls_ca="{self.ca}", tls_cert="{self.cert}", tls_key="{self.key}"{more}}}'


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_certificates(folder: Path) -> None:
    """ca.pem; server-cert.pem/server-key.pem for 127.0.0.1; cert.pem/key.pem for the client."""
    folder.mkdir(parents=True, exist_ok=True)
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=crucible-test-ca",
        "-keyout",
        "ca-key.pem",
        "-out",
        "ca.pem",
        cwd=folder,
    )
    for name, subject, usage in (
        ("server", "/CN=127.0.0.1", "serverAuth"),
        ("client", "/CN=crucible", "clientAuth"),
    ):
        (folder / f"{name}.ext").write_text(f"subjectAltName=IP:127.0.0.1\nextendedKeyUsage={usage}\n")
        _openssl(
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            subject,
            "-keyout",
            f"{name}-key.pem",
            "-out",
            f"{name}.csr",
            cwd=folder,
        )
        _openssl(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca-key.pem",
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            f"{name}-cert.pem",
            "-extfile",
            f"{name}.ext",
            cwd=folder,
        )
    shutil.copyfile(folder / "client-cert.pem", folder / "cert.pem")
    shutil.copyfile(folder / "client-key.pem", folder / "key.pem")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def second_engine(folder: Path) -> Iterator[SecondEngine]:
    from harness.errors import DockerUnavailable
    from harness.sandbox.engine import connect
    from harness.sandbox.labels import remove_labelled

    certs = folder / "certs"
    make_certificates(certs)
    port = free_port()
    EXEC_ROOT.mkdir(parents=True, exist_ok=True)
    log = (folder / "dockerd2.log").open("w")
    daemon = subprocess.Popen(
        [
            "dockerd",
            "--host",
            f"tcp://127.0.0.1:{port}",
            "--tlsverify",
            "--tlscacert",
            str(certs / "ca.pem"),
            "--tlscert",
            str(certs / "server-cert.pem"),
            "--tlskey",
            str(certs / "server-key.pem"),
            "--data-root",
            str(DATA_ROOT),
            "--exec-root",
            str(EXEC_ROOT),
            "--pidfile",
            str(EXEC_ROOT / "dockerd.pid"),
            "--bridge",
            "none",
            "--iptables=false",
            "--ip-masq=false",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    engine = SecondEngine(f"tcp://127.0.0.1:{port}", certs / "ca.pem", certs / "cert.pem", certs / "key.pem")
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                client = connect(engine.url, timeout=10, tls=(engine.ca, engine.cert, engine.key))
                break
            except DockerUnavailable:
                assert daemon.poll() is None, (folder / "dockerd2.log").read_text()[-2000:]
                assert time.monotonic() < deadline, "the second dockerd did not answer within 90 s"
                time.sleep(0.5)
        # its data root outlives a session: start without what an earlier, interrupted one left
        remove_labelled(client, {"crucible.run": None})
        client.close()
        yield engine
    finally:
        daemon.terminate()
        try:
            daemon.wait(timeout=60)
        except subprocess.TimeoutExpired:
            daemon.kill()
        log.close()
