#!/bin/sh
# Makes sure redis-server is on PATH: installs it with apt-get when missing and
# running as root, else stops with a message naming what to install.
set -eu
if [ -n "${REDIS_SERVER:-}" ] && [ -x "$REDIS_SERVER" ]; then exit 0; fi
if command -v redis-server >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "redis-server is missing: installing it with apt-get" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends redis-server >/dev/null
	# The package starts a system service on 6379; tests never use it.
	(service redis-server stop || systemctl stop redis-server || true) >/dev/null 2>&1
	command -v redis-server >/dev/null 2>&1 && exit 0
fi
echo "make test needs redis-server (Redis 7): install it (Debian/Ubuntu: 'sudo apt-get install redis-server', macOS: 'brew install redis'), or set REDIS_SERVER to its path" >&2
exit 1
