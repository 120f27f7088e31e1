/*
 * host_api.c: what a web-server module (Apache httpd, nginx...) needs beyond
 * the core calls, checked from C:
 * - a path no application serves is SESS_E_NO_APPLICATION: decline cheaply;
 * - sess_request_info_init;
 * - Cookie headers joined with ", " (Apache's way) find the session;
 * - sess_request_set_cookie: the Set-Cookie before the unit of work ends,
 *   and sess_request_end reporting only what changed after it;
 * - typed variant setters and getters, and session values without a
 *   variant: written and read typed (sess_value_set_i4, sess_value_get_i4...)
 *   and lent (sess_value_borrow_bstr);
 * - sess_app_stats, also into a caller's older (smaller) struct, and
 *   sess_app_stats_own;
 * - fork(): an application created before fork() works in the child (its
 *   expiry thread is started again there) and releases cleanly.
 */
#include "check.h"

#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* Requests                                                                 */

/* Begins an exclusive request for `path` with `cookie` (may be NULL). */
static sess_result begin(sess_site *site, const char *path, const char *cookie, sess_request **req)
{
    sess_request_info info;
    sess_result rc = sess_request_info_init(&info);
    if (rc < 0)
        return rc;
    info.path = path;
    info.cookie_header = cookie;
    info.cookie_header_len = cookie ? strlen(cookie) : 0;
    return sess_request_begin(site, &info, req);
}

/* Copies a Set-Cookie's "name=value" part to `pair`. */
static void pair_of(const char *set_cookie, char *pair, size_t len)
{
    size_t n = strcspn(set_cookie, ";");
    snprintf(pair, len, "%.*s", (int)n, set_cookie);
}

