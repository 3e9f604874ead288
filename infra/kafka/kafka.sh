#!/usr/bin/env bash
# A real Apache Kafka broker on this machine without Docker: single node, KRaft (broker and controller in
# one JVM), listening on 127.0.0.1:9092. Used by .ci/run and by developers.
#
#   infra/kafka/kafka.sh start    fetch (first run only), format storage (first run only), start, wait until
#                                 it accepts connections, print KAFKA_BROKERS=127.0.0.1:9092. Already running → ok.
#   infra/kafka/kafka.sh stop     stop the broker this script started (TERM, then KILL after a bound)
#   infra/kafka/kafka.sh status   print KAFKA_BROKERS=… and exit 0 when it runs, else exit 3
#   infra/kafka/kafka.sh clean    stop, then forget the data (topics, offsets); the fetched jars stay
#
# The broker is the Maven artifact org.apache.kafka:kafka_2.13 and its runtime dependencies, copied by
# `mvn dependency:copy-dependencies` from pom.xml beside this script into .broker/lib (gitignored). The
# copy is redone only when pom.xml changes, so every run after the first starts from the cache.
#
# Environment (all optional): KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (9093), KAFKA_BROKER_DIR
# (infra/kafka/.broker), KAFKA_HEAP_OPTS (-Xms256m -Xmx1g), KAFKA_FETCH_TIMEOUT (seconds, 600),
# KAFKA_START_TIMEOUT (seconds, 90), KAFKA_NUM_PARTITIONS (3: auto-created topics).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dir="${KAFKA_BROKER_DIR:-$here/.broker}"
host=127.0.0.1
port="${KAFKA_PORT:-9092}"
controller_port="${KAFKA_CONTROLLER_PORT:-9093}"
lib="$dir/lib"
data="$dir/data"
logs="$dir/logs"
config="$dir/server.properties"
pidfile="$dir/kafka.pid"
brokers="$host:$port"

say() { echo "kafka.sh: $*" >&2; }
die() { say "$*"; exit 1; }

accepts() { (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; }

# The pid of the broker this script started, if it is still that broker (a recycled pid is not ours).
running_pid() {
  [[ -f "$pidfile" ]] || return 1
  local pid
  pid="$(cat "$pidfile")"
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && grep -qa 'kafka\.Kafka' "/proc/$pid/cmdline" 2>/dev/null || return 1
  echo "$pid"
}

fetch() {
  local stamp
  stamp="$(sha256sum "$here/pom.xml" | cut -d' ' -f1)"
  if [[ -f "$lib/.stamp" && "$(cat "$lib/.stamp")" == "$stamp" ]]; then return 0; fi
  command -v mvn >/dev/null || die "mvn is needed to fetch the broker (apt-get install maven)"
  command -v java >/dev/null || die "java 17+ is needed to run the broker (apt-get install openjdk-17-jre-headless)"
  mkdir -p "$dir" "$logs"
  say "fetching Apache Kafka from Maven Central into $lib (first run only) …"
  local started=$SECONDS
  rm -rf "$lib.tmp"
  # Bounded: a registry that hangs must not hang CI. Maven's own cache (~/.m2) makes a re-fetch fast.
  if ! timeout "${KAFKA_FETCH_TIMEOUT:-600}" mvn -B -q -f "$here/pom.xml" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$lib.tmp" >"$logs/fetch.log" 2>&1; then
    tail -n 30 "$logs/fetch.log" >&2
    die "fetching the broker failed or timed out (log: $logs/fetch.log)"
  fi
  rm -rf "$lib"
  mv "$lib.tmp" "$lib"
  echo "$stamp" >"$lib/.stamp"
  say "fetched $(ls "$lib" | grep -c '\.jar$') jars in $((SECONDS - started)) s"
}

write_config() {
  mkdir -p "$data" "$logs"
  cat >"$config" <<PROPERTIES
# Written by kafka.sh at every start; edit the script, not this file.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$host:$controller_port
listeners=PLAINTEXT://$host:$port,CONTROLLER://$host:$controller_port
advertised.listeners=PLAINTEXT://$host:$port
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$data
# One node: every internal topic has one replica.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
auto.create.topics.enable=true
num.partitions=${KAFKA_NUM_PARTITIONS:-3}
# Tests join consumer groups often: do not wait 3 s for more members before the first rebalance.
group.initial.rebalance.delay.ms=0
log.retention.hours=168
PROPERTIES
}

# The JVM options of every java call (the broker and the storage tool).
jvm_options() {
  # shellcheck disable=SC2206 # KAFKA_HEAP_OPTS is a list of JVM options
  jvm=(${KAFKA_HEAP_OPTS:--Xms256m -Xmx1g} -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true
    "-Dlog4j2.configurationFile=$here/log4j2.properties" "-Dkafka.logs.dir=$logs" -cp "$lib/*")
}

format_storage() {
  [[ -f "$data/meta.properties" ]] && return 0
  # A cluster id is a base64url UUID (22 characters); Kafka avoids ones that start with '-'.
  local id
  id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
  while [[ "$id" == -* ]]; do id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"; done
  jvm_options
  java "${jvm[@]}" kafka.tools.StorageTool format -t "$id" -c "$config" --ignore-formatted >"$logs/format.log" 2>&1 \
    || { cat "$logs/format.log" >&2; die "formatting the storage failed"; }
}

start() {
  local pid
  if pid="$(running_pid)"; then
    wait_ready "$pid"
    echo "KAFKA_BROKERS=$brokers"
    return 0
  fi
  if accepts; then
    say "something already listens on $brokers (a broker started elsewhere?); using it"
    echo "KAFKA_BROKERS=$brokers"
    return 0
  fi
  fetch
  write_config
  format_storage
  local started=$SECONDS
  # setsid: the broker outlives this shell and its process group; stop() ends it by its pid.
  jvm_options
  : >"$logs/server.log" # wait_ready looks for this start's "started" line, not an earlier one's
  setsid java "${jvm[@]}" kafka.Kafka "$config" >"$logs/stdout.log" 2>&1 </dev/null &
  echo $! >"$pidfile"
  wait_ready "$!"
  say "broker started in $((SECONDS - started)) s (logs: $logs)"
  echo "KAFKA_BROKERS=$brokers"
}

wait_ready() {
  local pid=$1 deadline=$((SECONDS + ${KAFKA_START_TIMEOUT:-90}))
  until accepts && grep -qs 'Kafka Server started' "$logs/server.log"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 40 "$logs/stdout.log" "$logs/server.log" >&2 2>/dev/null || true
      rm -f "$pidfile"
      die "the broker exited during start-up (logs: $logs)"
    fi
    ((SECONDS < deadline)) || die "the broker did not accept connections on $brokers within ${KAFKA_START_TIMEOUT:-90} s (logs: $logs)"
    sleep 0.2
  done
}

stop() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$pidfile"
    say "not running"
    return 0
  fi
  kill -TERM "$pid"
  local deadline=$((SECONDS + 30))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    say "the broker did not stop within 30 s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
  say "stopped"
}

status() {
  if running_pid >/dev/null && accepts; then
    echo "KAFKA_BROKERS=$brokers"
  else
    say "not running"
    exit 3
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  clean) stop; rm -rf "$data" "$config" ;;
  *) echo "usage: $0 start|stop|status|clean" >&2; exit 2 ;;
esac
