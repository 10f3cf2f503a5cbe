# Crucible PostgreSQL image: Debian's PostgreSQL on the same base, started by crucible-pg-start.
FROM {parent}
ENV LANG=C.UTF-8 PG_MAJOR={pg_major}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql-{pg_major} \
 && rm -rf /var/lib/apt/lists/*
COPY pg-start.sh /usr/local/bin/crucible-pg-start
RUN chmod 0755 /usr/local/bin/crucible-pg-start
USER postgres
CMD ["/usr/local/bin/crucible-pg-start"]
