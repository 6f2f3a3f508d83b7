#!/usr/bin/env bash
# Apicurio Registry (an independent Confluent-compatible schema registry) for tests and checks
# against something other than the embedded registry.
#
#   scripts/registry-apicurio.sh start [--port 18081] [--timeout 120] [--owner-pid PID]
#   scripts/registry-apicurio.sh stop  [--port 18081] [--timeout 30]
#   scripts/registry-apicurio.sh status [--port 18081]
#   scripts/registry-apicurio.sh fetch
#
# `start` prints the Confluent-compatible base URL, http://127.0.0.1:PORT/apis/ccompat/v7.
#
# The registry is the prebuilt distribution Apicurio publishes on Maven Central
# (io.apicurio:apicurio-registry-app:VERSION:tar.gz:all, about 105 MB: a Quarkus runner jar and its
# lib/), downloaded once into a cache directory, checked against Maven Central's .sha1 and unpacked;
# later starts need no network. It is fetched with curl rather than Maven because the 3.0.9 release
# on Central lacks its parent pom, so Maven refuses to resolve it. Storage is Apicurio's default
# in-memory H2 database, so every start begins empty. Settings that bring it closer to Confluent's
# registry: global compatibility BACKWARD (Apicurio's default is NONE), global validity FULL
# (invalid schemas are refused), and canonical hashing in the ccompat API (the same schema written
# with other whitespace or key order gets the same id, as on Confluent).
#
# One registry per port; the pid file is <run dir>/apicurio-<port>.pid. With --owner-pid, a
# watchdog stops the registry when that process exits. Java 17+ and curl must be installed.
#
# Environment (all optional):
#   SPIKEMESH_APICURIO_VERSION  Apicurio Registry version (default 3.0.9; 3.1+ needs Java 21)
#   SPIKEMESH_MAVEN_CENTRAL     Maven repository base URL (default https://repo1.maven.org/maven2)
#   SPIKEMESH_CACHE_DIR         cache root (default ${XDG_CACHE_HOME:-~/.cache}/spikemesh)
#   SPIKEMESH_APICURIO_RUN_DIR  where pid files live (default <cache root>/run)
#   SPIKEMESH_APICURIO_HEAP     JVM max heap (default 256m)
set -euo pipefail

VERSION="${SPIKEMESH_APICURIO_VERSION:-3.0.9}"
CENTRAL="${SPIKEMESH_MAVEN_CENTRAL:-https://repo1.maven.org/maven2}"
CACHE_ROOT="${SPIKEMESH_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/spikemesh}"
RUN_DIR="${SPIKEMESH_APICURIO_RUN_DIR:-$CACHE_ROOT/run}"
HEAP="${SPIKEMESH_APICURIO_HEAP:-256m}"
HOME_DIR="$CACHE_ROOT/apicurio-registry-$VERSION"
RUNNER="$HOME_DIR/dist/apicurio-registry-app-$VERSION-runner.jar"
ARTIFACT="io/apicurio/apicurio-registry-app/$VERSION/apicurio-registry-app-$VERSION-all.tar.gz"
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SELF="$SCRIPT_DIR/$(basename "${BASH_SOURCE[0]}")"

log() { echo "[apicurio] $*" >&2; }
die() {
  echo "[apicurio] error: $*" >&2
  exit 1
}

need() {
  command -v "$1" >/dev/null 2>&1 || die "$1 not found on PATH: $2"
}

