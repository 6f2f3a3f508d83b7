#!/usr/bin/env bash
# Local single-node Apache Kafka (KRaft, combined broker + controller) for development and tests.
#
#   scripts/kafka.sh start [--port 19092] [--controller-port PORT+1] [--timeout 120] [--owner-pid PID]
#                          [--sasl-port PORT --scram-user NAME:PASSWORD ...]
#   scripts/kafka.sh stop  [--port 19092] [--timeout 30]
#   scripts/kafka.sh restart [--port 19092] [--timeout 120] [--kill]
#   scripts/kafka.sh status [--port 19092]
#   scripts/kafka.sh fetch
#
# The broker jars come from Maven Central (org.apache.kafka:kafka_2.13 and its runtime
# dependencies, resolved by scripts/kafka/pom.xml) into a cache directory; later starts need no
# network. Data lives in a fresh temp dir that `stop` removes; `restart` keeps it (SIGTERM, or
# SIGKILL with --kill, then the same broker again on the same ports and data). One broker per
# port; the pid file is <run dir>/kafka-<port>.pid. With --owner-pid, a watchdog stops the broker
# when that process exits (test runs use it so an interrupted run leaves no broker behind). Java
# 17+ and Maven 3 must be installed.
#
# --sasl-port adds a SASL_PLAINTEXT listener (SCRAM-SHA-256 and SCRAM-SHA-512) beside the
# PLAINTEXT one, which the broker keeps for itself. Each --scram-user NAME:PASSWORD is created at
# format time (StorageTool --add-scram) for both mechanisms; names and passwords may not contain
# ',', '[', ']' or '='.
#
# Environment (all optional):
#   SPIKEMESH_KAFKA_VERSION  broker version (default 3.9.2; 4.x works too, e.g. 4.1.2)
#   SPIKEMESH_CACHE_DIR      cache root (default ${XDG_CACHE_HOME:-~/.cache}/spikemesh)
#   SPIKEMESH_MAVEN_REPO     Maven local repository (default <cache root>/m2, so a fresh machine
#                            needs nothing in ~/.m2)
#   SPIKEMESH_KAFKA_RUN_DIR  where pid files live (default <cache root>/run)
#   SPIKEMESH_KAFKA_HEAP     JVM max heap (default 384m)
#   SPIKEMESH_KAFKA_PROPS    file with extra server.properties lines appended to the generated ones
set -euo pipefail

KAFKA_VERSION="${SPIKEMESH_KAFKA_VERSION:-3.9.2}"
CACHE_ROOT="${SPIKEMESH_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/spikemesh}"
MAVEN_REPO="${SPIKEMESH_MAVEN_REPO:-$CACHE_ROOT/m2}"
RUN_DIR="${SPIKEMESH_KAFKA_RUN_DIR:-$CACHE_ROOT/run}"
HEAP="${SPIKEMESH_KAFKA_HEAP:-384m}"
KAFKA_HOME="$CACHE_ROOT/kafka-$KAFKA_VERSION"
LIBS="$KAFKA_HOME/libs"
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SELF="$SCRIPT_DIR/$(basename "${BASH_SOURCE[0]}")"
# 4.x brokers log through Log4j 2 and need other logging jars than 3.x (see the two poms).
MAJOR="${KAFKA_VERSION%%.*}"
if ((MAJOR >= 4)); then POM="$SCRIPT_DIR/kafka/pom-4.xml"; else POM="$SCRIPT_DIR/kafka/pom.xml"; fi

log() { echo "[kafka] $*" >&2; }
die() {
  echo "[kafka] error: $*" >&2
  exit 1
}

need() {
  command -v "$1" >/dev/null 2>&1 || die "$1 not found on PATH: $2"
}

