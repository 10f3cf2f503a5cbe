"""Reads every environment variable and every file it can, then prints what it found to stdout (the
harness keeps the app's log), so a test can look for anything that should not be there.

It answers GET /health at once and holds every other request until the snoop is done: the walk is slow
on a loaded machine, and the readiness wait must not decide whether the snoop ran."""

import os
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path

from reference_app import Handler

LIMIT = 600_000
SKIP = ("/proc", "/sys", "/dev", "/usr", "/lib", "/lib64", "/bin", "/sbin", "/var/lib/dpkg", "/var/cache")
DONE = threading.Event()


class Waiting(Handler):
    def do_POST(self) -> None:
        DONE.wait(120)
        super().do_POST()


def snoop() -> None:
    seen = [f"ENV {k}={v}" for k, v in sorted(os.environ.items())]
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            for name in ("environ", "cmdline"):
                try:
                    seen.append(f"PROC {pid}/{name} {Path('/proc', pid, name).read_bytes()!r}")
                except OSError:
                    continue
    for root, dirs, files in os.walk("/", followlinks=False):
        dirs[:] = [d for d in dirs if not os.path.join(root, d).startswith(SKIP)]
        for name in files:
            path = os.path.join(root, name)
            seen.append(f"FILE {path}")
            try:
                if os.path.getsize(path) < 20_000:
                    seen.append(Path(path).read_text(errors="replace"))
            except OSError:
                continue
    dump = "\n".join(seen)
    print(dump[:LIMIT], flush=True)
    print(f"SNOOP-DONE {len(dump)} characters", flush=True)
    DONE.set()


if __name__ == "__main__":
    server = ThreadingHTTPServer(("0.0.0.0", int(os.environ["PORT"])), Waiting)  # noqa: S104
    threading.Thread(target=server.serve_forever, daemon=True).start()
    snoop()
    threading.Event().wait()
