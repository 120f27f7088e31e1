#!/usr/bin/env bash
# Requests/s of one counter page (count = count + 1) in Apache httpd 2.4
# (mpm_event), measured with wrk in one run (a benchmark, not a test):
#
#   bash benches/apache/run.sh        (DURATION=8s THREADS=2 CONNECTIONS=32 SESSIONS=64)
#
# - libsess, demo page   /counter: the demo's whole HTML page (mod_sess's sess-demo)
# - libsess              /bench/libsess: mod_counter_bench.c through mod_sess's API
# - mod_session_cookie   /bench/cookie: the same handler through Apache's mod_session,
#                        the session in a cookie (no server-side state)
# (mod_session_dbd is not measured: it gives a session a new key, so a new cookie,
# on every change, which wrk's fixed cookies cannot follow; see BENCHMARKS.md.)
# first on one server with the in-process store (one child, 64 threads), then the
# libsess routes on one with sessions in Redis (127.0.0.1:6379; 3 children).
# Each route's requests spread over SESSIONS sessions made beforehand (wrk's Lua
# script sends their cookies in turn), so sessions are not one lock's queue.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
DURATION=${DURATION:-8s} THREADS=${THREADS:-2} CONNECTIONS=${CONNECTIONS:-32} SESSIONS=${SESSIONS:-64}
mods=$(apxs -q LIBEXECDIR)

make -s -C hosts/apache >&2
work=$(mktemp -d)
chmod 755 "$work"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    sleep 1
    redis-cli --scan --pattern "sess:apachebench:$$:*" | xargs -r redis-cli del >/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

make -s -C hosts/apache build/ext/mod_counter_bench.so >&2

cat > "$work/bench.conf" <<CONF
LoadModule session_module "$mods/mod_session.so"
LoadModule session_cookie_module "$mods/mod_session_cookie.so"
LoadModule counter_bench_module "$root/hosts/apache/build/ext/mod_counter_bench.so"
<Location /bench/libsess>
    SetHandler counter-libsess
</Location>
<Location /bench/cookie>
    SessionState Off
    Session On
    SessionCookieName session path=/bench/cookie
    SetHandler counter-mod-session
</Location>
CONF

cat > "$work/cookies.lua" <<'LUA'
local cookies, i = {}, 0
for line in io.lines(os.getenv("COOKIES")) do cookies[#cookies + 1] = line end
request = function()
  i = i + 1
  return wrk.format("GET", nil, { ["Cookie"] = cookies[(i % #cookies) + 1] })
end
LUA

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start NAME [env...]: Apache on a free port, its base URL in $base.
start() {
    local name=$1 port
    shift
    port=$(free_port)
    env "$@" EXTRA_CONF="$work/bench.conf" ERROR_LOG="$work/$name.log" \
        hosts/apache/conf.sh "$work/$name" "$port" "$root/hosts/apache/build/mod_sess.so"
    apache2 -f "$work/$name/httpd.conf" -DFOREGROUND &
    pids+=($!)
    base=http://127.0.0.1:$port
    for _ in $(seq 100); do curl -fs "$base/stats" >/dev/null && return; sleep 0.1; done
    echo "$name did not start:" >&2; cat "$work/$name.log" >&2; exit 1
}

# measure LABEL ROUTE: SESSIONS sessions first, then wrk; prints a table row.
measure() {
    local label=$1 route=$2 jar="$work/cookies.txt" out rps non2xx
    : > "$jar"
    for _ in $(seq "$SESSIONS"); do
        curl -fs -D - -o /dev/null "$base$route" | sed -n 's/^[Ss]et-[Cc]ookie: \([^;]*\).*/\1/p' | head -1 >> "$jar"
    done
    [ "$(grep -c . "$jar")" = "$SESSIONS" ] || { echo "$route: no cookies" >&2; exit 1; }
    # The route does the job: with a server-side store, the count goes on.
    local first second
    first=$(curl -fs -H "Cookie: $(head -1 "$jar")" "$base$route" | grep -o 'count=[0-9]*')
    second=$(curl -fs -H "Cookie: $(head -1 "$jar")" "$base$route" | grep -o 'count=[0-9]*')
    if [ "$route" != /bench/cookie ] && [ "${first#count=}" -ge "${second#count=}" ]; then
        echo "$route: $first then $second: not counting; the error log:" >&2
        tail -20 "$work"/*.log >&2
        exit 1
    fi
    out=$(COOKIES="$jar" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -s "$work/cookies.lua" "$base$route")
    rps=$(echo "$out" | sed -n 's/^Requests\/sec: *//p')
    non2xx=$(echo "$out" | sed -n 's/^ *Non-2xx or 3xx responses: *//p')
    printf '| %-34s | %-16s | %10s | %s |\n' "$label" "$route" "$rps" "${non2xx:-0}"
    echo "$label $rps" >> "$work/results"
}

echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $SESSIONS sessions per route, $(nproc) cores"
echo
echo "| server | route | requests/s | non-2xx |"
echo "|---|---|---:|---:|"
start inproc
measure "libsess in-process, 1 child" /bench/libsess
measure "libsess in-process, demo page" /counter
measure "mod_session_cookie, 1 child" /bench/cookie
kill "${pids[-1]}"; sleep 1
start redis SESS_STORE=redis://127.0.0.1:6379/0 SESS_KEY_PREFIX="sess:apachebench:$$:" CHILDREN=3
measure "libsess Redis, 3 children" /bench/libsess
measure "libsess Redis, demo page" /counter
echo
ratio() { awk -v a="$(grep "^$1" "$work/results" | awk '{print $NF}')" -v b="$(grep "^$2" "$work/results" | awk '{print $NF}')" 'BEGIN { printf "%.2f", a / b }'; }
echo "libsess in-process / mod_session_cookie: $(ratio 'libsess in-process, 1 child' 'mod_session_cookie')"
echo "libsess Redis / mod_session_cookie:      $(ratio 'libsess Redis, 3 children' 'mod_session_cookie')"