static void requests(void)
{
    sess_app *app = NULL;
    sess_site *site = NULL;
    sess_request *req = NULL;
    sess_session *s = NULL;
    sess_variant v, out;
    sess_request_info info;
    char early[256], pair[128], joined[256];
    size_t len = 99;
    int32_t n = 0;

    sess_variant_init(&v);
    sess_variant_init(&out);
    CHECK_HR(sess_app_create(NULL, &app), SESS_S_OK);
    CHECK_HR(sess_site_create(&site), SESS_S_OK);
    CHECK_HR(sess_site_add(site, "/app", app, NULL), SESS_S_OK);

    memset(&info, 0xAB, sizeof info);
    CHECK_HR(sess_request_info_init(&info), SESS_S_OK);
    CHECK(info.struct_size == sizeof info && info.session_use == SESS_USE_EXCLUSIVE);
    CHECK(info.path == NULL && info.cookie_header == NULL && !info.https);
    CHECK_HR(sess_request_info_init(NULL), SESS_E_POINTER);

    /* Not ours: a distinct code, so a module declines the request. */
    CHECK_HR(begin(site, "/static/logo.png", NULL, &req), SESS_E_NO_APPLICATION);
    CHECK(req == NULL);

    /* A new session: no cookie before it exists, then one at once. */
    CHECK_HR(begin(site, "/app/page", NULL, &req), SESS_S_OK);
    CHECK_HR(sess_request_set_cookie(req, early, sizeof early, &len), SESS_S_FALSE);
    CHECK(len == 0 && early[0] == '\0');
    CHECK_HR(sess_request_session(req, SESS_REQUEST_CREATE, &s), SESS_S_OK);
    CHECK_HR(sess_request_set_cookie(req, NULL, 0, &len), SESS_E_INSUFFICIENT_BUFFER);
    CHECK(len > 20);
    CHECK_HR(sess_request_set_cookie(req, early, sizeof early, &len), SESS_S_OK);
    CHECK(strncmp(early, "ASPSESSIONID", 12) == 0 && strlen(early) == len);
    /* The headers went out; the page writes while the body streams. */
    CHECK_HR(sess_variant_set_i4(&v, 41), SESS_S_OK);
    CHECK_HR(sess_value_set(s, "n", &v), SESS_S_OK);
    CHECK_HR(sess_request_end(req, false, &out), SESS_S_OK);
    CHECK(out.vt == SESS_VT_EMPTY); /* already sent: not repeated */
    pair_of(early, pair, sizeof pair);

    /* Apache joins repeated Cookie headers with ", ". */
    snprintf(joined, sizeof joined, "theme=dark, %s, lang=fr", pair);
    CHECK_HR(begin(site, "/app/page", joined, &req), SESS_S_OK);
    CHECK_HR(sess_request_session(req, 0, &s), SESS_S_OK);
    CHECK_HR(sess_value_get(s, "n", &v), SESS_S_OK);
    CHECK_HR(sess_variant_get_i4(&v, &n), SESS_S_OK);
    CHECK(n == 41);
    CHECK_HR(sess_request_set_cookie(req, early, sizeof early, &len), SESS_S_FALSE);
    /* Abandoned after the headers: the end deletes the cookie. */
    CHECK_HR(sess_abandon(s), SESS_S_OK);
    CHECK_HR(sess_request_end(req, false, &out), SESS_S_OK);
    CHECK(out.vt == SESS_VT_BSTR && strstr(out.v.bstrVal.ptr, "Max-Age=0") != NULL);

    /* The counters: one session created, then abandoned. */
    {
        sess_app_counters st;
        struct { uint32_t struct_size, reserved; uint64_t current; } old;
        memset(&st, 0xFF, sizeof st);
        CHECK_HR(sess_app_stats_init(&st), SESS_S_OK);
        CHECK(st.struct_size == sizeof st && st.sessions_total == 0);
        CHECK_HR(sess_app_stats(app, &st), SESS_S_OK);
        CHECK(st.sessions_current == 0 && st.sessions_total == 1);
        CHECK(st.sessions_abandoned == 1 && st.sessions_timed_out == 0);
        CHECK(st.lock_waits == 0 && st.lock_timeouts == 0 && st.store_errors == 0);
        /* The application's own counters: the same, but for the store's count. */
        memset(&st, 0, sizeof st);
        CHECK_HR(sess_app_stats_init(&st), SESS_S_OK);
        CHECK_HR(sess_app_stats_own(app, &st), SESS_S_FALSE);
        CHECK(st.sessions_current == UINT64_MAX && st.sessions_total == 1);
        CHECK(st.sessions_abandoned == 1 && st.store_errors == 0);
        CHECK_HR(sess_app_stats_own(app, NULL), SESS_E_POINTER);
        /* An older caller's struct: only its fields are written. */
        memset(&old, 0, sizeof old);
        old.struct_size = sizeof old;
        old.current = 77;
        CHECK_HR(sess_app_stats(app, (sess_app_counters *)(void *)&old), SESS_S_OK);
        CHECK(old.struct_size == sizeof old && old.current == 0);
        old.struct_size = 4;
        CHECK_HR(sess_app_stats(app, (sess_app_counters *)(void *)&old), SESS_E_INVALID_OPTION);
        CHECK_HR(sess_app_stats(NULL, &st), SESS_E_POINTER);
        CHECK_HR(sess_app_stats(app, NULL), SESS_E_POINTER);
    }

    sess_variant_clear(&v);
    sess_variant_clear(&out);
    sess_site_release(site);
    sess_app_release(app);
    printf("  requests: no-application code, joined cookies, early Set-Cookie, stats ok\n");
}

/* ------------------------------------------------------------------------ */
/* Typed variants                                                           */