# Succeeds when something accepts TCP connections on 127.0.0.1:$1.
port_open() {
  timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

base_url() { echo "http://127.0.0.1:$1/apis/ccompat/v7"; }

# Downloads and unpacks the distribution once; concurrent callers wait on a lock.
fetch() {
  [[ -f "$HOME_DIR/.complete" ]] && return 0
  need curl "install curl (e.g. apt-get install curl) to fetch Apicurio Registry from Maven Central"
  need tar "install tar"
  mkdir -p "$HOME_DIR"
  exec 9>"$HOME_DIR/.lock"
  flock 9
  if [[ -f "$HOME_DIR/.complete" ]]; then
    flock -u 9
    return 0
  fi
  local url="$CENTRAL/$ARTIFACT" archive="$HOME_DIR/download.tar.gz" started=$SECONDS
  log "fetching Apicurio Registry $VERSION from $url"
  log "  into $HOME_DIR; about 105 MB on first use"
  local expected
  expected="$(curl -fsSL --retry 3 --connect-timeout 20 --max-time 60 "$url.sha1" 2>&1)" ||
    die "could not download $url.sha1 ($expected).
  Check network access to $CENTRAL (or set SPIKEMESH_MAVEN_CENTRAL to a mirror) and that version
  $VERSION exists."
  expected="${expected%% *}"
  rm -f "$archive"
  curl -fsSL --retry 3 --connect-timeout 20 --max-time 1800 -o "$archive" "$url" 2>"$HOME_DIR/curl.log" &
  local curl_pid=$! last=-1 mb
  # Progress every 10 MB while curl runs.
  while kill -0 "$curl_pid" 2>/dev/null; do
    mb=$(($(stat -c %s "$archive" 2>/dev/null || echo 0) / 1048576))
    if ((mb / 10 > last)); then
      last=$((mb / 10))
      log "  $mb MB"
    fi
    sleep 1
  done
  wait "$curl_pid" || die "could not download $url ($(head -c 300 "$HOME_DIR/curl.log")).
  Check network access to $CENTRAL (or set SPIKEMESH_MAVEN_CENTRAL to a mirror)."
  local actual
  actual="$(sha1sum "$archive")"
  actual="${actual%% *}"
  [[ "$actual" == "$expected" ]] || die "checksum mismatch for $url: sha1 $actual, Maven Central says $expected"
  rm -rf "$HOME_DIR/dist"
  mkdir -p "$HOME_DIR/dist"
  tar -xzf "$archive" -C "$HOME_DIR/dist" || die "could not unpack $archive"
  rm -f "$archive"
  [[ -f "$RUNNER" ]] || die "the archive has no $(basename "$RUNNER")"
  touch "$HOME_DIR/.complete"
  log "fetched and unpacked $(find "$HOME_DIR/dist/lib" -name '*.jar' | wc -l) jars in $((SECONDS - started)) s"
  flock -u 9
}

pid_file() { echo "$RUN_DIR/apicurio-$1.pid"; }

# Prints the pid of our registry on port $1 if it is alive, nothing otherwise.
running_pid() {
  local file
  file="$(pid_file "$1")"
  [[ -f "$file" ]] || return 0
  local pid
  pid="$(head -n 1 "$file")"
  # Check the command line too, so a recycled pid is never mistaken for the registry.
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null &&
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'apicurio-registry-app-.*-runner\.jar'; then
    echo "$pid"
  fi
}

start() {
  local port=18081 timeout_s=120 owner=""
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --port) port="$2"; shift 2 ;;
      --timeout) timeout_s="$2"; shift 2 ;;
      --owner-pid) owner="$2"; shift 2 ;;
      *) die "unknown option for start: $1" ;;
    esac
  done
  local existing
  existing="$(running_pid "$port")"
  if [[ -n "$existing" ]]; then
    log "already running on 127.0.0.1:$port (pid $existing)"
    base_url "$port"
    return 0
  fi
  fetch
  need java "install a Java 17+ runtime (e.g. apt-get install openjdk-17-jre-headless)"
  port_open "$port" && die "port $port on 127.0.0.1 is already in use; pick another with --port"
  mkdir -p "$RUN_DIR"
  local data started=$SECONDS
  data="$(mktemp -d "${TMPDIR:-/tmp}/spikemesh-apicurio-$port.XXXXXX")"
  (
    cd "$data"
    setsid nohup java "-Xmx$HEAP" -Xms64m -Xss512k -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
      -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
      -Dquarkus.http.host=127.0.0.1 "-Dquarkus.http.port=$port" \
      -Dquarkus.http.access-log.enabled=false -Dquarkus.log.level=WARN \
      -Dapicurio.ccompat.use-canonical-hash=true \
      -Dapicurio.rules.global.compatibility=BACKWARD -Dapicurio.rules.global.validity=FULL \
      -jar "$RUNNER" >>"$data/stdout.log" 2>&1 </dev/null &
    printf '%s\n%s\n%s\n' "$!" "$data" "$owner" >"$(pid_file "$port")"
  )
  local pid
  pid="$(head -n 1 "$(pid_file "$port")")"
  log "starting Apicurio Registry $VERSION (pid $pid, logs $data)"
  local url deadline=$((SECONDS + timeout_s))
  url="$(base_url "$port")"
  until curl -fs -o /dev/null --max-time 2 "$url/subjects"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 30 "$data/stdout.log" >&2 2>/dev/null || true
      rm -f "$(pid_file "$port")"
      die "the registry exited during start-up; log above (kept in $data)"
    fi
    if ((SECONDS >= deadline)); then
      tail -n 30 "$data/stdout.log" >&2 2>/dev/null || true
      stop --port "$port" >/dev/null 2>&1 || true
      die "the registry did not answer on $url within $timeout_s s"
    fi
    sleep 0.25
  done
  # The global rule above is enforced, but GET /config reads only stored rules and would say NONE;
  # storing the level through the ccompat API makes the two agree.
  curl -fs -o /dev/null --max-time 10 -X PUT -H 'Content-Type: application/vnd.schemaregistry.v1+json' \
    -d '{"compatibility":"BACKWARD"}' "$url/config" || {
    stop --port "$port" >/dev/null 2>&1 || true
    die "could not set the global compatibility level through $url/config"
  }
  if [[ -n "$owner" ]]; then
    # Stops the registry once the owner is gone; ends by itself when the registry stops first.
    setsid nohup bash -c 'while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 1; done
      kill -0 "$2" 2>/dev/null && exec "$3" stop --port "$4"' watchdog "$owner" "$pid" "$SELF" "$port" \
      >/dev/null 2>&1 </dev/null &
  fi
  log "Apicurio Registry $VERSION ready on 127.0.0.1:$port in $((SECONDS - started)) s"
  echo "$url"
}

