#!/usr/bin/env bash
# Run a real single-node Apache Kafka 4.x broker (KRaft, broker+controller in one JVM) on
# loopback without Docker, for CI and developers. Needs Java 17+ and Maven.
#
#   scripts/kafka.sh start    # prints KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:PORT as its last line
#   scripts/kafka.sh status   # exit 0 if running, 1 if not
#   scripts/kafka.sh stop     # stops the broker and deletes its data
#   scripts/kafka.sh restart  # stops the broker and starts it again on the same data (DOWN_S: seconds down)
#   scripts/kafka.sh topics --create --topic t --partitions 3   # TopicCommand against the broker
#
# Progress goes to stderr and only the KAFKA_BOOTSTRAP_SERVERS line to stdout, so CI can do
# `scripts/kafka.sh start >> "$GITHUB_ENV"`.
#
# Environment: KAFKA_HOME (jar cache, default ~/.cache/agnostream/kafka), KAFKA_DATA (data,
# pid and log, default /tmp/agnostream-kafka), KAFKA_PORT (default 29092; controller uses +1).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LIBS="${KAFKA_HOME:-$HOME/.cache/agnostream/kafka}/libs"
DATA="${KAFKA_DATA:-/tmp/agnostream-kafka}"
PID_FILE="$DATA/kafka.pid"
LOG_FILE="$DATA/kafka.log"
PROPS="$DATA/server.properties"
LOG4J="-Dlog4j2.configurationFile=$HERE/kafka/log4j2.properties"
# Short-lived tool JVMs (storage format, admin calls) start faster with C1 only and serial GC.
TOOL_OPTS=(-Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC "$LOG4J")

say() { echo "kafka.sh: $*" >&2; }

# The port of the running broker comes from its own server.properties, not from KAFKA_PORT,
# so status/stop/topics still work when called with a different environment.
port() { sed -n 's|^listeners=PLAINTEXT://127.0.0.1:\([0-9]*\),.*|\1|p' "$PROPS" 2>/dev/null; }

running() {
  local pid
  pid="$(cat "$PID_FILE" 2>/dev/null)" || return 1
  # Checking the command line guards against a stale pid file whose pid was reused.
  ps -p "$pid" -o args= 2>/dev/null | grep -q 'kafka\.Kafka'
}

# Download the broker's jars once (Maven's ~/.m2 cache makes later re-downloads cheap too).
# Keyed on the pom's Kafka version, so bumping it replaces stale jars instead of mixing them.
# Resolved into a temp dir and renamed so an interrupted download never looks complete.
resolve_jars() {
  local v
  v="$(sed -n 's|.*<kafka.version>\(.*\)</kafka.version>.*|\1|p' "$HERE/kafka/pom.xml")"
  [[ -f "$LIBS/kafka_2.13-$v.jar" ]] && return 0
  say "resolving Kafka $v jars into $LIBS"
  local t0=$SECONDS
  rm -rf "$LIBS" "$LIBS.tmp" && mkdir -p "$(dirname "$LIBS")"
  # Output is shown only on failure (Debian's mvn emits stray ANSI codes even with -q).
  local out
  out="$(mvn -B -q -f "$HERE/kafka/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$LIBS.tmp" 2>&1)" || { echo "$out" >&2; return 1; }
  mv "$LIBS.tmp" "$LIBS"
  say "jars resolved in $((SECONDS - t0)) s"
}

# Admin CLI from the same jars: no Python or Kafka distribution needed.
# ADMIN_TIMEOUT (seconds, 0 = none) bounds a call, since the admin client retries for a minute.
topics() {
  timeout "${ADMIN_TIMEOUT:-0}" java "${TOOL_OPTS[@]}" -cp "$LIBS/*" \
    org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$(port)" "$@"
}

