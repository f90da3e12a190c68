# Helper servers of the test bed as background processes (sourced by graph-fake.sh and ldap-proxy.sh).
#   proc_is PID PATTERN              PID runs a command line that contains PATTERN (guards against a recycled pid)
#   proc_stop DIR PATTERN            stops the process whose pid is in DIR/pid (SIGTERM; SIGKILL after 5 s) if it is
#                                    still the one (PATTERN), and removes DIR/pid
#   die MESSAGE                      prints "SCRIPT: MESSAGE" on standard error and exits 1
#   proc_wait_ready PID FILE LOG WHAT
#                                    waits until FILE is not empty while PID runs (READY_TIMEOUT_MS); when PID exits
#                                    first, prints LOG and fails; when the time runs out, stops PID and fails
die() {
	echo "${0##*/}: $*" >&2
	exit 1
}

proc_is() {
	[ -r "/proc/$1/cmdline" ] || return 1
	tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q -- "$2"
}

proc_stop() {
	[ -f "$1/pid" ] || return 0
	_pid=$(cat "$1/pid")
	if proc_is "$_pid" "$2"; then
		kill -TERM "$_pid" 2>/dev/null || true
		_i=0
		while proc_is "$_pid" "$2"; do
			_i=$((_i + 1))
			[ $_i -eq 100 ] && kill -KILL "$_pid" 2>/dev/null
			[ $_i -gt 200 ] && die "pid $_pid does not stop"
			sleep 0.05
		done
	fi
	rm -f "$1/pid"
}

proc_wait_ready() {
	_waited=0
	while [ ! -s "$2" ]; do
		if ! kill -0 "$1" 2>/dev/null; then
			cat "$3" >&2
			die "$4 exited during start-up"
		fi
		_waited=$((_waited + 50))
		if [ $_waited -ge "$READY_TIMEOUT_MS" ]; then
			kill -TERM "$1" 2>/dev/null
			die "$4 is not ready after $((READY_TIMEOUT_MS / 1000)) s"
		fi
		sleep 0.05
	done
}
