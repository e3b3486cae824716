#!/usr/bin/env bash
# Installs what the runbook tests (test/runbooks) and bench/runbooks.ts need on a Debian 12
# machine of this project's kind. Idempotent and quick when everything is already there.
# Called by .ci/run before `npm test` when CI=true.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
PG_BIN=/usr/lib/postgresql/15/bin

need_apt=()
[[ -x $PG_BIN/initdb && -x $PG_BIN/pg_ctl && -x $PG_BIN/pgbench ]] || need_apt+=(postgresql-15)
command -v psql >/dev/null 2>&1 && command -v pg_restore >/dev/null 2>&1 || need_apt+=(postgresql-client-15)
command -v shellcheck >/dev/null 2>&1 || need_apt+=(shellcheck)
command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 || need_apt+=(redis-server)
for tool in jq curl flock gzip sha256sum; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    case $tool in
      flock) need_apt+=(util-linux);;
      sha256sum) need_apt+=(coreutils);;
      *) need_apt+=("$tool");;
    esac
  fi
done

if [[ ${#need_apt[@]} -gt 0 ]]; then
  echo "runbook-prereqs: installing ${need_apt[*]}"
  SUDO=()
  [[ $(id -u) -eq 0 ]] || SUDO=(sudo)
  "${SUDO[@]}" apt-get update -qq
  "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# moto_server and aws come from the image's pyenv Python, not from apt.
PATH=$PATH:${HOME:-/root}/.pyenv/shims
missing=()
for tool in moto_server aws; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "runbook-prereqs: error: ${missing[*]} not found on PATH or in ~/.pyenv/shims;" \
    "install with: pip install 'moto[server]==5.2.1' awscli" >&2
  exit 1
fi

echo "runbook-prereqs: ok: postgres $("$PG_BIN/postgres" --version | awk '{print $3}'), pg_dump $(pg_dump --version | awk '{print $3}')," \
  "shellcheck $(shellcheck --version | awk '/^version:/{print $2}'), redis $(redis-server --version | awk '{print $3}' | cut -d= -f2)," \
  "moto_server $(command -v moto_server), $(aws --version 2>&1 | cut -d' ' -f1)"
