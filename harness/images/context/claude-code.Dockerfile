# Crucible's Claude Code layer: the workspace image plus one pinned Claude Code binary, copied in offline
# (executable in the build context already: a chmod here would store the 245 MB file twice).
FROM {parent}
COPY claude-code.json /opt/crucible/claude-code.json
COPY claude /usr/local/bin/claude
RUN /usr/local/bin/claude --version
