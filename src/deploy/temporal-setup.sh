#!/bin/sh
# One-shot Temporal setup steps, run by docker-compose.yml in temporalio/admin-tools containers (POSIX sh: the
# image is Alpine/busybox). Every step is idempotent, so `docker compose up` may run it on every start.
#
#   schema     create the persistence and visibility databases on PostgreSQL and apply every versioned
#              migration shipped in the image (temporal-sql-tool create / setup-schema / update-schema).
#              Env: SQL_HOST SQL_PORT SQL_USER SQL_PASSWORD SQL_PLUGIN TEMPORAL_DBNAME VISIBILITY_DBNAME SCHEMA_DIR
#   namespace  wait for the frontend, create the namespace when missing, register vouch's search attributes.
#              Env: TEMPORAL_ADDRESS TEMPORAL_NAMESPACE TEMPORAL_NAMESPACE_RETENTION
#                   VOUCH_SEARCH_ATTRIBUTES ("Name=Type Name=Type ...", Type as the temporal CLI spells it)
set -eu

log() {
  printf '[temporal-setup] %s\n' "$*" >&2
}

# retry ATTEMPTS DELAY_SECONDS COMMAND...
retry() {
  attempts=$1
  delay=$2
  shift 2
  n=1
  until "$@"; do
    if [ "$n" -ge "$attempts" ]; then
      log "giving up after $n attempts: $*"
      return 1
    fi
    log "attempt $n/$attempts failed, retrying in ${delay}s: $*"
    n=$((n + 1))
    sleep "$delay"
  done
}

setup_schema() {
  : "${SQL_HOST:?SQL_HOST is required}" "${SQL_USER:?SQL_USER is required}"
  : "${SQL_PASSWORD:?SQL_PASSWORD is required}"
  # temporal-sql-tool reads the password from SQL_PASSWORD, which keeps it out of the process list.
  export SQL_PASSWORD
  plugin=${SQL_PLUGIN:-postgres12}
  port=${SQL_PORT:-5432}
  schema_dir=${SCHEMA_DIR:-/etc/temporal/schema/postgresql/v12}

  retry 30 2 nc -z -w 5 "$SQL_HOST" "$port"

  for target in "${TEMPORAL_DBNAME:-temporal}:temporal" "${VISIBILITY_DBNAME:-temporal_visibility}:visibility"; do
    db=${target%%:*}
    kind=${target#*:}
    log "database $db: create if missing, then migrate with $schema_dir/$kind/versioned"
    # create: an existing database is kept. setup-schema -v 0.0: version tables only, skipped when the schema
    # is already newer. update-schema: applies only the migrations above the recorded version.
    temporal-sql-tool --plugin "$plugin" --ep "$SQL_HOST" -p "$port" -u "$SQL_USER" --db "$db" create
    temporal-sql-tool --plugin "$plugin" --ep "$SQL_HOST" -p "$port" -u "$SQL_USER" --db "$db" setup-schema -v 0.0
    temporal-sql-tool --plugin "$plugin" --ep "$SQL_HOST" -p "$port" -u "$SQL_USER" --db "$db" \
      update-schema -d "$schema_dir/$kind/versioned"
  done
  log 'schema ready'
}

# The CLI sometimes trips over a container name that also resolves to IPv6 (temporalio/samples-server does the
# same): dial the first IPv4 address when the host is a name, the address as given otherwise.
resolve_address() {
  host=${1%:*}
  port=${1##*:}
  case $host in
    *[!0-9.]*)
      ip=$(getent ahosts "$host" 2>/dev/null | awk '$1 ~ /^[0-9.]+$/ { print $1; exit }') || ip=''
      if [ -n "$ip" ]; then
        printf '%s:%s\n' "$ip" "$port"
        return
      fi
      ;;
  esac
  printf '%s\n' "$1"
}

setup_namespace() {
  : "${VOUCH_SEARCH_ATTRIBUTES:?VOUCH_SEARCH_ATTRIBUTES is required}"
  namespace=${TEMPORAL_NAMESPACE:-default}
  retention=${TEMPORAL_NAMESPACE_RETENTION:-720h}
  address=$(resolve_address "${TEMPORAL_ADDRESS:-temporal:7233}")

  # Check the list before touching the server, so a typo fails loudly instead of half-registering.
  for pair in $VOUCH_SEARCH_ATTRIBUTES; do
    case ${pair#*=} in
      Text | Keyword | Int | Double | Bool | Datetime | KeywordList) ;;
      *)
        log "bad search attribute '$pair' (want Name=Type, Type one of Text Keyword Int Double Bool Datetime KeywordList)"
        exit 2
        ;;
    esac
  done

  log "waiting for the Temporal frontend at $address"
  retry 30 5 temporal operator cluster health --address "$address"

  if temporal operator namespace describe --namespace "$namespace" --address "$address" >/dev/null 2>&1; then
    log "namespace $namespace exists"
  else
    log "creating namespace $namespace (retention $retention)"
    retry 5 3 temporal operator namespace create --namespace "$namespace" --retention "$retention" \
      --address "$address"
  fi

  # One attribute per call: the CLI's --type is a single value in some versions and a list in others.
  # The server skips an attribute that is already registered, so re-running is safe.
  for pair in $VOUCH_SEARCH_ATTRIBUTES; do
    name=${pair%%=*}
    type=${pair#*=}
    log "search attribute $name ($type)"
    retry 10 3 temporal operator search-attribute create --namespace "$namespace" --address "$address" \
      --name "$name" --type "$type"
  done
  log "namespace $namespace ready"
}

case ${1:-} in
  schema) setup_schema ;;
  namespace) setup_namespace ;;
  *)
    log "usage: temporal-setup.sh schema|namespace"
    exit 2
    ;;
esac
