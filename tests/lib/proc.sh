# shellcheck shell=bash
# Process and port helpers of the live-capture tests (test_live.sh,
# test_soak.sh, test_signals.sh).  Source this file.
#
#   kill_pid PID             SIGTERM, up to 2 s to exit, then SIGKILL; reaped.
#                            An empty PID or a gone process is no error.
#   free_port OFFSET PORT... the first PORT not listening on this host (and,
#                            when OFFSET > 0, PORT+OFFSET neither); prints
#                            nothing when every one is taken.

kill_pid() {
    local i
    [ -n "$1" ] || return 0
    kill -TERM "$1" 2>/dev/null || return 0
    for i in $(seq 1 20); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$1" 2>/dev/null
    wait "$1" 2>/dev/null
}

free_port() {
    local off=$1 p
    shift
    for p in "$@"; do
        ss -ltn "sport = :$p" | grep -q LISTEN && continue
        [ "$off" -gt 0 ] && ss -ltn "sport = :$((p + off))" | grep -q LISTEN && continue
        echo "$p"
        return 0
    done
}