stop() {
  local port=18081 timeout_s=30
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --port) port="$2"; shift 2 ;;
      --timeout) timeout_s="$2"; shift 2 ;;
      *) die "unknown option for stop: $1" ;;
    esac
  done
  local file pid data
  file="$(pid_file "$port")"
  if [[ ! -f "$file" ]]; then
    log "no registry recorded for port $port"
    return 0
  fi
  data="$(sed -n 2p "$file")"
  pid="$(running_pid "$port")"
  if [[ -n "$pid" ]]; then
    log "stopping registry on 127.0.0.1:$port (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + timeout_s))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
      log "registry did not stop within $timeout_s s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    fi
  fi
  # Only remove what start created.
  [[ "$data" == *"/spikemesh-apicurio-$port."* ]] && rm -rf "$data"
  rm -f "$file"
  log "stopped"
}

status() {
  local port=18081
  [[ "${1:-}" == "--port" ]] && port="$2"
  local pid
  pid="$(running_pid "$port")"
  if [[ -n "$pid" ]]; then
    echo "running on 127.0.0.1:$port (pid $pid): $(base_url "$port")"
  else
    echo "not running on 127.0.0.1:$port"
    return 1
  fi
}

cmd="${1:-}"
shift || true
case "$cmd" in
  start) start "$@" ;;
  stop) stop "$@" ;;
  status) status "$@" ;;
  fetch) fetch ;;
  *) die "usage: $0 start|stop|status [--port N] | fetch" ;;
esac
