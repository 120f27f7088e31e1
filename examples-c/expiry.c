/*
 * expiry.c: Session_OnStart / Session_OnEnd and timeouts, on a simulated
 * clock.
 *
 * The application gets its time from `opts.clock` (a function returning
 * milliseconds), here a variable the program moves forward, and runs no
 * expiry thread (`expiry_interval_ms = 0`): the host calls sess_app_expire
 * when it wants expired sessions ended. So nothing here sleeps, and every
 * count is exact.
 *
 * What ASP promises and this checks:
 * - a session ends Timeout minutes after its last request (sliding);
 * - Session_OnEnd runs when it ends, with the contents readable;
 * - the session's objects are released when it ends;
 * - at application end, OnEnd runs for every session still stored.
 * Plus libsess's optional absolute lifetime, which ends a session however
 * active it is.
 */
#include "check.h"
#include "object.h"

/* ------------------------------------------------------------------------ */
/* The simulated clock (read only on this thread: no expiry thread runs).   */

static uint64_t clock_ms = 1000000; /* any origin: only differences matter */

static uint64_t read_clock(void *context)
{
    return *(const uint64_t *)context;
}

#define MINUTES(m) ((uint64_t)(m) * 60000u)
#define SECONDS(x) ((uint64_t)(x) * 1000u)

static void advance(uint64_t ms)
{
    clock_ms += ms;
}

/* ------------------------------------------------------------------------ */
/* Session_OnStart / Session_OnEnd                                          */

typedef struct events {
    int starts;
    int ends;
    int ended_abandoned;   /* OnEnds that saw IsAbandoned true */
    char last_user[64];    /* Session("UserName"), as the last OnEnd read it */
    size_t last_count;     /* Contents.Count, as the last OnEnd read it */
} events;

/* Session_OnStart: Session("timUserStartTime") = the clock, in minutes. */
static sess_result on_start(void *context, sess_session *s)
{
    events *ev = (events *)context;
    sess_variant v;
    sess_variant_init(&v);
    v.vt = SESS_VT_R8;
    v.v.dblVal = (double)clock_ms / 60000.0;
    ev->starts++;
    return sess_value_set(s, "timUserStartTime", &v);
}

/* Session_OnEnd: the contents are still there to read (and log). */
static void on_end(void *context, sess_session *s)
{
    events *ev = (events *)context;
    sess_variant v;
    bool abandoned = false;
    sess_variant_init(&v);
    ev->ends++;
    sess_value_get(s, "UserName", &v);
    snprintf(ev->last_user, sizeof ev->last_user, "%s",
             v.vt == SESS_VT_BSTR && v.v.bstrVal.ptr ? v.v.bstrVal.ptr : "");
    sess_variant_clear(&v);
    sess_contents_count(s, &ev->last_count);
    sess_session_is_abandoned(s, &abandoned);
    ev->ended_abandoned += abandoned;
}

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */

static size_t stored(sess_app *app)
{
    size_t n = (size_t)-1;
    CHECK_HR(sess_app_session_count(app, &n), SESS_S_OK);
    return n;
}

static size_t expire(sess_app *app)
{
    size_t n = (size_t)-1;
    CHECK_HR(sess_app_expire(app, &n), SESS_S_OK);
    return n;
}

/* A first request: a new session with UserName = user, its Cart static
 * object made, and Timeout set if minutes > 0. Returns its ID in id. */
static void first_request(sess_app *app, const char *user, int32_t minutes, char *id)
{
    sess_session *s = NULL;
    sess_variant v;
    CHECK_HR(sess_session_create(app, &s), SESS_S_OK);
    sess_variant_init(&v);
    CHECK_HR(sess_variant_set_bstr(&v, user, SIZE_MAX), SESS_S_OK);
    CHECK_HR(sess_value_set(s, "UserName", &v), SESS_S_OK);
    CHECK_HR(sess_static_get(s, "Cart", &v), SESS_S_OK); /* made on first use */
    CHECK_HR(sess_variant_clear(&v), SESS_S_OK);         /* the session keeps its own */
    if (minutes > 0)
        CHECK_HR(sess_timeout(s, &minutes, NULL), SESS_S_OK);
    CHECK_HR(sess_session_id(s, id, SESS_ID_LEN + 1, NULL), SESS_S_OK);
    CHECK_HR(sess_session_close(s), SESS_S_OK);
}

