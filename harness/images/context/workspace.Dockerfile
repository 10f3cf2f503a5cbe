# Crucible workspace image: the runtime plus the agent's toolbox, installed offline, and /workspace.
FROM {parent}
COPY wheels /tmp/wheels
COPY workspace-requirements.txt /opt/crucible/workspace-requirements.txt
RUN python3 -m venv /opt/toolbox \
 && /opt/toolbox/bin/pip install --no-index --find-links /tmp/wheels -r /opt/crucible/workspace-requirements.txt \
 && rm -rf /tmp/wheels \
 && mkdir -p /workspace && chown sandbox:sandbox /workspace
ENV PATH=/opt/toolbox/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
WORKDIR /workspace
