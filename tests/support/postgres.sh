#!/usr/bin/env bash
# A throw-away PostgreSQL for the test suites: started by CTest before the
# tests that need it (fixture "postgres") and stopped after them.
#
#   postgres.sh start STATE_DIR   initdb a temporary cluster, start it on a free
#                                 port of 127.0.0.1, write its URL to STATE_DIR/url;
#                                 it takes TLS with a certificate for 127.0.0.1
#                                 made for it, written to STATE_DIR/ca.pem
#   postgres.sh stop STATE_DIR    stop it and delete its files
#   postgres.sh pause STATE_DIR   stop the server, keeping its files (a database outage)
#   postgres.sh resume STATE_DIR  start it again where it was
#
# The cluster runs as the calling user, or as Debian's "postgres" user when
# called as root (initdb refuses root). Its files live in a temporary folder,
# it listens on 127.0.0.1 only, and nothing of it is left after stop.
set -euo pipefail

usage="usage: postgres.sh start|stop|pause|resume STATE_DIR"
action=${1:?$usage}
state=${2:?$usage}

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  echo "postgres.sh: PostgreSQL's server is not installed (apt-get install postgresql)" >&2
  exit 1
fi

as_owner=()
if [ "$(id -u)" -eq 0 ]; then
  as_owner=(runuser -u postgres --)
fi

stop() {
  [ -f "$state/datadir" ] || return 0
  local data
  data=$(cat "$state/datadir")
  if [ -d "$data/cluster" ]; then
    "${as_owner[@]}" "$bindir/pg_ctl" -D "$data/cluster" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$data"
  rm -f "$state/datadir" "$state/url" "$state/port" "$state/ca.pem"
}

run_server() {
  local data port
  data=$(cat "$state/datadir")
  port=$(cat "$state/port")
  "${as_owner[@]}" "$bindir/pg_ctl" -D "$data/cluster" -l "$data/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $data -c fsync=off -c max_connections=200 \
        -c ssl=on -c ssl_cert_file=$data/server.crt -c ssl_key_file=$data/server.key" start \
    >/dev/null || { cat "$data/server.log" >&2; exit 1; }
}

case "$action" in
  start)
    mkdir -p "$state"
    stop # one left over by an interrupted run
    data=$(mktemp -d /tmp/natter-postgres.XXXXXX)
    echo "$data" >"$state/datadir"
    if [ ${#as_owner[@]} -gt 0 ]; then chown postgres: "$data"; fi
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "${as_owner[@]}" "$bindir/initdb" -D "$data/cluster" -U natter --auth=trust -E UTF8 --locale=C.UTF-8 \
      >"$data/initdb.log" 2>&1 || { cat "$data/initdb.log" >&2; exit 1; }
    echo "$port" >"$state/port"
    # Its own certificate, self-signed: the tests check natterd's sslmode=verify-full against it.
    "${as_owner[@]}" openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 7 \
      -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
      -keyout "$data/server.key" -out "$data/server.crt" >"$data/openssl.log" 2>&1 ||
      { cat "$data/openssl.log" >&2; exit 1; }
    "${as_owner[@]}" chmod 0600 "$data/server.key"
    cp "$data/server.crt" "$state/ca.pem"
    # Fast and throw-away: no fsync (the tests stop and restart it on purpose,
    # which PostgreSQL survives without fsync as long as the machine stays up).
    run_server
    "${as_owner[@]}" "$bindir/psql" -h 127.0.0.1 -p "$port" -U natter -d postgres -q \
      -c "CREATE DATABASE natter" >/dev/null
    echo "postgresql://natter@127.0.0.1:$port/natter" >"$state/url"
    echo "postgres.sh: PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"
    ;;
  stop)
    stop
    ;;
  pause)
    "${as_owner[@]}" "$bindir/pg_ctl" -D "$(cat "$state/datadir")/cluster" -m fast -w stop >/dev/null
    ;;
  resume)
    run_server
    ;;
  *)
    echo "$usage" >&2
    exit 2
    ;;
esac
