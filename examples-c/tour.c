/*
 * tour.c: a tour of libsess's C API, in the order a newcomer meets it.
 *
 * libsess is the IIS/ASP Session object as a library. A host (a web server
 * module) makes one sess_app per application, then for each request either
 * creates a session (no valid cookie) or opens the one the cookie names,
 * works with it, and closes it: one request = one unit of work.
 *
 * The tour plays the requests of one user against one application:
 *   1. the first request: a new session, OnStart, every value type;
 *   2. a later request: the session reopened by ID, Contents by index,
 *      StaticObjects;
 *   3. a read-only request (ASP's EnableSessionState=ReadOnly);
 *   then a request that fails (its changes discarded) and a login (a new
 *   SessionID for the same session);
 *   4. the last request: RemoveAll and Abandon, then OnEnd.
 * Between them: value conversions, error text, and lazy session creation.
 *
 * Every step checks what it prints (check.h); the program exits 1 if any
 * check failed. Session IDs are credentials and are never printed.
 */
#include "check.h"
#include "object.h"

#include <stdbool.h>
#include <stdlib.h>

/* ------------------------------------------------------------------------ */
/* Session_OnStart and Session_OnEnd (GLOBAL.ASA's event procedures)        */

/* What the event handlers saw; they may run on any thread, hence the lock. */
typedef struct events {
    pthread_mutex_t lock;
    int starts;
    int ends;
    char user_at_end[64]; /* Session("UserName") as OnEnd read it */
} events;

/* A fixed "Now()" so the output is the same on every run: 2024-01-15 12:00. */
#define START_TIME 45306.5

/* Session_OnStart: runs inside sess_session_create, before the host sees
 * the session. Like the seed's example, it records when the session began. */
static sess_result on_start(void *context, sess_session *s)
{
    events *ev = (events *)context;
    sess_variant when;
    sess_variant_init(&when);
    when.vt = SESS_VT_DATE;
    when.v.date = START_TIME;
    pthread_mutex_lock(&ev->lock);
    ev->starts++;
    pthread_mutex_unlock(&ev->lock);
    /* A failure code here would cancel the session and be returned by
     * sess_session_create. */
    return sess_value_set(s, "timUserStartTime", &when);
}

/* Session_OnEnd: runs when the session is abandoned or times out, or the
 * application is released, with the contents still readable. The handle is
 * the library's: read from it, never close it. */
static void on_end(void *context, sess_session *s)
{
    events *ev = (events *)context;
    sess_variant user;
    sess_variant_init(&user);
    sess_value_get(s, "UserName", &user);
    pthread_mutex_lock(&ev->lock);
    ev->ends++;
    snprintf(ev->user_at_end, sizeof ev->user_at_end, "%s",
             user.vt == SESS_VT_BSTR && user.v.bstrVal.ptr ? user.v.bstrVal.ptr : "");
    pthread_mutex_unlock(&ev->lock);
    sess_variant_clear(&user);
}

static int events_get(events *ev, int *ends, char *user, size_t len)
{
    int starts;
    pthread_mutex_lock(&ev->lock);
    starts = ev->starts;
    *ends = ev->ends;
    snprintf(user, len, "%s", ev->user_at_end);
    pthread_mutex_unlock(&ev->lock);
    return starts;
}

/* ------------------------------------------------------------------------ */
/* Helpers for printing                                                      */

static void section(const char *title)
{
    printf("\n== %s\n", title);
}

/* Session(name) = value, printed as ASP would write it. */
static void put(sess_session *s, const char *name, const sess_variant *value)
{
    char text[256];
    CHECK_HR(sess_value_set(s, name, value), SESS_S_OK);
    printf("  Session(\"%s\") = %s\n", name, show(value, text, sizeof text));
}

/* ------------------------------------------------------------------------ */
/* Every value type                                                          */

/* The object stored as Session("objRef") (the seed's Server.CreateObject). */
static demo_object *component;

/*
 * Stores one value of every type. A sess_variant is COM's VARIANT: set `vt`
 * and the matching field of `v`. Values are stored by value (deep copies):
 * the variant stays the caller's.
 */