/* A later request that only reads: it still refreshes the session. */
static void touch(sess_app *app, const char *id, uint32_t flags)
{
    sess_session *s = NULL;
    CHECK_HR(sess_session_open(app, id, flags, &s), SESS_S_OK);
    CHECK_HR(sess_session_close(s), SESS_S_OK);
}

/* ------------------------------------------------------------------------ */

static void timeout_expiry(sess_app *app, events *ev)
{
    sess_session *s = NULL;
    char id[SESS_ID_LEN + 1];
    int destroyed = demo_destroyed();

    printf("Timeout: a session ends 20 minutes after its last request\n");
    first_request(app, "Ann", 0, id);
    CHECK(ev->starts == 1 && stored(app) == 1 && demo_alive() == 1);

    advance(MINUTES(19));
    CHECK(expire(app) == 0);
    advance(SECONDS(59)); /* 19:59 */
    CHECK(expire(app) == 0);
    CHECK(ev->ends == 0 && stored(app) == 1);
    printf("  at 19:59 it is still there\n");

    advance(SECONDS(1)); /* 20:00 */
    CHECK(expire(app) == 1);
    CHECK(ev->ends == 1 && stored(app) == 0);
    /* OnEnd read the contents: UserName and what OnStart stored. */
    CHECK(strcmp(ev->last_user, "Ann") == 0 && ev->last_count == 2);
    CHECK(ev->ended_abandoned == 1);
    /* The session's static object was released with it. */
    CHECK(demo_alive() == 0 && demo_destroyed() == destroyed + 1);
    printf("  at 20:00 sess_app_expire ends it: OnEnd read UserName = \"%s\" and %zu items;"
           " its Cart object was destroyed\n", ev->last_user, ev->last_count);

    CHECK_HR(sess_session_open(app, id, 0, &s), SESS_E_SESSION_NOT_FOUND);
    CHECK(expire(app) == 0 && ev->ends == 1);
}

static void sliding_expiry(sess_app *app, events *ev)
{
    char id[SESS_ID_LEN + 1];
    int ends = ev->ends;

    printf("Sliding: every request moves the end to Timeout minutes later\n");
    first_request(app, "Bob", 5, id); /* Session.Timeout = 5 */
    advance(MINUTES(4));
    touch(app, id, 0); /* ends at 4 + 5 = 9 now */
    advance(MINUTES(4));
    CHECK(expire(app) == 0); /* 8: alive (its first deadline, 5, has passed) */
    touch(app, id, SESS_OPEN_READONLY); /* read-only requests count too: 8 + 5 = 13 */
    advance(MINUTES(4) + SECONDS(59));
    CHECK(expire(app) == 0); /* 12:59 */
    CHECK(ev->ends == ends && stored(app) == 1);
    printf("  requests at minutes 4 and 8 keep it alive past 5 and 9\n");
    advance(SECONDS(1));
    CHECK(expire(app) == 1); /* 13 */
    CHECK(ev->ends == ends + 1 && strcmp(ev->last_user, "Bob") == 0);
    printf("  it ends 5 minutes after the last request\n");
}

