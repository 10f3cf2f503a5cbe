"""Serves correctly while printing a gigabyte to stdout."""

import sys
import threading

from reference_app import serve


def flood() -> None:
    line = b"x" * 1023 + b"\n"
    chunk = line * 1024  # 1 MiB
    for _ in range(1024):
        sys.stdout.buffer.write(chunk)
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    threading.Thread(target=flood, daemon=True).start()
    serve()
