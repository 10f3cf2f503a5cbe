# Crucible runtime image: the base plus an unprivileged user and the tester's Python environment.
# Built offline: every wheel comes from the host-resolved wheelhouse in the build context.
FROM {parent}
ENV LANG=C.UTF-8 PYTHONDONTWRITEBYTECODE=1 PIP_NO_INDEX=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN (id -u sandbox >/dev/null 2>&1 || useradd --create-home --uid 1000 --shell /bin/sh sandbox) \
 && mkdir -p /work /opt/crucible && chown sandbox:sandbox /work
COPY wheels /tmp/wheels
COPY tester-requirements.txt /opt/crucible/tester-requirements.txt
RUN python3 -m venv /opt/crucible/tester \
 && /opt/crucible/tester/bin/pip install --no-index --find-links /tmp/wheels \
      -r /opt/crucible/tester-requirements.txt \
 && rm -rf /tmp/wheels
WORKDIR /work