# Succeeds when something accepts TCP connections on 127.0.0.1:$1.
port_open() {
  timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# Resolves the broker jars once; concurrent callers wait on a lock instead of racing Maven.
fetch() {
  [[ -f "$LIBS/.complete" ]] && return 0
  need java "install a Java 17+ runtime (e.g. apt-get install openjdk-17-jre-headless)"
  need mvn "install Maven 3 (e.g. apt-get install maven) to fetch the broker from Maven Central"
  mkdir -p "$KAFKA_HOME"
  exec 9>"$KAFKA_HOME/.lock"
  flock 9
  if [[ -f "$LIBS/.complete" ]]; then
    flock -u 9
    return 0
  fi
  log "fetching Apache Kafka $KAFKA_VERSION (kafka_2.13 + runtime dependencies) from Maven Central"
  log "  into $LIBS (Maven repository $MAVEN_REPO); about 50 MB on first use"
  rm -rf "$LIBS"
  local started=$SECONDS out="$KAFKA_HOME/maven.log" status=0
  # Maven prints one line per transfer; show the jars with a running count so progress is visible.
  set +e
  mvn -B -f "$POM" -Dmaven.repo.local="$MAVEN_REPO" -Dkafka.version="$KAFKA_VERSION" \
    -Dkafka.libs="$LIBS" dependency:copy-dependencies 2>&1 |
    tee "$out" |
    awk '
      /Downloaded from .*\.pom / { if (++poms % 50 == 0) { printf "[kafka]   resolved %d poms\n", poms; fflush() } }
      /Downloaded from .*\.jar / {
        n++; line = $0; sub(/.*Downloaded from [^:]*: /, "", line)
        file = line; sub(/ .*/, "", file); sub(/.*\//, "", file)
        size = line; sub(/^[^(]*\(/, "", size); sub(/ at .*/, "", size)
        printf "[kafka]   %3d %s (%s)\n", n, file, size; fflush()
      }' >&2
  status=${PIPESTATUS[0]}
  set -e
  if [[ $status -ne 0 ]]; then
    grep -E '^\[ERROR\] .' "$out" | head -n 1 >&2 || true
    die "could not download Apache Kafka $KAFKA_VERSION from Maven Central (mvn exit $status).
  Check network access to https://repo.maven.apache.org (or a mirror/proxy in ~/.m2/settings.xml)
  and that version $KAFKA_VERSION exists. Full Maven output: $out"
  fi
  [[ -f "$LIBS/kafka_2.13-$KAFKA_VERSION.jar" ]] || die "Maven finished but $LIBS has no kafka_2.13-$KAFKA_VERSION.jar; see $out"
  touch "$LIBS/.complete"
  log "fetched $(find "$LIBS" -name '*.jar' | wc -l) jars in $((SECONDS - started)) s"
  flock -u 9
}

pid_file() { echo "$RUN_DIR/kafka-$1.pid"; }

# Prints the pid of our broker on port $1 if it is alive, nothing otherwise.
running_pid() {
  local file
  file="$(pid_file "$1")"
  [[ -f "$file" ]] || return 0
  local pid
  pid="$(head -n 1 "$file")"
  # Check the command line too, so a recycled pid is never mistaken for the broker.
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'kafka\.Kafka'; then
    echo "$pid"
  fi
}

write_config() {
  local data="$1" port="$2" cport="$3" sasl_port="$4"
  cat >"$data/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$data/log
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
log.cleaner.threads=1
log.cleaner.dedupe.buffer.size=8388608
EOF
  if [[ -n "$sasl_port" ]]; then
    # Later lines win in a properties file.
    cat >>"$data/server.properties" <<EOF
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport,SASL_PLAINTEXT://127.0.0.1:$sasl_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port,SASL_PLAINTEXT://127.0.0.1:$sasl_port
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT
sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512
listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
EOF
  fi
  if [[ -n "${SPIKEMESH_KAFKA_PROPS:-}" ]]; then
    [[ -f "$SPIKEMESH_KAFKA_PROPS" ]] || die "SPIKEMESH_KAFKA_PROPS=$SPIKEMESH_KAFKA_PROPS is not a file"
    cat "$SPIKEMESH_KAFKA_PROPS" >>"$data/server.properties"
  fi
  if ((MAJOR >= 4)); then
    cat >"$data/log4j2.properties" <<'EOF'
appender.file.type=RollingFile
appender.file.name=file
appender.file.fileName=${sys:kafka.logs.dir}/server.log
appender.file.filePattern=${sys:kafka.logs.dir}/server.log.%i
appender.file.layout.type=PatternLayout
appender.file.layout.pattern=[%d] %p %m (%c)%n
appender.file.policies.type=Policies
appender.file.policies.size.type=SizeBasedTriggeringPolicy
appender.file.policies.size.size=20MB
appender.file.strategy.type=DefaultRolloverStrategy
appender.file.strategy.max=2
rootLogger.level=INFO
rootLogger.appenderRef.file.ref=file
logger.request.name=kafka.request.logger
logger.request.level=WARN
logger.state.name=state.change.logger
logger.state.level=WARN
EOF
    return 0
  fi
  cat >"$data/log4j.properties" <<'EOF'
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File=${kafka.logs.dir}/server.log
log4j.appender.file.MaxFileSize=20MB
log4j.appender.file.MaxBackupIndex=2
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.log.LogCleaner=INFO
EOF
}

start() {
  local port=19092 cport="" timeout_s=120 owner="" sasl_port="" scram=()
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --port) port="$2"; shift 2 ;;
      --controller-port) cport="$2"; shift 2 ;;
      --timeout) timeout_s="$2"; shift 2 ;;
      --owner-pid) owner="$2"; shift 2 ;;
      --sasl-port) sasl_port="$2"; shift 2 ;;
      --scram-user)
        [[ "$2" =~ ^([^]:,=[]+):([^],=[]+)$ ]] || die "--scram-user takes NAME:PASSWORD without ',', '[', ']' or '='"
        for mechanism in SCRAM-SHA-256 SCRAM-SHA-512; do
          scram+=(--add-scram "$mechanism=[name=${BASH_REMATCH[1]},password=${BASH_REMATCH[2]}]")
        done
        shift 2
        ;;
      *) die "unknown option for start: $1" ;;
    esac
  done
  cport="${cport:-$((port + 1))}"
  [[ ${#scram[@]} -eq 0 || -n "$sasl_port" ]] || die "--scram-user needs --sasl-port (the listener that uses it)"
  local existing
  existing="$(running_pid "$port")"
  if [[ -n "$existing" ]]; then
    log "already running on 127.0.0.1:$port (pid $existing)"
    echo "127.0.0.1:$port"
    return 0
  fi
  fetch
  need java "install a Java 17+ runtime"
  for p in "$port" "$cport" $sasl_port; do
    port_open "$p" && die "port $p on 127.0.0.1 is already in use; pick another with --port / --controller-port"
  done
  mkdir -p "$RUN_DIR"
  local data
  data="$(mktemp -d "${TMPDIR:-/tmp}/spikemesh-kafka-$port.XXXXXX")"
  write_config "$data" "$port" "$cport" "$sasl_port"
  local started=$SECONDS
  jvm_command "$data"
  # A cluster id is 16 random bytes in URL-safe base64 without padding (what `random-uuid` prints).
  # Like Kafka's Uuid.randomUuid, draw again when it starts with '-': StorageTool would take it for
  # an option ("argument --cluster-id/-t: expected one argument") and the start would fail.
  local cluster_id="-"
  while [[ "$cluster_id" == -* ]]; do
    cluster_id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
  done
  if ! "${JVM[@]}" kafka.tools.StorageTool format -t "$cluster_id" -c "$data/server.properties" \
    ${scram[@]+"${scram[@]}"} >"$data/format.log" 2>&1; then
    cat "$data/format.log" >&2
    rm -rf "$data"
    die "formatting KRaft storage failed (kafka.tools.StorageTool format)"
  fi
  launch "$data" "$port" "$sasl_port" "$timeout_s" "$owner"
  log "Kafka $KAFKA_VERSION ready on 127.0.0.1:$port in $((SECONDS - started)) s (controller port $cport${sasl_port:+, SASL/SCRAM port $sasl_port})"
  echo "127.0.0.1:$port"
}

# JVM command line of a broker whose config and logs are in $1, into the global array JVM.
jvm_command() {
  local data="$1"
  JVM=(java "-Xmx$HEAP" -Xms64m -Xss512k -XX:+UseSerialGC -XX:+ExitOnOutOfMemoryError
    -Djava.awt.headless=true "-Dkafka.logs.dir=$data/logs" "-Dlog4j.configuration=file:$data/log4j.properties"
    "-Dlog4j2.configurationFile=$data/log4j2.properties"
    -cp "$LIBS/*")
}

# Runs the broker of data dir $1 (formatted) on port $2 and waits until it serves; records its pid,
# data dir and owner; with an owner pid ($5), a watchdog stops the broker once the owner is gone.
launch() {
  local data="$1" port="$2" sasl_port="$3" timeout_s="$4" owner="$5"
  jvm_command "$data"
  # A restart appends to the same server.log: wait for one more "started" line than it has now.
  local before
  before="$(grep -cs 'Kafka Server started' "$data/logs/server.log" || true)"
  setsid nohup "${JVM[@]}" kafka.Kafka "$data/server.properties" >>"$data/stdout.log" 2>&1 </dev/null &
  local pid=$!
  printf '%s\n%s\n%s\n' "$pid" "$data" "$owner" >"$(pid_file "$port")"
  log "starting broker (pid $pid, data $data)"
  local deadline=$((SECONDS + timeout_s))
  until (($(grep -cs 'Kafka Server started' "$data/logs/server.log" || true) > ${before:-0})) && port_open "$port" &&
    { [[ -z "$sasl_port" ]] || port_open "$sasl_port"; }; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 30 "$data/stdout.log" "$data/logs/server.log" >&2 2>/dev/null || true
      rm -f "$(pid_file "$port")"
      die "the broker exited during start-up; logs above (kept in $data)"
    fi
    if ((SECONDS >= deadline)); then
      tail -n 30 "$data/logs/server.log" >&2 2>/dev/null || true
      stop --port "$port" >/dev/null 2>&1 || true
      die "the broker did not accept connections on 127.0.0.1:$port within $timeout_s s"
    fi
    sleep 0.25
  done
  if [[ -n "$owner" ]]; then
    # Stops the broker once the owner is gone; ends by itself when the broker stops first.
    setsid nohup bash -c 'while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 1; done
      kill -0 "$2" 2>/dev/null && exec "$3" stop --port "$4"' watchdog "$owner" "$pid" "$SELF" "$port" \
      >/dev/null 2>&1 </dev/null &
  fi
}

# Stops the broker on a port (SIGTERM, or SIGKILL with --kill: a crash) and starts it again on the
# same data dir and ports, keeping its topics, offsets and transactions; the owner's watchdog too.
restart() {
  local port=19092 timeout_s=120 signal=TERM
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --port) port="$2"; shift 2 ;;
      --timeout) timeout_s="$2"; shift 2 ;;
      --kill) signal=KILL; shift ;;
      *) die "unknown option for restart: $1" ;;
    esac
  done
  local file pid data owner sasl_port
  file="$(pid_file "$port")"
  [[ -f "$file" ]] || die "no broker recorded for port $port (start one first)"
  data="$(sed -n 2p "$file")"
  owner="$(sed -n 3p "$file")"
  sasl_port="$(sed -n 's|^listeners=.*SASL_PLAINTEXT://127.0.0.1:\([0-9]*\).*|\1|p' "$data/server.properties" | tail -n 1)"
  pid="$(running_pid "$port")"
  if [[ -n "$pid" ]]; then
    log "stopping broker on 127.0.0.1:$port (pid $pid, SIG$signal), keeping $data"
    kill "-$signal" "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + timeout_s))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && die "broker pid $pid did not stop within $timeout_s s"
  fi
  local started=$SECONDS
  launch "$data" "$port" "$sasl_port" "$timeout_s" "$owner"
  log "Kafka $KAFKA_VERSION restarted on 127.0.0.1:$port in $((SECONDS - started)) s"
  echo "127.0.0.1:$port"
}

stop() {
  local port=19092 timeout_s=30
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
    log "no broker recorded for port $port"
    return 0
  fi
  data="$(sed -n 2p "$file")"
  pid="$(running_pid "$port")"
  if [[ -n "$pid" ]]; then
    log "stopping broker on 127.0.0.1:$port (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + timeout_s))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
      log "broker did not stop within $timeout_s s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    fi
  fi
  # Only remove what start created.
  [[ "$data" == *"/spikemesh-kafka-$port."* ]] && rm -rf "$data"
  rm -f "$file"
  log "stopped"
}

status() {
  local port=19092
  [[ "${1:-}" == "--port" ]] && port="$2"
  local pid
  pid="$(running_pid "$port")"
  if [[ -n "$pid" ]]; then
    echo "running on 127.0.0.1:$port (pid $pid)"
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
  restart) restart "$@" ;;
  status) status "$@" ;;
  fetch) fetch ;;
  *) die "usage: $0 start|stop|restart|status [--port N] | fetch" ;;
esac