static void store_every_type(sess_session *s)
{
    sess_variant v;
    sess_array *names;
    sess_variant_init(&v); /* VT_EMPTY */
    put(s, "vEmpty", &v);
    v.vt = SESS_VT_NULL;
    put(s, "vNull", &v);
    v.vt = SESS_VT_I2;
    v.v.iVal = -12345;
    put(s, "vI2", &v);
    v.vt = SESS_VT_I4;
    v.v.lVal = 2000000000;
    put(s, "vI4", &v);
    v.vt = SESS_VT_R4;
    v.v.fltVal = 1.5f;
    put(s, "vR4", &v);
    v.vt = SESS_VT_R8;
    v.v.dblVal = 3.14; /* the seed's Session("Pi") = 3.14 */
    put(s, "Pi", &v);
    v.vt = SESS_VT_CY;
    v.v.cyVal = 12345678; /* currency is fixed-point x 10000: 1234.5678 */
    put(s, "vCY", &v);
    v.vt = SESS_VT_DATE;
    v.v.date = 45306.75; /* days since 1899-12-30: 2024-01-15 18:00 */
    put(s, "vDate", &v);
    v.vt = SESS_VT_BOOL;
    v.v.boolVal = SESS_VARIANT_TRUE; /* -1, as in COM */
    put(s, "vBool", &v);
    v.vt = SESS_VT_ERROR;
    v.v.scode = (int32_t)SESS_E_FAIL;
    put(s, "vError", &v);
    v.vt = SESS_VT_I1;
    v.v.cVal = -100;
    put(s, "vI1", &v);
    v.vt = SESS_VT_UI1;
    v.v.bVal = 200;
    put(s, "vUI1", &v);
    v.vt = SESS_VT_UI2;
    v.v.uiVal = 60000;
    put(s, "vUI2", &v);
    v.vt = SESS_VT_UI4;
    v.v.ulVal = 4000000000u;
    put(s, "vUI4", &v);
    v.vt = SESS_VT_I8;
    v.v.llVal = -9000000000000LL;
    put(s, "vI8", &v);
    v.vt = SESS_VT_UI8;
    v.v.ullVal = 18000000000000000000ULL;
    put(s, "vUI8", &v);

    /* Strings are UTF-8; sess_variant_set_bstr copies them into the variant,
     * which then owns the copy (sess_variant_clear frees it). */
    CHECK_HR(sess_variant_set_bstr(&v, "Arthur Stra\xC3\x9F" "e", SIZE_MAX), SESS_S_OK);
    put(s, "UserName", &v);
    CHECK_HR(sess_variant_clear(&v), SESS_S_OK);

    /* Arrays: one-dimensional, zero-based arrays of variants. The variant
     * takes ownership of the array (and frees it in sess_variant_clear). */
    CHECK_HR(sess_array_create(3, &names), SESS_S_OK);
    CHECK_HR(sess_variant_set_bstr(&v, "Chris", SIZE_MAX), SESS_S_OK);
    CHECK_HR(sess_array_set(names, 0, &v), SESS_S_OK); /* a copy goes in */
    CHECK_HR(sess_variant_set_bstr(&v, "Julie", SIZE_MAX), SESS_S_OK);
    CHECK_HR(sess_array_set(names, 1, &v), SESS_S_OK);
    CHECK_HR(sess_variant_clear(&v), SESS_S_OK);
    v.vt = SESS_VT_I4;
    v.v.lVal = 42;
    CHECK_HR(sess_array_set(names, 2, &v), SESS_S_OK);
    v.vt = SESS_VT_ARRAY | SESS_VT_VARIANT;
    v.v.parray = names;
    put(s, "vArray", &v);
    CHECK_HR(sess_variant_clear(&v), SESS_S_OK); /* frees `names` */

    /* Objects are stored by reference: the session AddRefs the object. Here
     * the variant owns our one reference, so clearing it leaves the
     * session's as the only one. */
    component = demo_new("MyComp.clsSpecial");
    v.vt = SESS_VT_UNKNOWN;
    v.v.punkVal = &component->base;
    put(s, "objRef", &v);
    CHECK(demo_refs(component) == 2); /* ours + the session's */
    CHECK_HR(sess_variant_clear(&v), SESS_S_OK);
    CHECK(demo_refs(component) == 1);
}

