"""Allocates memory without bound before it ever serves."""

blocks = []
while True:
    blocks.append(bytearray(64 * 1024 * 1024))
    blocks[-1][::4096] = b"x" * len(blocks[-1][::4096])  # touch every page
