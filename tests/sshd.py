"""An ssh server on a loopback port for the tests of ssh:// engines: its own host key, one client key,
root by key only. The client side is a directory with an `ssh` that reads this server's config (key,
known host, batch mode), to put first on PATH: the Docker SDK runs `ssh` from PATH, and the tests must not
touch the machine's own ~/.ssh."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SSHD = Path("/usr/sbin/sshd")  # sshd re-executes itself, so it must be started by its absolute path


@dataclass(frozen=True)
class SshServer:
    port: int
    bin_dir: Path  # holds the configured `ssh`

    @property
    def url(self) -> str:
        return f"ssh://root@127.0.0.1:{self.port}"


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True, timeout=30)


@contextmanager
def ssh_server(folder: Path, port: int) -> Iterator[SshServer]:
    folder.mkdir(parents=True, exist_ok=True)
    sockets = tempfile.mkdtemp(prefix="cm-")  # short: a socket path must stay under 108 bytes
    _keygen(folder / "host_key")
    _keygen(folder / "client_key")
    shutil.copy(folder / "client_key.pub", folder / "authorized_keys")
    (folder / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {folder / 'host_key'}\nPidFile {folder / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {folder / 'authorized_keys'}\nPermitRootLogin prohibit-password\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nStrictModes no\nUsePAM no\n"
    )
    host_key = (folder / "host_key.pub").read_text().split()
    (folder / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_key[0]} {host_key[1]}\n")
    (folder / "ssh_config").write_text(
        f"Host 127.0.0.1\n  IdentityFile {folder / 'client_key'}\n  IdentitiesOnly yes\n"
        f"  UserKnownHostsFile {folder / 'known_hosts'}\n  StrictHostKeyChecking yes\n  BatchMode yes\n"
        # one shared connection, as the README advises: the SDK opens a new ssh session per request
        f"  ControlMaster auto\n  ControlPath {sockets}/%C\n  ControlPersist 30\n"
    )
    bin_dir = folder / "bin"
    bin_dir.mkdir()
    ssh = shutil.which("ssh")
    assert ssh, "no ssh client"
    (bin_dir / "ssh").write_text(f'#!/bin/sh\nexec {ssh} -F {folder / "ssh_config"} "$@"\n')
    (bin_dir / "ssh").chmod(0o755)
    Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege-separation directory
    log = (folder / "sshd.log").open("w")
    daemon = subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(folder / "sshd_config")], stderr=log)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert daemon.poll() is None, (folder / "sshd.log").read_text()[-2000:]
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "sshd did not listen within 30 s"
                time.sleep(0.2)
        yield SshServer(port=port, bin_dir=bin_dir)
    finally:
        daemon.terminate()
        daemon.wait(timeout=30)
        log.close()
        shutil.rmtree(sockets, ignore_errors=True)