start() {
  if running; then
    say "already running (pid $(cat "$PID_FILE"))"
    echo "KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$(port)"
    return 0
  fi
  local p="${KAFKA_PORT:-29092}"
  local cp=$((p + 1))
  # Fail clearly instead of "ready" against someone else's broker on the same port.
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    say "port $p is already in use by another process; set KAFKA_PORT"
    return 1
  fi
  resolve_jars
  rm -rf "$DATA" && mkdir -p "$DATA"   # every start is a fresh, empty cluster
  # Single node: every internal topic gets replication factor 1 / min ISR 1, few threads
  # (2-core machines), and no initial rebalance delay so consumer groups join immediately.
  cat >"$PROPS" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$cp
listeners=PLAINTEXT://127.0.0.1:$p,CONTROLLER://127.0.0.1:$cp
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DATA/logs
num.partitions=1
num.network.threads=2
num.io.threads=2
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
EOF
  local t0=$SECONDS
  # KRaft needs formatted storage (= kafka-storage.sh format); --standalone makes this node
  # the sole voter of a dynamic controller quorum.
  local id
  id="$(java "${TOOL_OPTS[@]}" -cp "$LIBS/*" kafka.tools.StorageTool random-uuid)"
  java "${TOOL_OPTS[@]}" -cp "$LIBS/*" kafka.tools.StorageTool \
    format --standalone -t "$id" -c "$PROPS" >"$DATA/format.log" 2>&1 \
    || { cat "$DATA/format.log" >&2; return 1; }
  launch "$p" "$t0"
}

# Start the broker's JVM on the formatted data in $DATA and wait until it serves (args: port, start time).
launch() {
  local p="$1" t0="$2"
  nohup java -Xms512m -Xmx1G -XX:+UseG1GC -Djava.awt.headless=true "$LOG4J" \
    -cp "$LIBS/*" kafka.Kafka "$PROPS" >>"$LOG_FILE" 2>&1 </dev/null &
  echo $! >"$PID_FILE"
  say "started pid $!, waiting for 127.0.0.1:$p (log: $LOG_FILE)"
  # Ready = an admin call succeeds, not merely an open port (the port opens before the
  # broker has caught up with the metadata log). Probe the port first: a JVM per try is slow.
  while ((SECONDS - t0 < 90)); do
    if ! running; then say "broker exited"; break; fi
    if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null \
      && ADMIN_TIMEOUT=20 topics --list >/dev/null 2>&1; then
      say "ready in $((SECONDS - t0)) s"
      echo "KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$p"
      return 0
    fi
    sleep 1
  done
  say "broker not ready after $((SECONDS - t0)) s; last 50 log lines:"
  tail -n 50 "$LOG_FILE" >&2 || true
  return 1
}

# SIGTERM the broker's JVM and wait for it to exit (KILL if it hangs); its data stays.
halt() {
  if running; then
    local pid i
    pid="$(cat "$PID_FILE")"
    kill -TERM "$pid"
    for ((i = 0; i < 15; i++)); do running || break; sleep 1; done
    if running; then say "no exit after 15 s, sending KILL"; kill -KILL "$pid"; fi
    for ((i = 0; i < 25; i++)); do running || break; sleep 0.2; done
    say "stopped pid $pid"
  else
    say "not running"
  fi
}

stop() {
  halt
  rm -rf "$DATA"
}

# Stop the broker, keep it down DOWN_S seconds (default 0), and start it again on the same data:
# topics, offsets and open transactions survive, as in a rolling restart or an outage.
restart() {
  running || { say "not running"; return 1; }
  local p
  p="$(port)"
  halt
  sleep "${DOWN_S:-0}"
  launch "$p" "$SECONDS"
}

status() {
  if running; then
    echo "running (pid $(cat "$PID_FILE"), 127.0.0.1:$(port))"
  else
    echo "not running"
    return 1
  fi
}

case "${1:-}" in
  start | stop | status | restart) "$1" ;;
  topics) shift; running || { say "not running"; exit 1; }; topics "$@" ;;
  *) echo "usage: $0 start|stop|status|restart|topics [TopicCommand args]" >&2; exit 2 ;;
esac
