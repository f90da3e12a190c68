# Helper servers of the test bed as background processes (sourced by graph-fake.sh and ldap-proxy.sh, which it
# gives $here: the directory of the sourcing script, tests/testbed).
#   proc_is PID PATTERN              PID runs a command line that contains PATTERN (guards against a recycled pid)
#   proc_stop DIR PATTERN            stops the process whose pid is in DIR/pid (SIGTERM; SIGKILL after 5 s) if it is
#                                    still the one (PATTERN), and removes DIR/pid
#   die MESSAGE                      prints "SCRIPT: MESSAGE" on standard error and exits 1
#   proc_wait_ready PID FILE LOG WHAT
#                                    waits until FILE is not empty while PID runs (READY_TIMEOUT_MS); when PID exits
#                                    first, prints LOG and fails; when the time runs out, stops PID and fails
# A helper server SCRIPT (graph_fake.py, ldap_proxy.py) started in a directory DIR with --ready-file DIR/ready:
#   server_stop DIR SCRIPT           stops the SCRIPT started in DIR (proc_stop)
#   server_dir DIR SCRIPT FILE...    creates DIR and sets $d to its absolute path; stops a SCRIPT still running there
#                                    and removes the FILEs (names in DIR) that its start left, DIR/ready among them
#   server_started LOG WHAT          right after starting the server in the background (&): writes its pid ($!) to
#                                    $d/pid and waits until it is ready (proc_wait_ready)
here=$(cd "$(dirname "$0")" && pwd)
READY_TIMEOUT_MS=20000

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

server_stop() { proc_stop "$1" "$2 .*--ready-file $1/ready"; }

server_dir() {
	mkdir -p "$1"
	d=$(cd "$1" && pwd)
	_script=$2
	shift 2
	[ -f "$d/pid" ] && server_stop "$d" "$_script"
	for _f in ready "$@"; do rm -f "$d/$_f"; done
}

server_started() {
	echo "$!" >"$d/pid"
	proc_wait_ready "$(cat "$d/pid")" "$d/ready" "$1" "$2"
}
