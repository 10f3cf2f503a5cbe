"""Small helpers every layer may use: the one atomic write, the one tar pack/unpack, name registries,
crash-log gists. Nothing here knows about stages."""
