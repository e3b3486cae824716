#!/usr/bin/env bash
# Installs what the runbook tests (test/runbooks) and bench/runbooks.ts need on a Debian 12
# machine: this project's machines, or the Debian 12 container the GitHub workflows' offline job
# runs in (.github/workflows; Debian 12's archive has postgresql-15, Ubuntu 24.04's has 16 only).
# Idempotent and quick when everything is already there. Called by .ci/run before `npm test`.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
PG_BIN=/usr/lib/postgresql/15/bin
# moto_server (a local AWS API) and the AWS CLI at the versions of the project's machines' image.
MOTO_VERSION=5.2.1
AWSCLI_VERSION=1.45.11
PY_TOOLS_VENV=${RUNBOOK_TOOLS_VENV:-/opt/genie-runbook-tools}
SUDO=()
[[ $(id -u) -eq 0 ]] || SUDO=(sudo)

# moto_server and aws come from the image's pyenv Python on the project's machines; elsewhere they
# are installed from PyPI into a virtual environment (below), which needs Debian's python3-venv.
PATH=$PATH:${HOME:-/root}/.pyenv/shims
missing_py=()
for tool in moto_server aws; do
  command -v "$tool" >/dev/null 2>&1 || missing_py+=("$tool")
done

need_apt=()
[[ ${#missing_py[@]} -eq 0 ]] || need_apt+=(python3-venv)
[[ -x $PG_BIN/initdb && -x $PG_BIN/pg_ctl && -x $PG_BIN/pgbench ]] || need_apt+=(postgresql-15)
command -v psql >/dev/null 2>&1 && command -v pg_restore >/dev/null 2>&1 || need_apt+=(postgresql-client-15)
command -v shellcheck >/dev/null 2>&1 || need_apt+=(shellcheck)
command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 || need_apt+=(redis-server)
# The status page's browser test (test/status-page-browser.test.ts): Debian's chromium, headless
# (measured: 24 s to install with --no-recommends on Debian 12, apt lists already fetched).
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
for tool in jq curl flock gzip sha256sum zstd; do
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
  "${SUDO[@]}" apt-get update -qq
  "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

if [[ ${#missing_py[@]} -gt 0 ]]; then
  # Debian's own Python (PEP 668: no pip installs into it), a venv of its own, linked into
  # /usr/local/bin so every later step and the tests find the tools on PATH.
  echo "runbook-prereqs: installing moto[server]==$MOTO_VERSION and awscli==$AWSCLI_VERSION into $PY_TOOLS_VENV"
  "${SUDO[@]}" /usr/bin/python3 -m venv "$PY_TOOLS_VENV"
  "${SUDO[@]}" "$PY_TOOLS_VENV/bin/pip" install --quiet --disable-pip-version-check \
    "moto[server]==$MOTO_VERSION" "awscli==$AWSCLI_VERSION"
  for tool in moto_server aws; do
    "${SUDO[@]}" ln -sf "$PY_TOOLS_VENV/bin/$tool" "/usr/local/bin/$tool"
  done
fi
missing=()
for tool in moto_server aws; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "runbook-prereqs: error: ${missing[*]} still not found on PATH" >&2
  exit 1
fi

echo "runbook-prereqs: ok: postgres $("$PG_BIN/postgres" --version | awk '{print $3}'), pg_dump $(pg_dump --version | awk '{print $3}')," \
  "shellcheck $(shellcheck --version | awk '/^version:/{print $2}'), redis $(redis-server --version | awk '{print $3}' | cut -d= -f2)," \
  "moto_server $(command -v moto_server), $(aws --version 2>&1 | cut -d' ' -f1), $(chromium --version 2>/dev/null | cut -d' ' -f1-2)"