static void in_use_and_found_expired(sess_app *app, events *ev)
{
    sess_session *s = NULL;
    char id[SESS_ID_LEN + 1];
    int ends = ev->ends;

    printf("A session in use does not expire; one found expired is ended on open\n");
    first_request(app, "Cy", 0, id);
    CHECK_HR(sess_session_open(app, id, 0, &s), SESS_S_OK); /* a long request */
    advance(MINUTES(25));
    CHECK(expire(app) == 0); /* past its deadline, but in use */
    CHECK(ev->ends == ends && stored(app) == 1);
    CHECK_HR(sess_session_close(s), SESS_S_OK); /* the request ends: 20 more minutes */
    advance(MINUTES(19));
    CHECK(expire(app) == 0);
    printf("  held past its deadline, it lives on after the request\n");

    /* Nobody calls expire in time: the next request finds it expired,
     * ends it (OnEnd runs on that request's thread) and gets NOT_FOUND. */
    advance(MINUTES(5));
    CHECK_HR(sess_session_open(app, id, 0, &s), SESS_E_SESSION_NOT_FOUND);
    CHECK(ev->ends == ends + 1 && strcmp(ev->last_user, "Cy") == 0);
    CHECK(stored(app) == 0 && expire(app) == 0 && demo_alive() == 0);
    printf("  opened after its deadline: SESS_E_SESSION_NOT_FOUND, and OnEnd ran\n");
}

static void absolute_expiry(const sess_app_options *base, events *ev)
{
    sess_app_options opts = *base;
    sess_app *app = NULL;
    char id[SESS_ID_LEN + 1];
    int ends = ev->ends;

    printf("Absolute lifetime (30 minutes): ends however active the session is\n");
    opts.absolute_timeout_minutes = 30;
    CHECK_HR(sess_app_create(&opts, &app), SESS_S_OK);
    first_request(app, "Dee", 0, id);
    advance(MINUTES(10));
    touch(app, id, 0);
    advance(MINUTES(10));
    touch(app, id, 0); /* sliding alone would keep it until minute 40 */
    advance(MINUTES(9) + SECONDS(30));
    CHECK(expire(app) == 0);
    CHECK(ev->ends == ends);
    advance(SECONDS(30));
    CHECK(expire(app) == 1);
    CHECK(ev->ends == ends + 1 && strcmp(ev->last_user, "Dee") == 0);
    printf("  requests every 10 minutes; it still ends at minute 30\n");
    sess_app_release(app);
}

static void application_end(const sess_app_options *base, events *ev)
{
    sess_app *app = NULL;
    char id[SESS_ID_LEN + 1];
    int ends = ev->ends;

    printf("Application end: OnEnd runs for every session still stored\n");
    CHECK_HR(sess_app_create(base, &app), SESS_S_OK);
    first_request(app, "Eve", 0, id);
    first_request(app, "Fay", 0, id);
    CHECK(stored(app) == 2 && demo_alive() == 2);
    sess_app_release(app);
    CHECK(ev->ends == ends + 2);
    CHECK(demo_alive() == 0);
    printf("  sess_app_release ended 2 sessions; every Cart was destroyed\n");
}

int main(void)
{
    sess_app_options opts;
    sess_static_object_decl cart;
    sess_app *app = NULL;
    events ev;
    int carts_made = 0;

    memset(&ev, 0, sizeof ev);
    cart.name = "Cart";
    cart.factory = demo_factory;
    cart.context = &carts_made;

    CHECK_HR(sess_app_options_init(&opts), SESS_S_OK);
    opts.clock = read_clock;
    opts.clock_context = &clock_ms;
    opts.expiry_interval_ms = 0; /* no library thread: we call sess_app_expire */
    opts.on_start = on_start;
    opts.on_end = on_end;
    opts.event_context = &ev;
    opts.static_objects = &cart;
    opts.static_object_count = 1;
    CHECK_HR(sess_app_create(&opts, &app), SESS_S_OK);

    timeout_expiry(app, &ev);
    sliding_expiry(app, &ev);
    in_use_and_found_expired(app, &ev);
    sess_app_release(app);

    absolute_expiry(&opts, &ev);
    application_end(&opts, &ev);

    CHECK(ev.starts == 6 && ev.ends == 6 && ev.ended_abandoned == 6);
    CHECK(carts_made == 6 && demo_alive() == 0);
    printf("%d sessions started, %d ended, %d Cart objects made and destroyed\n", ev.starts,
           ev.ends, carts_made);
    return check_summary();
}
