#!/usr/bin/env bash
# Pipelined GET throughput: redis-benchmark against sessiond's Redis client,
# same connections (C) and pipeline depth (P), same keys (10000, 208-byte
# values), against a redis-server of its own on a free port. Prints both
# figures and the ratio (target: client/redis-benchmark >= 0.8).
#
#   C=50 P=16 DURATION=10 THREADS=1 BUILD_DIR=build-redis bench/redis-client.sh
set -euo pipefail

C=${C:-50}
P=${P:-16}
DURATION=${DURATION:-10}
THREADS=${THREADS:-1}
KEYS=10000
VALUE_SIZE=208
root=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-build-redis}
bench_bin=$root/$BUILD_DIR/bench/redis_get_bench
[[ -x $bench_bin ]] || { echo "build it first: cmake --build $BUILD_DIR --target redis_get_bench" >&2; exit 2; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
tmp=$(mktemp -d)
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp" \
    --logfile "$tmp/redis.log" &
redis_pid=$!
cleanup() { kill "$redis_pid" 2>/dev/null || true; wait "$redis_pid" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
for _ in $(seq 100); do
    redis-cli -p "$port" ping >/dev/null 2>&1 && break
    sleep 0.05
done

# Seed the keys redis-benchmark -r $KEYS uses (key:%012d) with 208-byte values.
"$bench_bin" --port "$port" -c 1 -P 1 --duration 0.1 --warmup 0 --seed --keys "$KEYS" \
    --value-size "$VALUE_SIZE" >/dev/null
[[ $(redis-cli -p "$port" dbsize) == "$KEYS" ]] || { echo "seeding failed" >&2; exit 1; }

# redis-benchmark counts requests, not time: size -n from a short calibration run.
rb() { redis-benchmark -p "$port" -t get -c "$C" -P "$P" -r "$KEYS" -d "$VALUE_SIZE" --threads "$THREADS" --csv -n "$1" \
         | awk -F'"' '/^"GET"/ {print $4}'; }
calib=$(rb 200000)
n=$(python3 -c "print(max(200000, int(float('$calib') * $DURATION)))")
echo "redis-benchmark -p $port -t get -c $C -P $P -r $KEYS -d $VALUE_SIZE --threads $THREADS -n $n"
rb_ops=$(rb "$n")
echo "  ops/s: $rb_ops"

echo "redis_get_bench --port $port -c $C -P $P --duration $DURATION --keys $KEYS --value-size $VALUE_SIZE --threads $THREADS"
client_out=$("$bench_bin" --port "$port" -c "$C" -P "$P" --duration "$DURATION" --keys "$KEYS" \
             --value-size "$VALUE_SIZE" --threads "$THREADS")
echo "$client_out" | sed 's/^/  /'
client_ops=$(echo "$client_out" | awk '/^ops\/s:/ {print $2}')

python3 -c "print(f'ratio client/redis-benchmark: {float($client_ops) / float($rb_ops):.2f} (target >= 0.8)')"
