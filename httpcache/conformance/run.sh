#!/bin/sh
# run.sh runs the http-tests/cache-tests suite against tiercache-proxy.
#
#   CACHE_TESTS_DIR  a checkout of https://github.com/http-tests/cache-tests
#                    (default: ~/.cache/tiercache/cache-tests, cloned if absent)
#   WITH_REDIS=1     start a redis-server of its own (on $REDIS_PORT, default
#                    6399, in a temporary directory) and run the proxy on it;
#                    otherwise the proxy runs local-only
#   PROXY_FLAGS      extra flags for tiercache-proxy
#   PROXY_BIN        a tiercache-proxy binary to test (default: built from this tree)
#
# It needs node (>= 18: the harness uses the global fetch). The suite's
# origin listens on 127.0.0.1:$ORIGIN_PORT, the proxy on $PROXY_PORT.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
dir=${CACHE_TESTS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tiercache/cache-tests}
ORIGIN_PORT=${ORIGIN_PORT:-8000}
PROXY_PORT=${PROXY_PORT:-8088}
if [ ! -f "$dir/tests/index.mjs" ]; then
	git clone --depth 1 https://github.com/http-tests/cache-tests "$dir"
fi
command -v node >/dev/null || { echo "run.sh: node is required (apt-get install nodejs)" >&2; exit 1; }
out=$(mktemp -d)
bin=${PROXY_BIN:-}
if [ -z "$bin" ]; then
	bin=$out/tiercache-proxy
	(cd "$root" && go build -o "$bin" ./cmd/tiercache-proxy)
fi
cleanup() {
	[ -n "${opid:-}" ] && kill "$opid" 2>/dev/null || true
	[ -n "${ppid_:-}" ] && kill "$ppid_" 2>/dev/null || true
	[ -n "${rpid:-}" ] && kill "$rpid" 2>/dev/null || true
}
trap cleanup EXIT INT TERM
(cd "$dir" && npm_config_port=$ORIGIN_PORT npm_config_protocol=http npm_config_pidfile=$out/origin.pid \
	exec node test-engine/server/server.mjs) >"$out/origin.log" 2>&1 &
opid=$!
redis=""
REDIS_URL=""
if [ "${WITH_REDIS:-}" = 1 ]; then
	REDIS_PORT=${REDIS_PORT:-6399}
	redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$out" >"$out/redis.log" 2>&1 &
	rpid=$!
	for _ in $(seq 1 100); do
		redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
		sleep 0.1
	done
	REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0
	redis="-redis $REDIS_URL"
fi
# shellcheck disable=SC2086
"$bin" -listen 127.0.0.1:$PROXY_PORT -upstream http://127.0.0.1:$ORIGIN_PORT $redis ${PROXY_FLAGS:-} >"$out/proxy.log" 2>&1 &
ppid_=$!
for _ in $(seq 1 100); do
	if node -e "fetch('http://127.0.0.1:$PROXY_PORT/config/ping').then(()=>process.exit(0),()=>process.exit(1))" 2>/dev/null; then break; fi
	sleep 0.1
done
(cd "$dir" && npm_config_base=http://127.0.0.1:$PROXY_PORT npm_config_id= npm_package_config_id= node --no-warnings test-engine/cli.mjs) >"$out/results.json"
echo "suite: ${CACHE_TESTS_COMMIT:-$(git -C "$dir" rev-parse HEAD 2>/dev/null || echo unknown)}, $(date -u +%Y-%m-%d), redis: ${REDIS_URL:-none}"
node "$root/httpcache/conformance/summarize.mjs" "$dir" "$out/results.json"
cp "$out/results.json" "${RESULTS_OUT:-$out/results.json}" 2>/dev/null || true