/* Reads back every value stored above and checks type and value. */
static void check_every_type(sess_session *s)
{
    sess_variant v, e;
    size_t n = 0;
    sess_variant_init(&v);
    sess_variant_init(&e);
#define GET(name, type) (CHECK_HR(sess_value_get(s, name, &v), SESS_S_OK) && CHECK(v.vt == (type)))
    if (GET("vEmpty", SESS_VT_EMPTY)) { /* stored VT_EMPTY is still an item */ }
    if (GET("vNull", SESS_VT_NULL)) { }
    if (GET("vI2", SESS_VT_I2)) CHECK(v.v.iVal == -12345);
    if (GET("vI4", SESS_VT_I4)) CHECK(v.v.lVal == 2000000000);
    if (GET("vR4", SESS_VT_R4)) CHECK(v.v.fltVal == 1.5f);
    if (GET("Pi", SESS_VT_R8)) CHECK(v.v.dblVal == 3.14);
    if (GET("vCY", SESS_VT_CY)) CHECK(v.v.cyVal == 12345678);
    if (GET("vDate", SESS_VT_DATE)) CHECK(v.v.date == 45306.75);
    if (GET("vBool", SESS_VT_BOOL)) CHECK(v.v.boolVal == SESS_VARIANT_TRUE);
    if (GET("vError", SESS_VT_ERROR)) CHECK(v.v.scode == (int32_t)SESS_E_FAIL);
    if (GET("vI1", SESS_VT_I1)) CHECK(v.v.cVal == -100);
    if (GET("vUI1", SESS_VT_UI1)) CHECK(v.v.bVal == 200);
    if (GET("vUI2", SESS_VT_UI2)) CHECK(v.v.uiVal == 60000);
    if (GET("vUI4", SESS_VT_UI4)) CHECK(v.v.ulVal == 4000000000u);
    if (GET("vI8", SESS_VT_I8)) CHECK(v.v.llVal == -9000000000000LL);
    if (GET("vUI8", SESS_VT_UI8)) CHECK(v.v.ullVal == 18000000000000000000ULL);
    if (GET("UserName", SESS_VT_BSTR)) CHECK(bstr_is(&v, "Arthur Stra\xC3\x9F" "e"));
    /* Keys are case-insensitive, as in ASP. */
    if (GET("USERNAME", SESS_VT_BSTR)) CHECK(bstr_is(&v, "Arthur Stra\xC3\x9F" "e"));
    if (GET("vArray", SESS_VT_ARRAY | SESS_VT_VARIANT)) {
        CHECK_HR(sess_array_length(v.v.parray, &n), SESS_S_OK);
        CHECK(n == 3);
        CHECK_HR(sess_array_get(v.v.parray, 1, &e), SESS_S_OK);
        CHECK(bstr_is(&e, "Julie"));
        CHECK_HR(sess_array_get(v.v.parray, 2, &e), SESS_S_OK);
        CHECK(e.vt == SESS_VT_I4 && e.v.lVal == 42);
    }
    /* The same object comes back (a new reference, which we now own). */
    if (GET("objRef", SESS_VT_UNKNOWN)) {
        CHECK(v.v.punkVal == &component->base);
        CHECK(demo_refs(component) == 2);
    }
#undef GET
    CHECK_HR(sess_variant_clear(&v), SESS_S_OK); /* gives that reference back */
    CHECK_HR(sess_variant_clear(&e), SESS_S_OK);
    CHECK(demo_refs(component) == 1);
}

/* ------------------------------------------------------------------------ */
/* Request 1: a new session                                                  */

