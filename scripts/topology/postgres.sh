#!/usr/bin/env bash
# PostgreSQL on one machine: a primary, a synchronous standby (streaming, pg_basebackup) and PgBouncer
# (transaction mode) in front of the primary.
#   scripts/topology/postgres.sh up|down|status|promote|pause-replay|resume-replay|stop-standby|start-standby
# Ports: PG_PRIMARY_PORT (default 5442), PG_STANDBY_PORT (5443), PGBOUNCER_PORT (6442).
# Then: DATABASE_URL=postgres://postgres@127.0.0.1:6442/async_orders DATABASE_PREPARED_STATEMENTS=false
#       DATABASE_DIRECT_URL=postgres://postgres@127.0.0.1:5442 DATABASE_REPLICA_URLS=postgres://postgres@127.0.0.1:5443/async_orders
# `promote` is the failover: it stops the primary, promotes the standby and re-points PgBouncer (RELOAD).
# The shared PostgreSQL on 5432 is never touched.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PRIMARY_PORT="${PG_PRIMARY_PORT:-5442}"
STANDBY_PORT="${PG_STANDBY_PORT:-5443}"
BOUNCER_PORT="${PGBOUNCER_PORT:-6442}"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
DIR="$TOPOLOGY_DIR/postgres-$PRIMARY_PORT"
# synchronous_commit=on with a named standby: a commit returns once the standby has flushed its WAL.
SYNC_NAME="standby1"

as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

write_pgbouncer_ini() {
  local target_port="$1"
  cat >"$DIR/pgbouncer/pgbouncer.ini" <<CONF
[databases]
* = host=127.0.0.1 port=$target_port

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $BOUNCER_PORT
unix_socket_dir =
auth_type = trust
auth_file = $DIR/pgbouncer/userlist.txt
pool_mode = transaction
max_client_conn = 1000
default_pool_size = 20
server_reset_query =
ignore_startup_parameters = extra_float_digits,options
# After a failover the new target is tried again within a second, not the default 15 s.
server_login_retry = 1
logfile = $DIR/pgbouncer/pgbouncer.log
pidfile = $DIR/pgbouncer/pgbouncer.pid
admin_users = postgres
CONF
}

# Waits (10 s at most) until the standby streams as the synchronous one: then commits wait for it.
wait_synchronous() {
  local state=''
  for _ in $(seq 100); do
    state="$(as_postgres "$PG_BIN/psql" -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -Atc \
      "SELECT sync_state FROM pg_stat_replication WHERE application_name = '$SYNC_NAME'" 2>/dev/null || true)"
    [ "$state" = "sync" ] && return
    sleep 0.1
  done
  die "the standby is not synchronous after 10 s (see $DIR/standby.log)"
}

up() {
  ensure_packages pgbouncer postgresql-15
  [ ! -d "$DIR" ] || down
  refuse_busy_port "$PRIMARY_PORT"
  refuse_busy_port "$STANDBY_PORT"
  refuse_busy_port "$BOUNCER_PORT"
  mkdir -p "$DIR"
  chown postgres:postgres "$DIR" 2>/dev/null || true

  as_postgres "$PG_BIN/initdb" -D "$DIR/primary" -U postgres --auth=trust -E UTF8 >"$DIR/initdb.log"
  cat >>"$DIR/primary/postgresql.conf" <<CONF
port = $PRIMARY_PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$DIR'
wal_level = replica
max_wal_senders = 5
wal_keep_size = 256MB
hot_standby = on
hot_standby_feedback = on
synchronous_standby_names = '$SYNC_NAME'
synchronous_commit = on
max_connections = 200
shared_buffers = 128MB
fsync = on
CONF
  echo "host replication postgres 127.0.0.1/32 trust" >>"$DIR/primary/pg_hba.conf"
  as_postgres "$PG_BIN/pg_ctl" -D "$DIR/primary" -l "$DIR/primary.log" -w start >/dev/null

  as_postgres "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -D "$DIR/standby" \
    -X stream --checkpoint=fast >/dev/null
  # Promoted, it stands alone: it must not wait for a synchronous standby it does not have.
  cat >>"$DIR/standby/postgresql.conf" <<CONF
port = $STANDBY_PORT
primary_conninfo = 'host=127.0.0.1 port=$PRIMARY_PORT user=postgres application_name=$SYNC_NAME'
synchronous_standby_names = ''
CONF
  as_postgres touch "$DIR/standby/standby.signal"
  as_postgres "$PG_BIN/pg_ctl" -D "$DIR/standby" -l "$DIR/standby.log" -w start >/dev/null

  # Up means: the standby streams and is the synchronous one (commits wait for it).
  wait_synchronous

  mkdir -p "$DIR/pgbouncer"
  echo '"postgres" ""' >"$DIR/pgbouncer/userlist.txt"
  write_pgbouncer_ini "$PRIMARY_PORT"
  chown -R postgres:postgres "$DIR/pgbouncer" 2>/dev/null || true
  as_postgres /usr/sbin/pgbouncer -d "$DIR/pgbouncer/pgbouncer.ini"
  wait_port "$BOUNCER_PORT"

  log "postgres topology up: primary 127.0.0.1:$PRIMARY_PORT, synchronous standby :$STANDBY_PORT, pgbouncer :$BOUNCER_PORT"
  env_line
}

