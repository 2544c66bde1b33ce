#!/usr/bin/env bash
# Install (if needed) and start a PostgreSQL server on loopback for the store and API
# tests; prints the URL the tests read from REGCAT_TEST_POSTGRES.
set -euo pipefail
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  (apt-get update -qq && apt-get install -y -qq postgresql >/dev/null) >&2
fi
version=$(ls /etc/postgresql 2>/dev/null | sort -n | tail -1)
if [ -z "$version" ]; then
  echo "no PostgreSQL cluster after installing postgresql" >&2
  exit 1
fi
if ! pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" && $4=="online"' | grep -q .; then
  pg_ctlcluster "$version" main start >&2
fi
for _ in $(seq 1 30); do
  pg_isready -q -h 127.0.0.1 -p 5432 && break
  sleep 0.5
done
runuser -u postgres -- psql -q -c "ALTER USER postgres PASSWORD 'regcat-ci'" >&2
echo "postgresql://postgres:regcat-ci@127.0.0.1:5432/postgres"