static void request1_new_session(sess_app *app, events *ev, char *id, size_t id_len)
{
    sess_session *s = NULL;
    sess_variant v;
    size_t len = 0, i;
    bool flag = false;
    uint32_t mode = 0;
    int32_t timeout = 0;
    uint32_t lcid = 0, cp = 0;
    int ends;
    char user[64];

    section("Request 1: a new session");
    CHECK_HR(sess_session_create(app, &s), SESS_S_OK);
    CHECK(events_get(ev, &ends, user, sizeof user) == 1);
    printf("  Session_OnStart ran once\n");

    /* SessionID: 22 URL-safe characters. Ask for the length with an empty
     * buffer, or pass SESS_ID_LEN + 1 bytes. */
    CHECK_HR(sess_session_id(s, NULL, 0, &len), SESS_E_INSUFFICIENT_BUFFER);
    CHECK(len == SESS_ID_LEN);
    CHECK_HR(sess_session_id(s, id, id_len, &len), SESS_S_OK);
    CHECK(len == SESS_ID_LEN && strlen(id) == SESS_ID_LEN);
    for (i = 0; i < len; i++) {
        char c = id[i];
        CHECK((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
              || c == '-' || c == '_');
    }
    printf("  SessionID: %zu URL-safe characters (not printed: it is a credential)\n", len);

    CHECK_HR(sess_session_is_new(s, &flag), SESS_S_OK);
    CHECK(flag);
    CHECK_HR(sess_session_is_readonly(s, &flag), SESS_S_OK);
    CHECK(!flag);
    CHECK_HR(sess_session_mode(s, &mode), SESS_S_OK);
    CHECK(mode == SESS_MODE_INPROC);
    printf("  IsNewSession = True, IsReadOnly = False, Mode = InProc\n");

    /* What OnStart stored is there. */
    sess_variant_init(&v);
    CHECK_HR(sess_value_get(s, "timUserStartTime", &v), SESS_S_OK);
    CHECK(v.vt == SESS_VT_DATE && v.v.date == START_TIME);

    /* A key never set reads as Empty with SESS_S_FALSE: not an error. */
    CHECK_HR(sess_value_get(s, "NoSuchKey", &v), SESS_S_FALSE);
    CHECK(v.vt == SESS_VT_EMPTY);
    printf("  Session(\"NoSuchKey\") is Empty (SESS_S_FALSE)\n");

    printf("  Storing one value of every type:\n");
    store_every_type(s);
    check_every_type(s);

    /* The properties: Timeout (minutes), LCID, CodePage. The property
     * functions take an optional new value and an optional out. */
    CHECK_HR(sess_timeout(s, NULL, &timeout), SESS_S_OK);
    CHECK(timeout == 30); /* this application's default_timeout_minutes */
    timeout = 45;
    CHECK_HR(sess_timeout(s, &timeout, &timeout), SESS_S_OK);
    CHECK(timeout == 45);
    CHECK_HR(sess_lcid(s, NULL, &lcid), SESS_S_OK);
    CHECK(lcid == 0x0409);
    CHECK_HR(sess_codepage(s, NULL, &cp), SESS_S_OK);
    CHECK(cp == 65001);
    printf("  Timeout = %ld minutes, LCID = %lu, CodePage = %lu\n", (long)timeout,
           (unsigned long)lcid, (unsigned long)cp);

    /* End of the request: the changes are kept, the lock released. */
    CHECK_HR(sess_session_close(s), SESS_S_OK);
    printf("  closed: the request is over\n");
    sess_variant_clear(&v);
}

/* ------------------------------------------------------------------------ */
/* Request 2: the session reopened by its ID                                 */

static void print_contents(sess_session *s)
{
    size_t count = 0, i;
    char key[256], text[256];
    sess_variant v;
    sess_variant_init(&v);
    CHECK_HR(sess_contents_count(s, &count), SESS_S_OK);
    printf("  Contents.Count = %zu\n", count);
    for (i = 0; i < count; i++) { /* indexes are 0-based in the C API */
        CHECK_HR(sess_contents_key_at(s, i, key, sizeof key, NULL), SESS_S_OK);
        CHECK_HR(sess_contents_get_at(s, i, &v), SESS_S_OK);
        printf("    [%zu] %s = %s\n", i, key, show(&v, text, sizeof text));
    }
    sess_variant_clear(&v);
}

static void contents_by_index(sess_session *s)
{
    size_t count = 0, n = 0, len = 0;
    char key[64];
    sess_variant v, keys, values;
    sess_variant_init(&v);
    sess_variant_init(&keys);
    sess_variant_init(&values);

    print_contents(s);
    CHECK_HR(sess_contents_count(s, &count), SESS_S_OK);
    CHECK(count == 20); /* timUserStartTime + 19 values */

    /* Item 0 is what OnStart stored first. */
    CHECK_HR(sess_contents_key_at(s, 0, key, sizeof key, &len), SESS_S_OK);
    CHECK(strcmp(key, "timUserStartTime") == 0 && len == strlen(key));

    /* Item(index) = value: replaces the value, keeps the key and place. */
    v.vt = SESS_VT_I4;
    v.v.lVal = 7;
    CHECK_HR(sess_contents_set_at(s, 3, &v), SESS_S_OK);
    CHECK_HR(sess_value_get(s, "vI2", &v), SESS_S_OK);
    CHECK(v.vt == SESS_VT_I4 && v.v.lVal == 7);
    printf("  Contents(3) = 7: Session(\"vI2\") is now 7 (an I4)\n");

    /* Remove by key and RemoveAt by index: later items move down. */
    CHECK_HR(sess_contents_remove(s, "VNULL"), SESS_S_OK); /* any case */
    CHECK_HR(sess_contents_remove(s, "vNull"), SESS_S_FALSE); /* already gone */
    CHECK_HR(sess_contents_key_at(s, 1, key, sizeof key, NULL), SESS_S_OK);
    CHECK(strcmp(key, "vEmpty") == 0);
    CHECK_HR(sess_contents_remove_at(s, 1), SESS_S_OK); /* vEmpty */
    CHECK_HR(sess_contents_key_at(s, 1, key, sizeof key, NULL), SESS_S_OK);
    CHECK(strcmp(key, "vI2") == 0);
    CHECK_HR(sess_contents_count(s, &count), SESS_S_OK);
    CHECK(count == 18);
    printf("  Remove(\"vNull\"), RemoveAt(1): Count = %zu, item 1 is now %s\n", count, key);

    /* For Each key In Session.Contents: the keys as an array of strings. */
    CHECK_HR(sess_contents_keys(s, &keys), SESS_S_OK);
    CHECK(keys.vt == (SESS_VT_ARRAY | SESS_VT_VARIANT));
    CHECK_HR(sess_array_length(keys.v.parray, &n), SESS_S_OK);
    CHECK(n == count);
    CHECK_HR(sess_array_get(keys.v.parray, 1, &v), SESS_S_OK);
    CHECK(bstr_is(&v, "vI2"));

    /* CopyTo: the values, deep-copied, in the same order. */
    CHECK_HR(sess_contents_copy(s, &values), SESS_S_OK);
    CHECK_HR(sess_array_length(values.v.parray, &n), SESS_S_OK);
    CHECK(n == count);
    CHECK_HR(sess_array_get(values.v.parray, 1, &v), SESS_S_OK);
    CHECK(v.vt == SESS_VT_I4 && v.v.lVal == 7);
    printf("  Keys and CopyTo: %zu keys, %zu values, in Contents order\n", n, n);

    /* The copy holds its own reference to objRef: clear what you receive. */
    CHECK_HR(sess_variant_clear(&values), SESS_S_OK);
    CHECK_HR(sess_variant_clear(&keys), SESS_S_OK);
    CHECK_HR(sess_variant_clear(&v), SESS_S_OK);
    CHECK(demo_refs(component) == 1);
}

/* The seed's StaticObjects example: AppInfo1 and AppInfo2, made on first use. */
static void static_objects(sess_session *s, const int *made)
{
    size_t count = 0, i;
    char name[64], text[64];
    sess_variant obj, again;
    sess_variant_init(&obj);
    sess_variant_init(&again);

    CHECK_HR(sess_static_count(s, &count), SESS_S_OK);
    CHECK(count == 2);
    CHECK(demo_count(made) == 0); /* declared, not made yet */

    /* AppInfo1.PersonalName = "Gertrude Stein" */
    CHECK_HR(sess_static_get(s, "AppInfo1", &obj), SESS_S_OK);
    CHECK(obj.vt == SESS_VT_UNKNOWN && demo_count(made) == 1);
    demo_set_name(demo_from(obj.v.punkVal), "Gertrude Stein");
    /* AppInfo2 by index (StaticObjects.Item(2) in ASP, 1 here). */
    CHECK_HR(sess_static_get_at(s, 1, &obj), SESS_S_OK);
    demo_set_name(demo_from(obj.v.punkVal), "David Davidson");
    CHECK(demo_count(made) == 2);

    /* For Each objInfo In Session.StaticObjects */
    for (i = 0; i < count; i++) {
        CHECK_HR(sess_static_key_at(s, i, name, sizeof name, NULL), SESS_S_OK);
        CHECK_HR(sess_static_get(s, name, &obj), SESS_S_OK);
        printf("  StaticObjects(\"%s\").PersonalName = %s\n", name,
               demo_get_name(demo_from(obj.v.punkVal), text, sizeof text));
    }
    /* One instance per session: getting it again gives the same object. */
    CHECK_HR(sess_static_get(s, "appinfo2", &again), SESS_S_OK);
    CHECK(again.v.punkVal == obj.v.punkVal && demo_count(made) == 2);
    /* An undeclared name is Empty with SESS_S_FALSE, like a missing key. */
    CHECK_HR(sess_static_get(s, "AppInfo3", &again), SESS_S_FALSE);
    CHECK(again.vt == SESS_VT_EMPTY);
    printf("  StaticObjects.Count = %zu\n", count);
    CHECK_HR(sess_variant_clear(&obj), SESS_S_OK);
    CHECK_HR(sess_variant_clear(&again), SESS_S_OK);
}

static void request2_reopen(sess_app *app, const char *id, const int *made)
{
    sess_session *s = NULL;
    bool is_new = true;
    int32_t timeout = 0;

    section("Request 2: the cookie brings the ID back; reopen the session");
    /* Flags 0: exclusive (read-write). Another request for the same session
     * waits until this one closes (up to lock_timeout_ms). */
    CHECK_HR(sess_session_open(app, id, 0, &s), SESS_S_OK);
    CHECK_HR(sess_session_is_new(s, &is_new), SESS_S_OK);
    CHECK(!is_new);
    CHECK_HR(sess_timeout(s, NULL, &timeout), SESS_S_OK);
    CHECK(timeout == 45);
    printf("  IsNewSession = False; Timeout is still %ld\n", (long)timeout);
    check_every_type(s); /* every value survived, by value */
    contents_by_index(s);
    static_objects(s, made);
    CHECK_HR(sess_session_close(s), SESS_S_OK);
}

/* ------------------------------------------------------------------------ */
/* Request 3: read-only                                                      */

static void request3_readonly(sess_app *app, const char *id)
{
    sess_session *r1 = NULL, *r2 = NULL;
    sess_variant v;
    bool ro = false;
    int32_t minutes = 10;
    char text[64];

    section("Request 3: read-only (EnableSessionState=ReadOnly)");
    /* Read-only units share the session: two at once is fine. */
    CHECK_HR(sess_session_open(app, id, SESS_OPEN_READONLY, &r1), SESS_S_OK);
    CHECK_HR(sess_session_open(app, id, SESS_OPEN_READONLY, &r2), SESS_S_OK);
    CHECK_HR(sess_session_is_readonly(r1, &ro), SESS_S_OK);
    CHECK(ro);
    sess_variant_init(&v);
    CHECK_HR(sess_value_get(r2, "UserName", &v), SESS_S_OK);
    CHECK(bstr_is(&v, "Arthur Stra\xC3\x9F" "e"));
    printf("  two read-only units read Session(\"UserName\") = %s\n", show(&v, text, sizeof text));

    /* The static object made in request 2 is there, with its property. */
    CHECK_HR(sess_static_get(r1, "AppInfo1", &v), SESS_S_OK);
    CHECK(strcmp(demo_get_name(demo_from(v.v.punkVal), text, sizeof text), "Gertrude Stein") == 0);

    /* Writing is refused, and nothing changes. */
    CHECK_HR(sess_value_set(r1, "UserName", &v), SESS_E_READONLY);
    CHECK_HR(sess_timeout(r1, &minutes, NULL), SESS_E_READONLY);
    CHECK_HR(sess_contents_remove_all(r1), SESS_E_READONLY);
    printf("  writes fail with SESS_E_READONLY\n");
    CHECK_HR(sess_session_close(r1), SESS_S_OK);
    CHECK_HR(sess_session_close(r2), SESS_S_OK);
    sess_variant_clear(&v);
}

/* ------------------------------------------------------------------------ */
/* A failed request, and a login                                             */

/* A request that fails half-way: sess_session_discard (instead of close)
 * undoes everything it changed. */
static void failed_request(sess_app *app, const char *id)
{
    sess_session *s = NULL;
    sess_variant v;
    int32_t minutes = 1;
    size_t count = 0;

    section("A request that fails: discard its changes");
    CHECK_HR(sess_session_open(app, id, 0, &s), SESS_S_OK);
    sess_variant_init(&v);
    CHECK_HR(sess_variant_set_bstr(&v, "Mallory", SIZE_MAX), SESS_S_OK);
    CHECK_HR(sess_value_set(s, "UserName", &v), SESS_S_OK);
    CHECK_HR(sess_contents_remove_all(s), SESS_S_OK);
    CHECK_HR(sess_timeout(s, &minutes, NULL), SESS_S_OK);
    CHECK_HR(sess_session_discard(s), SESS_S_OK); /* ends the unit, frees the handle */
    printf("  set UserName, RemoveAll and Timeout = 1, then sess_session_discard\n");

    CHECK_HR(sess_session_open(app, id, SESS_OPEN_READONLY, &s), SESS_S_OK);
    CHECK_HR(sess_value_get(s, "UserName", &v), SESS_S_OK);
    CHECK(bstr_is(&v, "Arthur Stra\xC3\x9F" "e"));
    CHECK_HR(sess_contents_count(s, &count), SESS_S_OK);
    CHECK(count == 18);
    CHECK_HR(sess_timeout(s, NULL, &minutes), SESS_S_OK);
    CHECK(minutes == 45);
    CHECK(demo_refs(component) == 1); /* objRef is back in the session */
    printf("  the next request sees the session as it was: %zu items, Timeout %ld\n", count,
           (long)minutes);
    CHECK_HR(sess_session_close(s), SESS_S_OK);
    sess_variant_clear(&v);
}

/* At login, give the session a new ID (against session fixation): the
 * contents stay, the old ID is dead at once. */
static void login(sess_app *app, char *id)
{
    sess_session *s = NULL, *old = NULL;
    char new_id[SESS_ID_LEN + 1];
    size_t count = 0;

    section("Login: a new SessionID for the same session");
    CHECK_HR(sess_session_open(app, id, 0, &s), SESS_S_OK);
    CHECK_HR(sess_session_regenerate_id(s), SESS_S_OK);
    CHECK_HR(sess_session_id(s, new_id, sizeof new_id, NULL), SESS_S_OK);
    CHECK(strcmp(new_id, id) != 0);
    CHECK_HR(sess_session_close(s), SESS_S_OK);
    CHECK_HR(sess_session_open(app, id, 0, &old), SESS_E_SESSION_NOT_FOUND);
    CHECK_HR(sess_session_open(app, new_id, 0, &s), SESS_S_OK);
    CHECK_HR(sess_contents_count(s, &count), SESS_S_OK);
    CHECK(count == 18);
    CHECK_HR(sess_session_close(s), SESS_S_OK);
    printf("  sess_session_regenerate_id: the old ID is not found, the new one has all %zu items\n",
           count);
    memcpy(id, new_id, sizeof new_id); /* the cookie now carries the new ID */
}

/* ------------------------------------------------------------------------ */
/* Conversions and error text                                                */

static void conversions(void)
{
    sess_variant src, dst;
    sess_variant_init(&src);
    sess_variant_init(&dst);
    section("Conversions (VariantChangeTypeEx)");

    src.vt = SESS_VT_R8;
    src.v.dblVal = 3.5;
    CHECK_HR(sess_variant_change_type(&dst, &src, 0x0409, 0, SESS_VT_BSTR), SESS_S_OK);
    CHECK(bstr_is(&dst, "3.5"));
    printf("  R8 3.5 -> BSTR \"%s\"\n", dst.v.bstrVal.ptr);

    src.vt = SESS_VT_DATE;
    src.v.date = START_TIME;
    CHECK_HR(sess_variant_change_type(&dst, &src, 0x0409, 0, SESS_VT_BSTR), SESS_S_OK);
    CHECK(bstr_is(&dst, "1/15/2024 12:00:00 PM"));
    printf("  DATE %.1f -> BSTR \"%s\" (en-US)\n", START_TIME, dst.v.bstrVal.ptr);

    CHECK_HR(sess_variant_set_bstr(&src, " 42 ", SIZE_MAX), SESS_S_OK);
    CHECK_HR(sess_variant_change_type(&dst, &src, 0x0409, 0, SESS_VT_I4), SESS_S_OK);
    CHECK(dst.vt == SESS_VT_I4 && dst.v.lVal == 42);
    printf("  BSTR \" 42 \" -> I4 %ld\n", (long)dst.v.lVal);

    /* Banker's rounding to integers, as in COM; dst may be src. */
    CHECK_HR(sess_variant_clear(&src), SESS_S_OK);
    src.vt = SESS_VT_R8;
    src.v.dblVal = 2.5;
    CHECK_HR(sess_variant_change_type(&src, &src, 0x0409, 0, SESS_VT_I4), SESS_S_OK);
    CHECK(src.vt == SESS_VT_I4 && src.v.lVal == 2);
    printf("  R8 2.5 -> I4 %ld (round half to even), converted in place\n", (long)src.v.lVal);

    src.vt = SESS_VT_BOOL;
    src.v.boolVal = SESS_VARIANT_TRUE;
    CHECK_HR(sess_variant_change_type(&dst, &src, 0x0409, SESS_VARIANT_ALPHABOOL, SESS_VT_BSTR),
             SESS_S_OK);
    CHECK(bstr_is(&dst, "True"));
    CHECK_HR(sess_variant_change_type(&dst, &src, 0x0409, 0, SESS_VT_BSTR), SESS_S_OK);
    CHECK(bstr_is(&dst, "-1"));
    printf("  BOOL True -> \"True\" with SESS_VARIANT_ALPHABOOL, \"-1\" without\n");

    src.vt = SESS_VT_I4;
    src.v.lVal = 300;
    CHECK_HR(sess_variant_change_type(&dst, &src, 0x0409, 0, SESS_VT_UI1), SESS_DISP_E_OVERFLOW);
    CHECK(bstr_is(&dst, "-1")); /* dst is written only on success */
    printf("  I4 300 -> UI1: SESS_DISP_E_OVERFLOW\n");
    sess_variant_clear(&src);
    sess_variant_clear(&dst);
}

static void error_text(sess_app *app)
{
    char text[256];
    size_t len = 0;
    sess_result code = 0;
    sess_session *s = NULL;

    section("Errors: codes, messages and the last error");
    /* Every function returns an HRESULT; the message for any code: */
    CHECK(sess_error_message(SESS_E_SESSION_NOT_FOUND, text, sizeof text, &len) == SESS_S_OK);
    CHECK(len == strlen(text) && strstr(text, "0x80040201") != NULL);
    printf("  sess_error_message: %s\n", text);

    /* A failing call also leaves a detail for this thread. */
    CHECK_HR(sess_session_open(app, "not a session id", 0, &s), SESS_E_INVALID_SESSION_ID);
    CHECK(s == NULL); /* outputs are written only on success */
    CHECK(sess_error_last(&code, text, sizeof text, &len) == SESS_S_OK);
    CHECK(code == SESS_E_INVALID_SESSION_ID && len > 0);
    printf("  sess_error_last after opening \"not a session id\": 0x%08lX %s\n",
           (unsigned long)(uint32_t)code, text);
}

/* ------------------------------------------------------------------------ */
/* Request 4: RemoveAll, Abandon, OnEnd                                      */

static void request4_abandon(sess_app *app, events *ev, const char *id)
{
    sess_session *s = NULL;
    sess_variant v;
    size_t count = 1, sessions = 0;
    bool abandoned = false;
    int ends = 0;
    char user[64];

    section("Request 4: Contents.RemoveAll, then Session.Abandon");
    CHECK_HR(sess_session_open(app, id, 0, &s), SESS_S_OK);
    CHECK_HR(sess_contents_remove_all(s), SESS_S_OK);
    CHECK_HR(sess_contents_count(s, &count), SESS_S_OK);
    CHECK(count == 0);
    printf("  RemoveAll: Contents.Count = 0 (static objects stay)\n");
    /* The session's reference to objRef is dropped by the time the request
     * ends (until then a failed request could still undo the RemoveAll). */

    sess_variant_init(&v);
    CHECK_HR(sess_variant_set_bstr(&v, "Chris", SIZE_MAX), SESS_S_OK);
    CHECK_HR(sess_value_set(s, "UserName", &v), SESS_S_OK);

    /* Abandon takes effect when the unit of work ends: until then the
     * contents stay readable (the seed's intUserAge example). */
    CHECK_HR(sess_abandon(s), SESS_S_OK);
    CHECK_HR(sess_session_is_abandoned(s, &abandoned), SESS_S_OK);
    CHECK(abandoned);
    CHECK_HR(sess_value_get(s, "UserName", &v), SESS_S_OK);
    CHECK(bstr_is(&v, "Chris"));
    printf("  after Abandon, Session(\"UserName\") is still \"Chris\" in this request\n");
    CHECK(events_get(ev, &ends, user, sizeof user) == 1 && ends == 0);

    /* Closing ends the session: OnEnd runs and sees the contents; the
     * static objects are released. */
    CHECK_HR(sess_session_close(s), SESS_S_OK);
    CHECK(events_get(ev, &ends, user, sizeof user) == 1 && ends == 1);
    CHECK(strcmp(user, "Chris") == 0);
    CHECK(demo_alive() == 0 && demo_destroyed() == 3); /* objRef, AppInfo1, AppInfo2 */
    component = NULL;
    printf("  closed: Session_OnEnd ran and read UserName = \"%s\"; objects released\n", user);

    /* The ID is dead: the next request must create a new session. */
    CHECK_HR(sess_session_open(app, id, 0, &s), SESS_E_SESSION_NOT_FOUND);
    CHECK_HR(sess_app_session_count(app, &sessions), SESS_S_OK);
    CHECK(sessions == 0);
    printf("  reopening the old ID: SESS_E_SESSION_NOT_FOUND\n");
    sess_variant_clear(&v);
}

/* ------------------------------------------------------------------------ */
/* Lazy creation                                                             */

static void lazy_creation(void)
{
    sess_app *app = NULL;
    sess_session *s = NULL;
    size_t sessions = 9;
    sess_variant v;

    section("Lazy creation: a session is stored only when used");
    /* NULL options: every default (no OnStart, no static objects). */
    CHECK_HR(sess_app_create(NULL, &app), SESS_S_OK);
    CHECK_HR(sess_session_create(app, &s), SESS_S_OK);
    CHECK_HR(sess_session_close(s), SESS_S_OK); /* nothing written */
    CHECK_HR(sess_app_session_count(app, &sessions), SESS_S_OK);
    CHECK(sessions == 0);
    printf("  a request that writes nothing leaves %zu sessions stored\n", sessions);

    CHECK_HR(sess_session_create(app, &s), SESS_S_OK);
    sess_variant_init(&v);
    v.vt = SESS_VT_I4;
    v.v.lVal = 23;
    CHECK_HR(sess_value_set(s, "intUserAge", &v), SESS_S_OK);
    CHECK_HR(sess_session_close(s), SESS_S_OK);
    CHECK_HR(sess_app_session_count(app, &sessions), SESS_S_OK);
    CHECK(sessions == 1);
    printf("  a request that writes a value leaves %zu session stored\n", sessions);
    sess_app_release(app);
}

/* ------------------------------------------------------------------------ */

int main(void)
{
    sess_app_options opts;
    sess_app *app = NULL;
    events ev;
    int made = 0, ends = 0;
    char id[SESS_ID_LEN + 1], user[64];
    /* GLOBAL.ASA: <OBJECT RUNAT=Server SCOPE=Session ID=AppInfo1 ...> x 2 */
    sess_static_object_decl statics[2];

    section("Version");
    printf("  libsess %s (header %s)\n", sess_version(), SESS_VERSION_STRING);
    CHECK(strcmp(sess_version(), SESS_VERSION_STRING) == 0);

    section("An application");
    memset(&ev, 0, sizeof ev);
    pthread_mutex_init(&ev.lock, NULL);
    statics[0].name = "AppInfo1";
    statics[0].factory = demo_factory;
    statics[0].context = &made;
    statics[1] = statics[0];
    statics[1].name = "AppInfo2";

    /* Options: init fills every default (and struct_size); change a few. */
    CHECK_HR(sess_app_options_init(&opts), SESS_S_OK);
    CHECK(opts.default_timeout_minutes == 20 && opts.default_lcid == 0x0409);
    opts.default_timeout_minutes = 30;
    opts.max_items = 100;
    opts.lock_timeout_ms = 2000;
    opts.on_start = on_start;
    opts.on_end = on_end;
    opts.event_context = &ev;
    opts.static_objects = statics;
    opts.static_object_count = 2;
    CHECK_HR(sess_app_create(&opts, &app), SESS_S_OK);
    printf("  created: Timeout 30 by default, OnStart, OnEnd, 2 static objects\n");

    request1_new_session(app, &ev, id, sizeof id);
    request2_reopen(app, id, &made);
    request3_readonly(app, id);
    failed_request(app, id);
    login(app, id);
    conversions();
    error_text(app);
    request4_abandon(app, &ev, id);
    lazy_creation();

    section("Releasing the application");
    sess_app_release(app); /* would run OnEnd for sessions still stored */
    CHECK(events_get(&ev, &ends, user, sizeof user) == 1 && ends == 1);
    CHECK(demo_alive() == 0);
    printf("  Session_OnStart ran 1 time, Session_OnEnd 1 time; no object left alive\n");
    pthread_mutex_destroy(&ev.lock);
    return check_summary();
}
