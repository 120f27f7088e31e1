#!/usr/bin/env bash
# Requests/s and p99 latency of one counter page (count = count + 1) in Apache
# httpd 2.4 (mpm_event) and in the demo web server, measured with wrk in one
# run (a benchmark, not a test):
#
#   bash benches/apache/run.sh   (DURATION=8s THREADS=2 CONNECTIONS=64 SESSIONS=64 ROUNDS=3)
#
# - libsess, demo page   /counter: the demo's whole HTML page (mod_sess's sess-demo)
# - libsess              /bench/libsess: mod_counter_bench.c through mod_sess's API
#                        (in-process, Redis and LMDB stores)
# - mod_session_cookie   /bench/cookie: the same handler through Apache's mod_session,
#                        the session in a cookie (no server-side state)
# - demo server          /counter: the same page from examples-c/server_demo.c (a
#                        thread per keep-alive connection, the in-process store),
#                        built -O2 with its connection caps raised to fit
#                        CONNECTIONS (wrk's connections all come from 127.0.0.1)
# (mod_session_dbd is not measured: it gives a session a new key, so a new cookie,
# on every change, which wrk's fixed cookies cannot follow; see BENCHMARKS.md.)
# Four servers run side by side on free ports: Apache with the in-process store
# (one child, 64 threads), Apache with sessions in Redis (127.0.0.1:6379;
# 3 children; the libsess routes), Apache with sessions in an LMDB directory
# (3 children; the libsess routes) and the demo server (in-process store).
# Each contender's requests spread over SESSIONS sessions made beforehand (wrk's
# Lua script sends their cookies in turn), so sessions are not one lock's queue.
# ROUNDS rounds run every contender once (wrk --latency, keep-alive), in an order
# rotated from round to round; the table gives medians over the rounds, the
# ratios are medians of the per-round ratios.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
DURATION=${DURATION:-8s} THREADS=${THREADS:-2} CONNECTIONS=${CONNECTIONS:-64}
SESSIONS=${SESSIONS:-64} ROUNDS=${ROUNDS:-3}
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
# The demo server against the same release libsess.a (the make above built it).
cap=$((CONNECTIONS + 8 > 128 ? CONNECTIONS + 8 : 128))
${CC:-cc} -std=c99 -O2 -Wall -Wextra -Werror -pedantic -DMAX_CONNECTIONS=$cap -DMAX_PER_CLIENT=$cap \
    -Iinclude -o "$work/server_demo" examples-c/server_demo.c target/release/libsess.a -lpthread -ldl -lm

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

# up NAME BASE: waits until the server at BASE answers.
up() {
    for _ in $(seq 100); do curl -fs "$2/stats" >/dev/null && return; sleep 0.1; done
    echo "$1 did not start:" >&2; cat "$work/$1.log" >&2; exit 1
}

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
    up "$name" "$base"
}

# start_demo: the demo server on a free port, its base URL in $base.
start_demo() {
    local port
    port=$(free_port)
    PORT=$port "$work/server_demo" > "$work/demo.log" 2>&1 &
    pids+=($!)
    base=http://127.0.0.1:$port
    up demo "$base"
}

labels=() urls=()
# contender LABEL ROUTE: SESSIONS sessions on $base ROUTE, in a cookie jar of
# its own; checks that the route counts.
contender() {
    local label=$1 route=$2 jar
    jar="$work/cookies.${#labels[@]}"
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
        echo "$route: $first then $second: not counting; the logs:" >&2
        tail -20 "$work"/*.log >&2
        exit 1
    fi
    labels+=("$label") urls+=("$base$route")
}

# measure I ROUND: one wrk run of contender I; appends "ROUND I rps p99 non2xx".
measure() {
    local i=$1 out rps p99 non2xx
    out=$(COOKIES="$work/cookies.$i" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency \
        -s "$work/cookies.lua" "${urls[$i]}")
    rps=$(echo "$out" | sed -n 's/^Requests\/sec: *//p')
    p99=$(echo "$out" | sed -n 's/^ *99% *//p')
    non2xx=$(echo "$out" | sed -n 's/^ *Non-2xx or 3xx responses: *//p')
    echo "$2 $i $rps $p99 ${non2xx:-0}" >> "$work/results"
}

start inproc
contender "libsess in-process, 1 child" /bench/libsess
contender "libsess in-process, demo page" /counter
contender "mod_session_cookie, 1 child" /bench/cookie
start redis SESS_STORE=redis://127.0.0.1:6379/0 SESS_KEY_PREFIX="sess:apachebench:$$:" CHILDREN=3
contender "libsess Redis, 3 children" /bench/libsess
contender "libsess Redis, demo page" /counter
start lmdb SESS_STORE="lmdb://$work/lmdb" CHILDREN=3
contender "libsess LMDB, 3 children" /bench/libsess
contender "libsess LMDB, demo page" /counter
start_demo
contender "demo server, in-process" /counter

n=${#labels[@]}
echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency, $SESSIONS sessions per route, $ROUNDS rounds, $(nproc) cores"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 0 $((ROUNDS - 1))); do
    for k in $(seq 0 $((n - 1))); do
        measure $(((k + r) % n)) "$r"
    done
done
echo "load average after:  $(cut -d' ' -f1-3 /proc/loadavg)"
echo
printf '%s\n' "${labels[@]}" > "$work/labels"
printf '%s\n' "${urls[@]}" > "$work/urls"
python3 - "$work" <<'PY'
import statistics, sys
work = sys.argv[1]
labels = open(f"{work}/labels").read().splitlines()
routes = ["/" + u.split("/", 3)[3] for u in open(f"{work}/urls").read().splitlines()]
def ms(t):  # wrk's latency text (e.g. 850.00us, 2.31ms, 1.02s) in ms
    for unit, f in (("us", 1e-3), ("ms", 1.0), ("s", 1e3)):
        if t.endswith(unit):
            return float(t[: -len(unit)]) * f
    raise ValueError(t)
rps, p99, bad = {}, {}, {}
for line in open(f"{work}/results"):
    r, i, q, p, b = line.split()
    rps.setdefault(int(i), {})[int(r)] = float(q)
    p99.setdefault(int(i), []).append(ms(p))
    bad[int(i)] = bad.get(int(i), 0) + int(b)
print("| server | route | requests/s (median) | rounds | p99 ms (median) | non-2xx |")
print("|---|---|---:|---|---:|---:|")
for i, label in enumerate(labels):
    runs = [rps[i][r] for r in sorted(rps[i])]
    print(f"| {label} | {routes[i]} | {statistics.median(runs):.0f} | "
          f"{', '.join(f'{x:.0f}' for x in runs)} | {statistics.median(p99[i]):.2f} | {bad[i]} |")
print()
def ratio(a, b):
    ia, ib = labels.index(a), labels.index(b)
    return statistics.median(rps[ia][r] / rps[ib][r] for r in rps[ia])
for a, b in (("libsess in-process, 1 child", "mod_session_cookie, 1 child"),
             ("libsess Redis, 3 children", "mod_session_cookie, 1 child"),
             ("libsess LMDB, 3 children", "libsess in-process, 1 child"),
             ("libsess LMDB, 3 children", "libsess Redis, 3 children"),
             ("demo server, in-process", "libsess in-process, demo page")):
    print(f"{a} / {b}: {ratio(a, b):.2f}")
PY