static void typed_variants(void)
{
    sess_variant v;
    int32_t i4 = 0;
    int16_t i2 = 7;
    int64_t i8 = 0, cy = 0;
    double r8 = 0, date = 0;
    bool b = false;

    sess_variant_init(&v);
    CHECK_HR(sess_variant_set_i8(&v, INT64_C(-5000000000)), SESS_S_OK);
    CHECK(v.vt == SESS_VT_I8 && v.v.llVal == INT64_C(-5000000000));
    CHECK_HR(sess_variant_get_i4(&v, &i4), SESS_DISP_E_OVERFLOW);
    CHECK_HR(sess_variant_get_r8(&v, &r8), SESS_S_OK);
    CHECK(r8 == -5e9);
    CHECK_HR(sess_variant_set_bool(&v, true), SESS_S_OK);
    CHECK(v.vt == SESS_VT_BOOL && v.v.boolVal == SESS_VARIANT_TRUE);
    CHECK_HR(sess_variant_get_i4(&v, &i4), SESS_S_OK);
    CHECK(i4 == -1); /* VARIANT_TRUE is -1 */
    CHECK_HR(sess_variant_set_cy(&v, 125000), SESS_S_OK); /* 12.5 */
    CHECK_HR(sess_variant_get_i2(&v, &i2), SESS_S_OK);
    CHECK(i2 == 12); /* half to even */
    CHECK_HR(sess_variant_set_bstr(&v, "3.25", SIZE_MAX), SESS_S_OK);
    CHECK_HR(sess_variant_get_cy(&v, &cy), SESS_S_OK);
    CHECK(cy == 32500);
    CHECK_HR(sess_variant_get_bool(&v, &b), SESS_S_OK);
    CHECK(b);
    CHECK_HR(sess_variant_set_date(&v, 45292.5), SESS_S_OK); /* 2024-01-01 12:00 */
    CHECK_HR(sess_variant_get_date(&v, &date), SESS_S_OK);
    CHECK(date == 45292.5);
    CHECK_HR(sess_variant_get_i8(&v, &i8), SESS_S_OK);
    CHECK(i8 == 45292); /* 45292.5 rounds half to even */
    CHECK_HR(sess_variant_set_date(&v, 1e9), SESS_E_INVALIDARG);
    CHECK_HR(sess_variant_set_null(&v), SESS_S_OK);
    CHECK(v.vt == SESS_VT_NULL);
    CHECK_HR(sess_variant_get_i4(&v, &i4), SESS_DISP_E_TYPEMISMATCH);
    CHECK_HR(sess_variant_set_r8(&v, 2.5), SESS_S_OK);
    CHECK(v.vt == SESS_VT_R8 && v.v.dblVal == 2.5);
    CHECK_HR(sess_variant_clear(&v), SESS_S_OK);
    printf("  typed variants ok\n");
}

/* ------------------------------------------------------------------------ */
/* Session values read without a variant                                    */

static void typed_values(void)
{
    sess_app *app = NULL;
    sess_session *s = NULL;
    sess_variant v;
    const char *text = NULL;
    size_t len = 0;
    int32_t count = 0;
    double price = 0;
    uint32_t de = 0x0407;

    sess_variant_init(&v);
    CHECK_HR(sess_app_create(NULL, &app), SESS_S_OK);
    CHECK_HR(sess_session_create(app, &s), SESS_S_OK);
    /* Typed writes: the value in its C form, stored as its variant type. */
    CHECK_HR(sess_value_set_i4(s, "count", 41), SESS_S_OK);
    CHECK_HR(sess_value_get(s, "count", &v), SESS_S_OK);
    CHECK(v.vt == SESS_VT_I4 && v.v.lVal == 41);
    CHECK_HR(sess_value_set_bstr(s, "user", "Zoë <zoe@example.com>", SIZE_MAX), SESS_S_OK);
    CHECK_HR(sess_value_set_bstr(s, "price", "2,5 EUR", 3), SESS_S_OK);
    CHECK_HR(sess_value_set_date(s, "when", 1e9), SESS_E_INVALIDARG);
    CHECK_HR(sess_value_get(s, "when", &v), SESS_S_FALSE);

    /* Typed: the stored value, or converted under the session's LCID. */
    CHECK_HR(sess_value_get_i4(s, "Count", &count), SESS_S_OK);
    CHECK(count == 41);
    CHECK_HR(sess_lcid(s, &de, NULL), SESS_S_OK);
    CHECK_HR(sess_value_get_r8(s, "price", &price), SESS_S_OK);
    CHECK(price == 2.5);
    CHECK_HR(sess_value_get_i4(s, "user", &count), SESS_DISP_E_TYPEMISMATCH);
    CHECK(count == 41);
    CHECK_HR(sess_value_get_i4(s, "missing", &count), SESS_S_FALSE);
    CHECK(count == 0);

    /* Lent: the session's own bytes (no NUL), read before Contents change. */
    CHECK_HR(sess_value_borrow_bstr(s, "USER", &text, &len), SESS_S_OK);
    CHECK(len == strlen("Zoë <zoe@example.com>"));
    CHECK(memcmp(text, "Zoë <zoe@example.com>", len) == 0);
    CHECK_HR(sess_value_borrow_bstr(s, "count", &text, &len), SESS_DISP_E_TYPEMISMATCH);
    /* Replaced: lend it again (the old bytes are gone; valgrind and ASan
     * would report a read of them). */
    CHECK_HR(sess_value_set_bstr(s, "user", "x", 1), SESS_S_OK);
    CHECK_HR(sess_value_borrow_bstr(s, "user", &text, &len), SESS_S_OK);
    CHECK(len == 1 && text[0] == 'x');
    CHECK_HR(sess_value_borrow_bstr(s, "missing", &text, &len), SESS_S_FALSE);
    CHECK(len == 0);

    CHECK_HR(sess_session_close(s), SESS_S_OK);
    sess_variant_clear(&v);
    sess_app_release(app);
    printf("  typed and lent session values ok\n");
}

