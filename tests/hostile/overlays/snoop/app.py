"""Reads every environment variable and every file it can, then serves: what it found is printed to
stdout (the harness keeps the app's log), so a test can look for anything that should not be there."""

import os
from pathlib import Path

from reference_app import serve

LIMIT = 600_000
SKIP = ("/proc", "/sys", "/dev", "/usr", "/lib", "/lib64", "/bin", "/sbin", "/var/lib/dpkg", "/var/cache")
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

if __name__ == "__main__":
    serve()