env_line() {
  echo "DATABASE_URL=postgres://postgres@127.0.0.1:$BOUNCER_PORT/async_orders DATABASE_PREPARED_STATEMENTS=false" \
    "DATABASE_DIRECT_URL=postgres://postgres@127.0.0.1:$(current_primary) DATABASE_REPLICA_URLS=postgres://postgres@127.0.0.1:$STANDBY_PORT/async_orders"
}

current_primary() { sed -n 's/^\* = host=127.0.0.1 port=\([0-9]*\)$/\1/p' "$DIR/pgbouncer/pgbouncer.ini"; }

# The failover: the primary dies (immediate stop), the standby is promoted, PgBouncer is re-pointed.
# DATABASE_DIRECT_URL must name the new primary too (the relay's LISTEN reconnects to it).
promote() {
  [ -d "$DIR" ] || die "the postgres topology is down"
  as_postgres "$PG_BIN/pg_ctl" -D "$DIR/primary" -m immediate -w stop >/dev/null || true
  as_postgres "$PG_BIN/pg_ctl" -D "$DIR/standby" -w promote >/dev/null
  write_pgbouncer_ini "$STANDBY_PORT"
  as_postgres "$PG_BIN/psql" -h 127.0.0.1 -p "$BOUNCER_PORT" -U postgres -d pgbouncer -c RELOAD >/dev/null
  log "promoted the standby (:$STANDBY_PORT); pgbouncer :$BOUNCER_PORT now points at it"
}

pause_replay() {
  as_postgres "$PG_BIN/psql" -h 127.0.0.1 -p "$STANDBY_PORT" -U postgres -Atc 'SELECT pg_wal_replay_pause()' >/dev/null
  log "replay paused on the standby: its lag grows with every commit"
}

resume_replay() {
  as_postgres "$PG_BIN/psql" -h 127.0.0.1 -p "$STANDBY_PORT" -U postgres -Atc 'SELECT pg_wal_replay_resume()' >/dev/null
  log "replay resumed on the standby"
}

# The standby goes away (fast stop) and comes back. While it is away, the primary's commits wait for it
# (it is the one synchronous standby): reads go on, writes hang until it is back.
stop_standby() {
  as_postgres "$PG_BIN/pg_ctl" -D "$DIR/standby" -m fast -w stop >/dev/null
  log "standby stopped"
}

start_standby() {
  as_postgres "$PG_BIN/pg_ctl" -D "$DIR/standby" -l "$DIR/standby.log" -w start >/dev/null
  wait_synchronous
  log "standby started and synchronous again"
}

down() {
  stop_pidfile "$DIR/pgbouncer/pgbouncer.pid"
  local node
  for node in standby primary; do
    [ -f "$DIR/$node/postmaster.pid" ] && as_postgres "$PG_BIN/pg_ctl" -D "$DIR/$node" -m fast -w stop >/dev/null 2>&1 || true
  done
  rm -rf "$DIR"
  log "postgres topology down"
}

status() {
  [ -d "$DIR" ] || { echo "postgres topology: down"; return; }
  echo "pgbouncer :$BOUNCER_PORT -> :$(current_primary)"
  as_postgres "$PG_BIN/psql" -h 127.0.0.1 -p "$(current_primary)" -U postgres -Atc \
    "SELECT 'standby ' || application_name || ': ' || state || ', ' || sync_state FROM pg_stat_replication" || true
  env_line
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  promote) promote ;;
  pause-replay) pause_replay ;;
  resume-replay) resume_replay ;;
  stop-standby) stop_standby ;;
  start-standby) start_standby ;;
  *) echo "usage: $0 up|down|status|promote|pause-replay|resume-replay|stop-standby|start-standby" >&2; exit 2 ;;
esac