/* ------------------------------------------------------------------------ */
/* fork()                                                                   */

/* The simulated clock: the child moves it; its expiry thread reads it. */
static uint64_t clock_ms = 1000000;
static int ends;

static uint64_t read_clock(void *context)
{
    return __atomic_load_n((const uint64_t *)context, __ATOMIC_SEQ_CST);
}

static void on_end(void *context, sess_session *s)
{
    (void)context;
    (void)s;
    __atomic_add_fetch(&ends, 1, __ATOMIC_SEQ_CST);
}

/* Stores one session with Timeout 1 minute. */
static void one_session(sess_app *app)
{
    sess_session *s = NULL;
    sess_variant v;
    const int32_t one_minute = 1;
    sess_variant_init(&v);
    CHECK_HR(sess_session_create(app, &s), SESS_S_OK);
    CHECK_HR(sess_variant_set_i4(&v, 1), SESS_S_OK);
    CHECK_HR(sess_value_set(s, "k", &v), SESS_S_OK);
    CHECK_HR(sess_timeout(s, &one_minute, NULL), SESS_S_OK);
    CHECK_HR(sess_session_close(s), SESS_S_OK);
}

/* In the child: the expiry thread must run again, and release be clean. */
static int child(sess_app *app)
{
    struct timespec tick = {0, 10 * 1000 * 1000};
    sess_result code = 0;
    char detail[256];
    int waited;

    one_session(app);
    __atomic_add_fetch(&clock_ms, (uint64_t)2 * 60000, __ATOMIC_SEQ_CST);
    /* The expiry thread runs every 20 ms; allow 10 s on a busy machine. */
    for (waited = 0; waited < 1000 && __atomic_load_n(&ends, __ATOMIC_SEQ_CST) < 2; waited++)
        nanosleep(&tick, NULL);
    CHECK(__atomic_load_n(&ends, __ATOMIC_SEQ_CST) == 2); /* inherited + own */
    /* Mark this thread's last error, so a failure in the release shows. */
    CHECK_HR(sess_variant_get_i4(NULL, NULL), SESS_E_POINTER);
    sess_app_release(app);
    /* No caught panic (nor any other failure) was reported by the release. */
    CHECK_HR(sess_error_last(&code, detail, sizeof detail, NULL), SESS_S_OK);
    CHECK(code == SESS_E_POINTER);
    return check_summary();
}

static void fork_child_works(void)
{
    sess_app_options opts;
    sess_app *app = NULL;
    int status = 0;
    pid_t pid;

    CHECK_HR(sess_app_options_init(&opts), SESS_S_OK);
    opts.clock = read_clock;
    opts.clock_context = &clock_ms;
    opts.expiry_interval_ms = 20;
    opts.on_end = on_end;
    CHECK_HR(sess_app_create(&opts, &app), SESS_S_OK);
    one_session(app); /* before the fork: the child inherits it */
    fflush(stdout);
    pid = fork();
    CHECK(pid >= 0);
    if (pid == 0)
        _exit(child(app));
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* The parent's clock never moved: its sessions live on. */
    CHECK(__atomic_load_n(&ends, __ATOMIC_SEQ_CST) == 0);
    one_session(app);
    sess_app_release(app); /* ends both at application end */
    CHECK(ends == 2);
    printf("  fork: the child's expiry thread ran; release clean in both\n");
}

int main(void)
{
    requests();
    typed_variants();
    typed_values();
    fork_child_works();
    return check_summary();
}
