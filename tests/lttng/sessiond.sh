#!/bin/sh
# sessiond.sh start|stop PIDFILE - the `lttng_sessiond` CTest fixture.
#   start: if no session daemon answers `lttng list`, start `lttng-sessiond --daemonize`, wait
#          until it answers and write its pid to PIDFILE (left absent when one was running).
#   stop:  stop only the daemon whose pid is in PIDFILE (SIGTERM, then SIGKILL), remove PIDFILE.
set -u
action=${1:?usage: sessiond.sh start|stop PIDFILE}
pidfile=${2:?usage: sessiond.sh start|stop PIDFILE}

answers() { lttng --no-sessiond list >/dev/null 2>&1; }
alive() { [ -d "/proc/$1" ] && ! grep -q '^[^)]*) Z' "/proc/$1/stat" 2>/dev/null; }

case $action in
start)
	if ! command -v lttng >/dev/null || ! command -v lttng-sessiond >/dev/null; then
		echo "sessiond.sh: LTTng is not installed" >&2
		exit 1
	fi
	if answers; then
		echo "sessiond.sh: using the running session daemon"
		exit 0
	fi
	if [ "$(id -u)" = 0 ]; then
		daemon_pidfile=/var/run/lttng/lttng-sessiond.pid
	else
		daemon_pidfile=${LTTNG_HOME:-$HOME}/.lttng/lttng-sessiond.pid
	fi
	if ! lttng-sessiond --daemonize; then
		answers && exit 0 # another one started meanwhile
		echo "sessiond.sh: lttng-sessiond --daemonize failed" >&2
		exit 1
	fi
	pid=$(cat "$daemon_pidfile" 2>/dev/null)
	[ -n "$pid" ] && echo "$pid" >"$pidfile"
	i=0
	until answers; do
		i=$((i + 1))
		if [ $i -gt 150 ]; then
			echo "sessiond.sh: the session daemon does not answer" >&2
			exit 1
		fi
		sleep 0.1
	done
	echo "sessiond.sh: started lttng-sessiond (pid ${pid:-unknown})"
	;;
stop)
	[ -f "$pidfile" ] || exit 0
	pid=$(cat "$pidfile")
	rm -f "$pidfile"
	[ -n "$pid" ] || exit 0
	kill -TERM "$pid" 2>/dev/null || exit 0
	i=0
	while alive "$pid"; do
		i=$((i + 1))
		if [ $i -gt 100 ]; then
			kill -KILL "$pid" 2>/dev/null
			break
		fi
		sleep 0.1
	done
	echo "sessiond.sh: stopped lttng-sessiond (pid $pid)"
	;;
*)
	echo "usage: sessiond.sh start|stop PIDFILE" >&2
	exit 2
	;;
esac
