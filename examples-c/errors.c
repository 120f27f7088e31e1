/*
 * errors.c: every error path of the C API, checked from C.
 *
 * Each failing call must return its documented code, leave its outputs
 * alone, and leave the same code with a non-empty detail as this thread's
 * last error (CHECK_HR checks that for every expected failure).
 */
#include "check.h"
#include "object.h"
/* The header must be safe to include twice (anything may include it). */
#include "sess.h"

#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* sizeof(sess_variant) is ABI: 24 bytes on 64-bit targets (a C99 static
 * assertion: the array size is negative if it does not hold). */
typedef char assert_sess_variant_is_24_bytes[(sizeof(void *) != 8 || sizeof(sess_variant) == 24) ? 1 : -1];

#define NULLP(expr) CHECK_HR((expr), SESS_E_POINTER)

/* A sentinel "handle" value: an output that must stay untouched. */
static char sentinel_byte;
#define SENTINEL ((void *)&sentinel_byte)

static void section(const char *title)
{
    printf("%s\n", title);
}

static sess_variant i4(int32_t x)
{
    sess_variant v;
    sess_variant_init(&v);
    v.vt = SESS_VT_I4;
    v.v.lVal = x;
    return v;
}

/* A variant with an arbitrary tag: what a C caller can put in `vt`. */
static sess_variant raw(uint16_t vt)
{
    sess_variant v;
    memset(&v, 0, sizeof v);
    v.vt = vt;
    return v;
}

static size_t count_of(sess_session *s)
{
    size_t n = (size_t)-1;
    CHECK_HR(sess_contents_count(s, &n), SESS_S_OK);
    return n;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static void sleep_ms(long ms)
{
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}

/* ------------------------------------------------------------------------ */

static void fresh_thread_has_no_last_error(void)
{
    sess_result code = 42;
    size_t len = 99;
    char buf[8] = "x";
    section("Before any failure, sess_error_last is SESS_S_FALSE with code 0");
    CHECK(sess_error_last(&code, buf, sizeof buf, &len) == SESS_S_FALSE);
    CHECK(code == 0 && buf[0] == '\0' && len == 0);
}

/* ------------------------------------------------------------------------ */

static void null_pointers(sess_app *app, sess_session *s)
{
    sess_session *out_s = (sess_session *)SENTINEL;
    sess_array *arr = NULL;
    sess_variant v = i4(7), w = i4(8);
    size_t n = 12345;
    bool flag = true;
    uint32_t u = 77;
    int32_t minutes = 5;
    char buf[64] = "untouched";

    section("NULL where a pointer is required: SESS_E_POINTER, outputs untouched");
    /* Applications */
    NULLP(sess_app_options_init(NULL));
    NULLP(sess_app_create(NULL, NULL));
    NULLP(sess_app_expire(NULL, &n));
    NULLP(sess_app_session_count(NULL, &n));
    NULLP(sess_app_session_count(app, NULL));
    CHECK(n == 12345);
    /* Sessions */
    NULLP(sess_session_create(NULL, &out_s));
    NULLP(sess_session_create(app, NULL));
    NULLP(sess_session_open(NULL, "AAAAAAAAAAAAAAAAAAAAAA", 0, &out_s));
    NULLP(sess_session_open(app, NULL, 0, &out_s));
    NULLP(sess_session_open(app, "AAAAAAAAAAAAAAAAAAAAAA", 0, NULL));
    CHECK(out_s == (sess_session *)SENTINEL);
    NULLP(sess_session_close(NULL));
    NULLP(sess_session_discard(NULL));
    NULLP(sess_session_regenerate_id(NULL));
    NULLP(sess_session_id(NULL, buf, sizeof buf, &n));
    NULLP(sess_session_id(s, NULL, sizeof buf, &n)); /* NULL buf with a length */
    NULLP(sess_session_is_new(NULL, &flag));
    NULLP(sess_session_is_new(s, NULL));
    NULLP(sess_session_is_readonly(NULL, &flag));
    NULLP(sess_session_is_readonly(s, NULL));
    NULLP(sess_session_is_abandoned(NULL, &flag));
    NULLP(sess_session_is_abandoned(s, NULL));
    NULLP(sess_session_mode(NULL, &u));
    NULLP(sess_session_mode(s, NULL));
    CHECK(flag && u == 77 && strcmp(buf, "untouched") == 0);
    NULLP(sess_abandon(NULL));
    /* Values */
    NULLP(sess_value_get(NULL, "k", &v));
    NULLP(sess_value_get(s, NULL, &v));
    NULLP(sess_value_get(s, "k", NULL));
    CHECK(v.vt == SESS_VT_I4 && v.v.lVal == 7);
    NULLP(sess_value_set(NULL, "k", &v));
    NULLP(sess_value_set(s, NULL, &v));
    NULLP(sess_value_set(s, "k", NULL));
    /* Properties: the session is required; new and out are optional. */
    NULLP(sess_timeout(NULL, &minutes, &minutes));
    NULLP(sess_lcid(NULL, NULL, &u));
    NULLP(sess_codepage(NULL, NULL, &u));
    CHECK(minutes == 5 && u == 77);
    CHECK_HR(sess_timeout(s, NULL, NULL), SESS_S_OK);
    /* Contents */
    NULLP(sess_contents_count(NULL, &n));
    NULLP(sess_contents_count(s, NULL));
    NULLP(sess_contents_key_at(NULL, 0, buf, sizeof buf, &n));
    CHECK_HR(sess_value_set(s, "k", &v), SESS_S_OK); /* so that index 0 exists */
    NULLP(sess_contents_key_at(s, 0, NULL, sizeof buf, &n));
    NULLP(sess_contents_get_at(NULL, 0, &v));
    NULLP(sess_contents_get_at(s, 0, NULL));
    NULLP(sess_contents_set_at(NULL, 0, &v));
    NULLP(sess_contents_set_at(s, 0, NULL));
    NULLP(sess_contents_remove(NULL, "k"));
    NULLP(sess_contents_remove(s, NULL));
    NULLP(sess_contents_remove_at(NULL, 0));
    NULLP(sess_contents_remove_all(NULL));
    NULLP(sess_contents_keys(NULL, &v));
    NULLP(sess_contents_keys(s, NULL));
    NULLP(sess_contents_copy(NULL, &v));
    NULLP(sess_contents_copy(s, NULL));
    CHECK(v.vt == SESS_VT_I4 && v.v.lVal == 7 && n == 12345);
    CHECK_HR(sess_contents_remove_all(s), SESS_S_OK);
    /* StaticObjects */
    NULLP(sess_static_count(NULL, &n));
    NULLP(sess_static_count(s, NULL));
    NULLP(sess_static_key_at(NULL, 0, buf, sizeof buf, &n));
    NULLP(sess_static_key_at(s, 0, NULL, sizeof buf, &n));
    NULLP(sess_static_get(NULL, "AppInfo1", &v));
    NULLP(sess_static_get(s, NULL, &v));
    NULLP(sess_static_get(s, "AppInfo1", NULL));
    NULLP(sess_static_get(s, "NotDeclared", NULL));
    NULLP(sess_static_get_at(NULL, 0, &v));
    NULLP(sess_static_get_at(s, 0, NULL));
    CHECK(v.vt == SESS_VT_I4 && v.v.lVal == 7);
    /* Arrays */
    NULLP(sess_array_create(1, NULL));
    CHECK_HR(sess_array_create(2, &arr), SESS_S_OK);
    NULLP(sess_array_length(NULL, &n));
    NULLP(sess_array_length(arr, NULL));
    NULLP(sess_array_get(NULL, 0, &v));
    NULLP(sess_array_get(arr, 0, NULL));
    NULLP(sess_array_set(NULL, 0, &v));
    NULLP(sess_array_set(arr, 0, NULL));
    CHECK(n == 12345);
    sess_array_destroy(arr);
    /* Variants */
    NULLP(sess_variant_clear(NULL));
    NULLP(sess_variant_copy(NULL, &v));
    NULLP(sess_variant_copy(&w, NULL));
    NULLP(sess_variant_set_bstr(NULL, "x", SIZE_MAX));
    NULLP(sess_variant_set_bstr(&w, NULL, SIZE_MAX));
    NULLP(sess_variant_set_bstr(&w, NULL, 3));
    NULLP(sess_variant_change_type(NULL, &v, 0, 0, SESS_VT_BSTR));
    NULLP(sess_variant_change_type(&w, NULL, 0, 0, SESS_VT_BSTR));
    CHECK(w.vt == SESS_VT_I4 && w.v.lVal == 8);
    /* ...but NULL with length 0 is the empty string. */
    CHECK_HR(sess_variant_set_bstr(&w, NULL, 0), SESS_S_OK);
    CHECK(bstr_is(&w, ""));
    CHECK_HR(sess_variant_clear(&w), SESS_S_OK);
    /* Variants whose pointer fields are NULL. */
    w = raw(SESS_VT_BSTR);
    w.v.bstrVal.len = 5; /* NULL ptr with a length */
    NULLP(sess_value_set(s, "k", &w));
    w = raw(SESS_VT_UNKNOWN);
    NULLP(sess_value_set(s, "k", &w));
    w = raw(SESS_VT_DISPATCH);
    NULLP(sess_value_set(s, "k", &w));
    w = raw(SESS_VT_ARRAY | SESS_VT_VARIANT);
    NULLP(sess_value_set(s, "k", &w));
    CHECK(count_of(s) == 0);
    /* Code pages */
    NULLP(sess_codepage_encode(65001, NULL, 3, 0, buf, sizeof buf, &n));
    NULLP(sess_codepage_encode(65001, "abc", 3, 0, NULL, sizeof buf, &n));
    NULLP(sess_codepage_decode(65001, NULL, 3, buf, sizeof buf, &n));
    NULLP(sess_codepage_charset(65001, NULL, sizeof buf, &n));
    CHECK(n == 12345 && strcmp(buf, "untouched") == 0);
    /* Error text: a NULL buffer with a length (these two never change the
     * last error, so they are checked without CHECK_HR). */
    CHECK(sess_error_message(SESS_E_FAIL, NULL, 10, &n) == SESS_E_POINTER);
    CHECK(sess_error_last(NULL, NULL, 10, &n) == SESS_E_POINTER);
}

/* ------------------------------------------------------------------------ */

static void invalid_utf8(sess_app *app, sess_session *s)
{
    static const char bad[] = "bad\xFF" "name";
    static const char bad_id[] = "AAAAAAAAAAAAAAAAAAAA\xC3\x28"; /* 22 bytes */
    sess_variant v = i4(1), text;
    sess_session *out_s = (sess_session *)SENTINEL;

    section("Invalid UTF-8 in names, IDs and strings: SESS_E_INVALIDARG");
    CHECK_HR(sess_value_set(s, bad, &v), SESS_E_INVALIDARG);
    CHECK_HR(sess_value_get(s, bad, &v), SESS_E_INVALIDARG);
    CHECK_HR(sess_contents_remove(s, bad), SESS_E_INVALIDARG);
    CHECK_HR(sess_static_get(s, bad, &v), SESS_E_INVALIDARG);
    CHECK(v.vt == SESS_VT_I4 && v.v.lVal == 1);
    CHECK_HR(sess_session_open(app, bad_id, 0, &out_s), SESS_E_INVALIDARG);
    CHECK(out_s == (sess_session *)SENTINEL);
    /* sess_variant_set_bstr: NUL-terminated, or with a length. */
    CHECK_HR(sess_variant_set_bstr(&v, bad, SIZE_MAX), SESS_E_INVALIDARG);
    CHECK_HR(sess_variant_set_bstr(&v, "\xC3\xA9", 1), SESS_E_INVALIDARG); /* cut in half */
    CHECK(v.vt == SESS_VT_I4 && v.v.lVal == 1);
    CHECK_HR(sess_variant_set_bstr(&v, "\xC3\xA9", 2), SESS_S_OK); /* "é" */
    CHECK(bstr_is(&v, "\xC3\xA9"));
    /* A string variant built by hand with invalid bytes is refused too. */
    text = raw(SESS_VT_BSTR);
    text.v.bstrVal.ptr = (char *)bad;
    text.v.bstrVal.len = sizeof bad - 1;
    CHECK_HR(sess_value_set(s, "k", &text), SESS_E_INVALIDARG);
    CHECK_HR(sess_variant_copy(&v, &text), SESS_E_INVALIDARG);
    CHECK(bstr_is(&v, "\xC3\xA9"));
    CHECK(count_of(s) == 0);
    sess_variant_clear(&v);
}

/* ------------------------------------------------------------------------ */

static void bad_vartypes(sess_session *s)
{
    static const uint16_t bad[] = {14, 15, SESS_VT_VARIANT, 22, 0x2003, 0x4003, 0x6000, 0xFFFF};
    size_t i;
    sess_variant good = i4(5), dst, out;
    sess_array *arr = NULL;

    section("Bad vt tags: SESS_DISP_E_BADVARTYPE, nothing read or freed");
    CHECK_HR(sess_array_create(1, &arr), SESS_S_OK);
    CHECK_HR(sess_value_set(s, "k", &good), SESS_S_OK);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sess_variant b = raw(bad[i]);
        b.v.ullVal = 0xDEADBEEF;
        dst = i4(9);
        CHECK_HR(sess_value_set(s, "k2", &b), SESS_DISP_E_BADVARTYPE);
        CHECK_HR(sess_contents_set_at(s, 0, &b), SESS_DISP_E_BADVARTYPE);
        CHECK_HR(sess_array_set(arr, 0, &b), SESS_DISP_E_BADVARTYPE);
        CHECK_HR(sess_variant_copy(&dst, &b), SESS_DISP_E_BADVARTYPE);
        CHECK(dst.vt == SESS_VT_I4 && dst.v.lVal == 9);
        /* A destination that cannot be cleared is refused as well. */
        CHECK_HR(sess_variant_copy(&b, &good), SESS_DISP_E_BADVARTYPE);
        CHECK_HR(sess_value_get(s, "k", &b), SESS_DISP_E_BADVARTYPE);
        CHECK_HR(sess_variant_clear(&b), SESS_DISP_E_BADVARTYPE);
        CHECK(b.vt == bad[i] && b.v.ullVal == 0xDEADBEEF); /* untouched */
        CHECK_HR(sess_variant_change_type(&dst, &b, 0x0409, 0, SESS_VT_I4), SESS_DISP_E_BADVARTYPE);
        if (bad[i] == SESS_VT_VARIANT) /* VT_VARIANT alone: a type mismatch, as in COM */
            CHECK_HR(sess_variant_change_type(&dst, &good, 0x0409, 0, bad[i]), SESS_DISP_E_TYPEMISMATCH);
        else
            CHECK_HR(sess_variant_change_type(&dst, &good, 0x0409, 0, bad[i]), SESS_DISP_E_BADVARTYPE);
        CHECK(dst.vt == SESS_VT_I4 && dst.v.lVal == 9);
    }
    /* Nothing was stored or changed. */
    CHECK(count_of(s) == 1);
    sess_variant_init(&out);
    CHECK_HR(sess_value_get(s, "k", &out), SESS_S_OK);
    CHECK(out.vt == SESS_VT_I4 && out.v.lVal == 5);
    CHECK_HR(sess_contents_remove_all(s), SESS_S_OK);
    sess_array_destroy(arr);
}

/* ------------------------------------------------------------------------ */

static void bad_objects(sess_session *s)
{
    static const sess_unknown_vtbl no_release = {demo_query_interface, demo_add_ref, NULL};
    demo_object *o = demo_new("half");
    sess_unknown no_vtbl;
    sess_variant v = raw(SESS_VT_UNKNOWN);
    void *p;

    section("Objects without a vtable or release: refused");
    no_vtbl.vtbl = NULL;
    v.v.punkVal = &no_vtbl;
    CHECK_HR(sess_value_set(s, "obj", &v), SESS_E_POINTER);
    o->base.vtbl = &no_release;
    v.v.punkVal = &o->base;
    CHECK_HR(sess_value_set(s, "obj", &v), SESS_E_INVALIDARG);
    CHECK(demo_refs(o) == 1); /* not AddRef'd */
    o->base.vtbl = &demo_vtbl;
    CHECK(count_of(s) == 0);
    /* The example object keeps COM's rule: a failed QueryInterface leaves
     * *out NULL. */
    p = o;
    CHECK(demo_query_interface(&o->base, NULL, &p) == SESS_E_POINTER && p == NULL);
    demo_release(&o->base);
}

/* ------------------------------------------------------------------------ */

static void nesting_limit(void)
{
    sess_variant v, inner;
    sess_array *a = NULL;
    int depth = 0;
    sess_result rc = SESS_S_OK;

    section("Arrays nested deeper than 32 levels: SESS_E_INVALIDARG");
    sess_variant_init(&v); /* depth 0 */
    while (depth < 40) {
        CHECK_HR(sess_array_create(1, &a), SESS_S_OK);
        rc = sess_array_set(a, 0, &v);
        if (rc != SESS_S_OK) {
            sess_array_destroy(a);
            break;
        }
        inner = raw(SESS_VT_ARRAY | SESS_VT_VARIANT);
        inner.v.parray = a;
        sess_variant_clear(&v);
        v = inner;
        depth++;
    }
    CHECK(depth == 32);
    CHECK_HR(rc, SESS_E_INVALIDARG);
    sess_variant_clear(&v);
}

/* ------------------------------------------------------------------------ */

static void limits(void)
{
    sess_app_options o;
    sess_app *app = NULL;
    sess_session *s1 = NULL, *s2 = NULL, *s3 = NULL;
    sess_variant v;
    sess_array *arr = NULL;
    size_t sessions = 0;

    section("Limits: value size, items, key length, sessions");
    CHECK_HR(sess_app_options_init(&o), SESS_S_OK);
    o.max_value_bytes = 16;
    o.max_items = 3;
    o.max_key_bytes = 8;
    o.max_sessions = 2;
    CHECK_HR(sess_app_create(&o, &app), SESS_S_OK);
    CHECK_HR(sess_session_create(app, &s1), SESS_S_OK);
    sess_variant_init(&v);

    /* A value over max_value_bytes (a string's UTF-8 length; an array's
     * elements summed). */
    CHECK_HR(sess_variant_set_bstr(&v, "0123456789abcdefX", SIZE_MAX), SESS_S_OK);
    CHECK_HR(sess_value_set(s1, "big", &v), SESS_E_VALUE_TOO_LARGE);
    CHECK_HR(sess_variant_set_bstr(&v, "0123456789abcdef", SIZE_MAX), SESS_S_OK);
    CHECK_HR(sess_value_set(s1, "big", &v), SESS_S_OK); /* exactly the limit */
    CHECK_HR(sess_array_create(3, &arr), SESS_S_OK);
    CHECK_HR(sess_array_set(arr, 0, &v), SESS_S_OK);
    CHECK_HR(sess_variant_clear(&v), SESS_S_OK);
    v.vt = SESS_VT_ARRAY | SESS_VT_VARIANT;
    v.v.parray = arr; /* 16 bytes of text + two empties: over the limit */
    CHECK_HR(sess_value_set(s1, "arr", &v), SESS_E_VALUE_TOO_LARGE);
    CHECK_HR(sess_contents_set_at(s1, 0, &v), SESS_E_VALUE_TOO_LARGE);
    CHECK_HR(sess_variant_clear(&v), SESS_S_OK);

    /* Keys: 1 to max_key_bytes bytes. */
    v = i4(1);
    CHECK_HR(sess_value_set(s1, "", &v), SESS_E_BAD_KEY);
    CHECK_HR(sess_value_set(s1, "123456789", &v), SESS_E_BAD_KEY);
    CHECK_HR(sess_value_set(s1, "12345678", &v), SESS_S_OK);

    /* Items: max_items keys; replacing an existing one is still fine. */
    CHECK_HR(sess_value_set(s1, "third", &v), SESS_S_OK);
    CHECK_HR(sess_value_set(s1, "fourth", &v), SESS_E_TOO_MANY_ITEMS);
    CHECK_HR(sess_value_set(s1, "THIRD", &v), SESS_S_OK);
    CHECK(count_of(s1) == 3);

    /* Sessions: a new session is stored on its first write; the third
     * one's first write finds the application full. */
    CHECK_HR(sess_session_create(app, &s2), SESS_S_OK);
    CHECK_HR(sess_value_set(s2, "k", &v), SESS_S_OK);
    CHECK_HR(sess_session_create(app, &s3), SESS_S_OK); /* lazy: not stored yet */
    CHECK_HR(sess_value_set(s3, "k", &v), SESS_E_TOO_MANY_SESSIONS);
    CHECK(count_of(s3) == 0); /* nothing changed */
    CHECK_HR(sess_app_session_count(app, &sessions), SESS_S_OK);
    CHECK(sessions == 2);
    CHECK_HR(sess_session_close(s3), SESS_S_OK);
    /* Once one ends, there is room again. */
    CHECK_HR(sess_abandon(s2), SESS_S_OK);
    CHECK_HR(sess_session_close(s2), SESS_S_OK);
    CHECK_HR(sess_session_create(app, &s3), SESS_S_OK);
    CHECK_HR(sess_value_set(s3, "k", &v), SESS_S_OK);
    CHECK_HR(sess_session_close(s3), SESS_S_OK);
    CHECK_HR(sess_session_close(s1), SESS_S_OK);
    sess_app_release(app);
}

/* ------------------------------------------------------------------------ */

static int check_create_fails(sess_app_options *o, sess_result expected);

static void session_bytes(void)
{
    sess_app_options o;
    sess_app *app = NULL;
    sess_session *s1 = NULL, *s2 = NULL;
    sess_variant v, got;
    size_t sessions = 0;
    /* 100 bytes of text: with a 1-byte key, 101 bytes of session. */
    const char *hundred = "0123456789012345678901234567890123456789012345678901234567890123456789"
                          "012345678901234567890123456789";

    section("Limits: bytes per session and the application's memory budget");
    CHECK_HR(sess_app_options_init(&o), SESS_S_OK);
    CHECK(o.max_session_bytes == 4194304 && o.memory_budget_bytes == 1073741824);
    o.max_session_bytes = 0;
    check_create_fails(&o, SESS_E_INVALID_OPTION);
    o.max_session_bytes = 300;
    o.memory_budget_bytes = 299; /* below one session's limit */
    check_create_fails(&o, SESS_E_INVALID_OPTION);
    o.memory_budget_bytes = 400;
    CHECK_HR(sess_app_create(&o, &app), SESS_S_OK);
    CHECK_HR(sess_session_create(app, &s1), SESS_S_OK);
    sess_variant_init(&v);
    sess_variant_init(&got);
    CHECK_HR(sess_variant_set_bstr(&v, hundred, SIZE_MAX), SESS_S_OK);
    CHECK_HR(sess_value_set(s1, "a", &v), SESS_S_OK);
    CHECK_HR(sess_value_set(s1, "b", &v), SESS_S_OK);
    /* 202 + 101 > 300: refused, nothing changed. */
    CHECK_HR(sess_value_set(s1, "c", &v), SESS_E_SESSION_TOO_LARGE);
    CHECK(count_of(s1) == 2);
    CHECK_HR(sess_value_get(s1, "c", &got), SESS_S_FALSE);
    /* Replacing a value counts only the difference. */
    CHECK_HR(sess_value_set(s1, "B", &v), SESS_S_OK);

    /* A second session: 202 + 202 > 400 passes the budget. Its first write
     * fits, so it is stored; the refused one leaves it as it was. */
    CHECK_HR(sess_session_create(app, &s2), SESS_S_OK);
    CHECK_HR(sess_value_set(s2, "x", &v), SESS_S_OK);
    CHECK_HR(sess_value_set(s2, "y", &v), SESS_E_MEMORY_BUDGET);
    CHECK(count_of(s2) == 1);
    CHECK_HR(sess_app_session_count(app, &sessions), SESS_S_OK);
    CHECK(sessions == 2);
    /* Abandoning the first session gives its bytes back. */
    CHECK_HR(sess_abandon(s1), SESS_S_OK);
    CHECK_HR(sess_session_close(s1), SESS_S_OK);
    CHECK_HR(sess_value_set(s2, "y", &v), SESS_S_OK);
    CHECK(count_of(s2) == 2);
    CHECK_HR(sess_session_close(s2), SESS_S_OK);
    CHECK_HR(sess_variant_clear(&v), SESS_S_OK);
    sess_app_release(app);
}

/* ------------------------------------------------------------------------ */

typedef struct opener {
    sess_app *app;
    const char *id;
    uint32_t flags;
    sess_result rc;
    sess_result last; /* this thread's last error code afterwards */
    double waited_ms;
} opener;

/* Another request for the same session, on its own thread. */
static void *open_from_thread(void *arg)
{
    opener *op = (opener *)arg;
    sess_session *s = NULL;
    double start = now_ms();
    op->rc = sess_session_open(op->app, op->id, op->flags, &s);
    op->waited_ms = now_ms() - start;
    op->last = 0;
    if (op->rc < 0) {
        char detail[256] = "";
        CHECK(sess_error_last(&op->last, detail, sizeof detail, NULL) == SESS_S_OK);
        CHECK(op->last == op->rc && detail[0] != '\0');
    }
    if (op->rc == SESS_S_OK)
        CHECK_HR(sess_session_close(s), SESS_S_OK);
    return NULL;
}

static opener open_in_thread(sess_app *app, const char *id, uint32_t flags, long close_after_ms,
                             sess_session *holder)
{
    pthread_t t;
    opener op;
    memset(&op, 0, sizeof op);
    op.app = app;
    op.id = id;
    op.flags = flags;
    CHECK(pthread_create(&t, NULL, open_from_thread, &op) == 0);
    if (holder != NULL) {
        sleep_ms(close_after_ms);
        CHECK_HR(sess_session_close(holder), SESS_S_OK);
    }
    CHECK(pthread_join(t, NULL) == 0);
    return op;
}

static void lock_timeouts(void)
{
    sess_app_options o;
    sess_app *app = NULL;
    sess_session *s = NULL, *r = NULL;
    sess_variant v = i4(1);
    sess_result before = 0;
    char id[SESS_ID_LEN + 1], detail[256];
    opener op;

    section("Lock timeout: a session held by one request, opened from another thread");
    CHECK_HR(sess_app_options_init(&o), SESS_S_OK);
    o.lock_timeout_ms = 200;
    CHECK_HR(sess_app_create(&o, &app), SESS_S_OK);
    CHECK_HR(sess_session_create(app, &s), SESS_S_OK);
    CHECK_HR(sess_value_set(s, "k", &v), SESS_S_OK);
    CHECK_HR(sess_session_id(s, id, sizeof id, NULL), SESS_S_OK);
    CHECK_HR(sess_session_close(s), SESS_S_OK);

    /* Held exclusively: exclusive and read-only opens both time out. */
    CHECK_HR(sess_session_open(app, id, 0, &s), SESS_S_OK);
    CHECK(sess_error_last(&before, detail, sizeof detail, NULL) == SESS_S_OK);
    op = open_in_thread(app, id, 0, 0, NULL);
    CHECK(op.rc == SESS_E_LOCK_TIMEOUT && op.last == SESS_E_LOCK_TIMEOUT);
    CHECK(op.waited_ms >= 150 && op.waited_ms < 5000);
    printf("  exclusive open while held: SESS_E_LOCK_TIMEOUT after ~%d ms (timeout 200)\n",
           op.waited_ms < 400 ? 200 : (int)op.waited_ms);
    op = open_in_thread(app, id, SESS_OPEN_READONLY, 0, NULL);
    CHECK(op.rc == SESS_E_LOCK_TIMEOUT);
    /* The last error is per thread: this thread's is unchanged. */
    {
        sess_result after = 0;
        CHECK(sess_error_last(&after, detail, sizeof detail, NULL) == SESS_S_OK);
        CHECK(after == before);
    }
    CHECK_HR(sess_session_close(s), SESS_S_OK);

    /* Held read-only: another read-only open shares it, exclusive waits. */
    CHECK_HR(sess_session_open(app, id, SESS_OPEN_READONLY, &r), SESS_S_OK);
    op = open_in_thread(app, id, SESS_OPEN_READONLY, 0, NULL);
    CHECK(op.rc == SESS_S_OK);
    op = open_in_thread(app, id, 0, 0, NULL);
    CHECK(op.rc == SESS_E_LOCK_TIMEOUT);
    CHECK_HR(sess_session_close(r), SESS_S_OK);
    sess_app_release(app);

    /* A waiter is woken when the holder closes, well before its timeout. */
    o.lock_timeout_ms = 20000;
    CHECK_HR(sess_app_create(&o, &app), SESS_S_OK);
    CHECK_HR(sess_session_create(app, &s), SESS_S_OK);
    CHECK_HR(sess_value_set(s, "k", &v), SESS_S_OK);
    CHECK_HR(sess_session_id(s, id, sizeof id, NULL), SESS_S_OK);
    op = open_in_thread(app, id, 0, 100, s); /* closes s after 100 ms */
    CHECK(op.rc == SESS_S_OK);
    CHECK(op.waited_ms < 10000);
    printf("  a waiting request gets the session when the holder closes\n");
    sess_app_release(app);
}

/* ------------------------------------------------------------------------ */

static void readonly_writes(void)
{
    sess_app_options o;
    sess_static_object_decl decl;
    sess_app *app = NULL;
    sess_session *s = NULL;
    sess_variant v = i4(1), out;
    int32_t minutes = 5;
    uint32_t lcid = 1036, cp = 1252, got = 0;
    int made = 0;
    char id[SESS_ID_LEN + 1];

    section("Read-only sessions: every write is SESS_E_READONLY, nothing changes");
    decl.name = "AppInfo1";
    decl.factory = demo_factory;
    decl.context = &made;
    CHECK_HR(sess_app_options_init(&o), SESS_S_OK);
    o.static_objects = &decl;
    o.static_object_count = 1;
    CHECK_HR(sess_app_create(&o, &app), SESS_S_OK);
    CHECK_HR(sess_session_create(app, &s), SESS_S_OK);
    CHECK_HR(sess_value_set(s, "k", &v), SESS_S_OK);
    CHECK_HR(sess_session_id(s, id, sizeof id, NULL), SESS_S_OK);
    CHECK_HR(sess_session_close(s), SESS_S_OK);

    CHECK_HR(sess_session_open(app, id, SESS_OPEN_READONLY, &s), SESS_S_OK);
    v = i4(2);
    CHECK_HR(sess_value_set(s, "k", &v), SESS_E_READONLY);
    CHECK_HR(sess_value_set(s, "new", &v), SESS_E_READONLY);
    CHECK_HR(sess_contents_set_at(s, 0, &v), SESS_E_READONLY);
    CHECK_HR(sess_contents_remove(s, "k"), SESS_E_READONLY);
    CHECK_HR(sess_contents_remove(s, "absent"), SESS_E_READONLY);
    CHECK_HR(sess_contents_remove_at(s, 0), SESS_E_READONLY);
    CHECK_HR(sess_contents_remove_all(s), SESS_E_READONLY);
    CHECK_HR(sess_timeout(s, &minutes, NULL), SESS_E_READONLY);
    CHECK_HR(sess_lcid(s, &lcid, NULL), SESS_E_READONLY);
    CHECK_HR(sess_codepage(s, &cp, &got), SESS_E_READONLY);
    CHECK(got == 0);
    CHECK_HR(sess_session_regenerate_id(s), SESS_E_READONLY);
    /* A static object not made yet: the read-only unit makes its own
     * (released when it ends; the session keeps none). */
    sess_variant_init(&out);
    CHECK_HR(sess_static_get(s, "AppInfo1", &out), SESS_S_OK);
    CHECK(out.vt == SESS_VT_UNKNOWN && demo_count(&made) == 1);
    CHECK_HR(sess_variant_clear(&out), SESS_S_OK);
    /* Reads still work, and see the old value. */
    CHECK_HR(sess_value_get(s, "k", &out), SESS_S_OK);
    CHECK(out.vt == SESS_VT_I4 && out.v.lVal == 1 && count_of(s) == 1);
    CHECK_HR(sess_timeout(s, NULL, &minutes), SESS_S_OK);
    CHECK(minutes == 20);
    CHECK_HR(sess_session_close(s), SESS_S_OK);
    sess_app_release(app);
}

/* ------------------------------------------------------------------------ */

static void session_ids(sess_app *app)
{
    static const char *const malformed[] = {
        "",
        "short",
        "../x",
        "../../../../../etc/pas",  /* 22 characters, path-like */
        "aaaaaaaaaaaaaaaaaaaa;a",  /* 22 with ';' */
        "aaaaaaaaaaaaaaaaaaaa+a",  /* standard base64, not URL-safe */
        "aaaaaaaaaaaaaaaaaaaa/a",
        "aaaaaaaaaaaaaaaaaaa==",
        "aaaaaaaaaaaaaaaaaaaaaaa", /* 23 */
        "AAAAAAAAAAAAAAAAAAAAAB",  /* not canonical: stray low bits */
        "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9",
    };
    size_t i;
    sess_session *out = (sess_session *)SENTINEL;

    section("Malformed session IDs: SESS_E_INVALID_SESSION_ID; unknown ones: NOT_FOUND");
    for (i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
        CHECK_HR(sess_session_open(app, malformed[i], 0, &out), SESS_E_INVALID_SESSION_ID);
        CHECK_HR(sess_session_open(app, malformed[i], SESS_OPEN_READONLY, &out),
                 SESS_E_INVALID_SESSION_ID);
    }
    /* Well formed but never issued: never adopted. */
    CHECK_HR(sess_session_open(app, "AAAAAAAAAAAAAAAAAAAAAA", 0, &out), SESS_E_SESSION_NOT_FOUND);
    CHECK_HR(sess_session_open(app, "abcdefghijklmnopqrstuA", SESS_OPEN_READONLY, &out),
             SESS_E_SESSION_NOT_FOUND);
    CHECK_HR(sess_session_open(app, "Zm9vYmFyLWJhei1xdXV4LQ", 0, &out), SESS_E_SESSION_NOT_FOUND);
    /* Unknown flag bits. */
    CHECK_HR(sess_session_open(app, "AAAAAAAAAAAAAAAAAAAAAA", 2, &out), SESS_E_INVALIDARG);
    CHECK(out == (sess_session *)SENTINEL);
}

/* ------------------------------------------------------------------------ */

static void bad_indexes(sess_session *s)
{
    sess_variant v = i4(1), out = i4(42);
    sess_array *a = NULL;
    char buf[32] = "untouched";
    size_t n = 99;

    section("Bad indexes: SESS_DISP_E_BADINDEX, outputs untouched");
    CHECK_HR(sess_value_set(s, "only", &v), SESS_S_OK);
    CHECK_HR(sess_contents_get_at(s, 1, &out), SESS_DISP_E_BADINDEX);
    CHECK_HR(sess_contents_get_at(s, SIZE_MAX, &out), SESS_DISP_E_BADINDEX);
    CHECK_HR(sess_contents_key_at(s, 1, buf, sizeof buf, &n), SESS_DISP_E_BADINDEX);
    CHECK_HR(sess_contents_set_at(s, 1, &v), SESS_DISP_E_BADINDEX);
    CHECK_HR(sess_contents_remove_at(s, 1), SESS_DISP_E_BADINDEX);
    CHECK_HR(sess_contents_remove_at(s, SIZE_MAX), SESS_DISP_E_BADINDEX);
    CHECK(count_of(s) == 1);
    /* StaticObjects: this application declares 1. */
    CHECK_HR(sess_static_key_at(s, 1, buf, sizeof buf, &n), SESS_DISP_E_BADINDEX);
    CHECK_HR(sess_static_get_at(s, 1, &out), SESS_DISP_E_BADINDEX);
    /* Arrays */
    CHECK_HR(sess_array_create(2, &a), SESS_S_OK);
    CHECK_HR(sess_array_get(a, 2, &out), SESS_DISP_E_BADINDEX);
    CHECK_HR(sess_array_set(a, 2, &v), SESS_DISP_E_BADINDEX);
    CHECK(out.vt == SESS_VT_I4 && out.v.lVal == 42 && n == 99 && strcmp(buf, "untouched") == 0);
    sess_array_destroy(a);
    CHECK_HR(sess_contents_remove_all(s), SESS_S_OK);
}

/* ------------------------------------------------------------------------ */

static void small_buffers(sess_session *s)
{
    char buf[SESS_ID_LEN + 1];
    char tiny[4] = "abc";
    size_t n = 0;
    sess_result code = 0;
    sess_variant v = i4(1);

    section("Buffers too small: SESS_E_INSUFFICIENT_BUFFER with the length needed");
    memset(buf, 'x', sizeof buf);
    CHECK_HR(sess_session_id(s, buf, SESS_ID_LEN, &n), SESS_E_INSUFFICIENT_BUFFER); /* no room for NUL */
    CHECK(n == SESS_ID_LEN && buf[0] == 'x');
    n = 0;
    CHECK_HR(sess_session_id(s, NULL, 0, &n), SESS_E_INSUFFICIENT_BUFFER); /* size query */
    CHECK(n == SESS_ID_LEN);
    CHECK_HR(sess_session_id(s, buf, sizeof buf, &n), SESS_S_OK);

    CHECK_HR(sess_value_set(s, "LongKeyName", &v), SESS_S_OK);
    CHECK_HR(sess_contents_key_at(s, 0, tiny, sizeof tiny, &n), SESS_E_INSUFFICIENT_BUFFER);
    CHECK(n == 11 && strcmp(tiny, "abc") == 0);
    CHECK_HR(sess_static_key_at(s, 0, tiny, sizeof tiny, &n), SESS_E_INSUFFICIENT_BUFFER);
    CHECK(n == strlen("AppInfo1") && strcmp(tiny, "abc") == 0);
    /* valueTxt setting and reading back: a buffer too small for the new
     * text fails before anything is stored. */
    n = 0;
    CHECK_HR(sess_value_txt(s, "Note", "hello", tiny, sizeof tiny, &n), SESS_E_INSUFFICIENT_BUFFER);
    CHECK(n == 5 && strcmp(tiny, "abc") == 0);
    CHECK_HR(sess_value_get(s, "Note", &v), SESS_S_FALSE); /* not stored */
    CHECK(v.vt == SESS_VT_EMPTY);
    CHECK_HR(sess_contents_remove_all(s), SESS_S_OK);

    /* The error functions follow the same rule (and keep the last error). */
    CHECK(sess_error_message(SESS_E_LOCK_TIMEOUT, tiny, sizeof tiny, &n) == SESS_E_INSUFFICIENT_BUFFER);
    CHECK(n > sizeof tiny && strcmp(tiny, "abc") == 0);
    CHECK(sess_error_last(&code, tiny, sizeof tiny, &n) == SESS_E_INSUFFICIENT_BUFFER);
    CHECK(n > 0);
    /* No buffer at all asks for the code only. */
    code = 0;
    CHECK(sess_error_last(&code, NULL, 0, &n) == SESS_S_OK);
    CHECK(code == SESS_E_INSUFFICIENT_BUFFER && n > 0);
    code = 0;
    {
        char detail[512];
        CHECK(sess_error_last(&code, detail, sizeof detail, NULL) == SESS_S_OK);
        CHECK(code == SESS_E_INSUFFICIENT_BUFFER); /* from key_at above */
    }
}

/* ------------------------------------------------------------------------ */

static sess_result fail_start(void *context, sess_session *s)
{
    (void)context;
    (void)s;
    return (sess_result)0x8004F001; /* a host's own failure code */
}

static sess_result failing_factory(void *context, const char *name, sess_unknown **out)
{
    (void)context;
    (void)name;
    (void)out;
    return SESS_E_OUTOFMEMORY;
}

static sess_result null_factory(void *context, const char *name, sess_unknown **out)
{
    (void)context;
    (void)name;
    *out = NULL;
    return SESS_S_OK;
}

static int check_create_fails(sess_app_options *o, sess_result expected)
{
    sess_app *app = (sess_app *)SENTINEL;
    int ok = CHECK_HR(sess_app_create(o, &app), expected);
    CHECK(app == (sess_app *)SENTINEL);
    return ok;
}

static void bad_options(void)
{
    sess_app_options o;
    sess_static_object_decl decls[2];
    sess_app *app = NULL;
    sess_session *s = NULL;
    sess_variant v;
    int32_t minutes = 0;
    struct {
        sess_app_options opts;
        uint64_t newer_field; /* a field a newer header would have */
    } newer;

    section("Bad application options");
    CHECK_HR(sess_app_options_init(&o), SESS_S_OK);
    CHECK(o.struct_size == sizeof o);

    /* struct_size: too small to hold itself */
    o.struct_size = 0;
    check_create_fails(&o, SESS_E_INVALID_OPTION);
    o.struct_size = 2;
    check_create_fails(&o, SESS_E_INVALID_OPTION);
    /* Smaller than the first version, between versions, or garbage. */
    o.struct_size = 8;
    check_create_fails(&o, SESS_E_INVALID_OPTION);
    o.struct_size = (uint32_t)offsetof(sess_app_options, store) + 4;
    check_create_fails(&o, SESS_E_INVALID_OPTION);
    o.struct_size = 0x7FFFFFFF;
    check_create_fails(&o, SESS_E_INVALID_OPTION);
    o.struct_size = UINT32_MAX;
    check_create_fails(&o, SESS_E_INVALID_OPTION);
    /* An older struct (the first version, before `store`): only the fields
       it holds are read. */
    CHECK_HR(sess_app_options_init(&o), SESS_S_OK);
    o.struct_size = (uint32_t)offsetof(sess_app_options, store);
    o.default_timeout_minutes = 7;
    o.redis = (const sess_redis_options *)&o; /* beyond struct_size: ignored */
    CHECK_HR(sess_app_create(&o, &app), SESS_S_OK);
    CHECK_HR(sess_session_create(app, &s), SESS_S_OK);
    CHECK_HR(sess_timeout(s, NULL, &minutes), SESS_S_OK);
    CHECK(minutes == 7);
    CHECK_HR(sess_session_close(s), SESS_S_OK);
    sess_app_release(app);
    /* A newer, longer struct: fine if what this library does not know is 0. */
    memset(&newer, 0, sizeof newer);
    CHECK_HR(sess_app_options_init(&newer.opts), SESS_S_OK);
    newer.opts.struct_size = (uint32_t)sizeof newer;
    CHECK_HR(sess_app_create(&newer.opts, &app), SESS_S_OK);
    sess_app_release(app);
    newer.newer_field = 1;
    check_create_fails(&newer.opts, SESS_E_INVALID_OPTION);

    /* Values out of range */
    CHECK_HR(sess_app_options_init(&o), SESS_S_OK);
    o.default_timeout_minutes = 0;
    check_create_fails(&o, SESS_E_INVALID_OPTION);
    o.default_timeout_minutes = 30;
    o.max_timeout_minutes = 10; /* the default above the maximum */
    check_create_fails(&o, SESS_E_INVALID_OPTION);
    o.max_timeout_minutes = 0;
    check_create_fails(&o, SESS_E_INVALID_OPTION);
    CHECK_HR(sess_app_options_init(&o), SESS_S_OK);
    o.max_sessions = 0;
    check_create_fails(&o, SESS_E_INVALID_OPTION);
    CHECK_HR(sess_app_options_init(&o), SESS_S_OK);
    o.max_items = 0;
    check_create_fails(&o, SESS_E_INVALID_OPTION);
    CHECK_HR(sess_app_options_init(&o), SESS_S_OK);
    o.max_key_bytes = 0;
    check_create_fails(&o, SESS_E_INVALID_OPTION);
    CHECK_HR(sess_app_options_init(&o), SESS_S_OK);
    o.default_lcid = 0xABCD;
    check_create_fails(&o, SESS_E_INVALID_LCID);
    o.default_lcid = 0; /* "the default" cannot be the default */
    check_create_fails(&o, SESS_E_INVALID_OPTION);
    o.default_lcid = SESS_LOCALE_USER_DEFAULT;
    check_create_fails(&o, SESS_E_INVALID_OPTION);
    CHECK_HR(sess_app_options_init(&o), SESS_S_OK);
    o.default_codepage = 1;
    check_create_fails(&o, SESS_E_INVALID_CODEPAGE);

    /* Static object declarations */
    CHECK_HR(sess_app_options_init(&o), SESS_S_OK);
    o.static_object_count = 1; /* but no array */
    check_create_fails(&o, SESS_E_POINTER);
    decls[0].name = "AppInfo1";
    decls[0].factory = demo_factory;
    decls[0].context = NULL;
    decls[1] = decls[0];
    decls[1].name = "APPINFO1"; /* names are case-insensitive */
    o.static_objects = decls;
    o.static_object_count = 2;
    check_create_fails(&o, SESS_E_INVALID_OPTION);
    decls[1].name = "";
    check_create_fails(&o, SESS_E_INVALID_OPTION);
    decls[1].name = NULL;
    check_create_fails(&o, SESS_E_POINTER);
    decls[1].name = "AppInfo2";
    decls[1].factory = NULL;
    check_create_fails(&o, SESS_E_POINTER);
    decls[1].name = "bad\xFF";
    decls[1].factory = demo_factory;
    check_create_fails(&o, SESS_E_INVALIDARG);

    /* Factories that fail, or succeed without an object. */
    decls[0].factory = failing_factory;
    decls[1].name = "Nothing";
    decls[1].factory = null_factory;
    CHECK_HR(sess_app_create(&o, &app), SESS_S_OK);
    CHECK_HR(sess_session_create(app, &s), SESS_S_OK);
    sess_variant_init(&v);
    CHECK_HR(sess_static_get(s, "AppInfo1", &v), SESS_E_OUTOFMEMORY);
    CHECK_HR(sess_static_get_at(s, 1, &v), SESS_E_POINTER);
    CHECK(v.vt == SESS_VT_EMPTY);
    CHECK_HR(sess_session_close(s), SESS_S_OK);
    sess_app_release(app);
}

/* ------------------------------------------------------------------------ */

typedef struct event_log {
    pthread_mutex_t lock;
    sess_result close_in_start, discard_in_start;
    sess_result close_in_end, discard_in_end;
    int ends;
} event_log;

static sess_result start_tries_close(void *context, sess_session *s)
{
    event_log *log = (event_log *)context;
    sess_result rc = sess_session_close(s); /* not allowed: the library's handle */
    sess_result rc2 = sess_session_discard(s);
    pthread_mutex_lock(&log->lock);
    log->close_in_start = rc;
    log->discard_in_start = rc2;
    pthread_mutex_unlock(&log->lock);
    return SESS_S_OK;
}

static void end_tries_close(void *context, sess_session *s)
{
    event_log *log = (event_log *)context;
    sess_result rc = sess_session_close(s);
    sess_result rc2 = sess_session_discard(s);
    pthread_mutex_lock(&log->lock);
    log->close_in_end = rc;
    log->discard_in_end = rc2;
    log->ends++;
    pthread_mutex_unlock(&log->lock);
}

static void event_handlers(void)
{
    sess_app_options o;
    sess_app *app = NULL;
    sess_session *s = (sess_session *)SENTINEL;
    size_t sessions = 9;
    event_log log;

    section("Event handlers: closing their session is SESS_E_WRONG_STATE; OnStart can fail");
    memset(&log, 0, sizeof log);
    pthread_mutex_init(&log.lock, NULL);
    CHECK_HR(sess_app_options_init(&o), SESS_S_OK);
    o.on_start = start_tries_close;
    o.on_end = end_tries_close;
    o.event_context = &log;
    CHECK_HR(sess_app_create(&o, &app), SESS_S_OK);
    CHECK_HR(sess_session_create(app, &s), SESS_S_OK);
    CHECK(log.close_in_start == SESS_E_WRONG_STATE && log.discard_in_start == SESS_E_WRONG_STATE);
    CHECK_HR(sess_abandon(s), SESS_S_OK);
    CHECK_HR(sess_session_close(s), SESS_S_OK); /* runs OnEnd */
    CHECK(log.ends == 1 && log.close_in_end == SESS_E_WRONG_STATE);
    CHECK(log.discard_in_end == SESS_E_WRONG_STATE);
    sess_app_release(app);

    /* An OnStart failure cancels the session; its code is returned. */
    o.on_start = fail_start;
    CHECK_HR(sess_app_create(&o, &app), SESS_S_OK);
    s = (sess_session *)SENTINEL;
    CHECK_HR(sess_session_create(app, &s), (sess_result)0x8004F001);
    CHECK(s == (sess_session *)SENTINEL);
    CHECK_HR(sess_app_session_count(app, &sessions), SESS_S_OK);
    CHECK(sessions == 0);
    sess_app_release(app);
    CHECK(log.ends == 1); /* a cancelled session never ends */
    pthread_mutex_destroy(&log.lock);
}

/* ------------------------------------------------------------------------ */

/* Session_OnStart as *context says: 0 records a message, then succeeds; 1
 * fails with a message; 2 records a message for another code than its own. */
static sess_result start_says_why(void *context, sess_session *s)
{
    (void)s;
    switch (*(const int *)context) {
    case 0:
        sess_error_set(SESS_E_FAIL, "changed its mind");
        return SESS_S_OK;
    case 1:
        return sess_error_set(SESS_E_FAIL, "no account for this user");
    default:
        sess_error_set(SESS_E_FAIL, "for SESS_E_FAIL only");
        return SESS_E_NOTIMPL;
    }
}

static sess_result factory_says_why(void *context, const char *name, sess_unknown **out)
{
    char why[64];
    (void)context;
    (void)out;
    snprintf(why, sizeof why, "no class for %s", name);
    return sess_error_set(SESS_E_NOINTERFACE, why);
}

/* The detail of this thread's last error is `code` and `text`. */
static int last_error_is(sess_result code, const char *text)
{
    char detail[256];
    sess_result last = 0;
    return sess_error_last(&last, detail, sizeof detail, NULL) == SESS_S_OK && last == code &&
           strcmp(detail, text) == 0;
}

static void callback_messages(void)
{
    sess_app_options o;
    sess_static_object_decl decl;
    sess_app *app = NULL;
    sess_session *s = NULL;
    sess_variant v;
    int mode = 1;

    section("A callback's message for its failure (sess_error_set) reaches the caller");
    CHECK_HR(sess_app_options_init(&o), SESS_S_OK);
    decl.name = "objBroken";
    decl.factory = factory_says_why;
    decl.context = NULL;
    o.static_objects = &decl;
    o.static_object_count = 1;
    o.on_start = start_says_why;
    o.event_context = &mode;
    CHECK_HR(sess_app_create(&o, &app), SESS_S_OK);
    CHECK_HR(sess_session_create(app, &s), SESS_E_FAIL);
    CHECK(last_error_is(SESS_E_FAIL, "Session_OnStart failed: no account for this user"));

    /* A message for another code, or before a success, is discarded. */
    mode = 2;
    CHECK_HR(sess_session_create(app, &s), SESS_E_NOTIMPL);
    CHECK(last_error_is(SESS_E_NOTIMPL, "Session_OnStart failed"));
    mode = 0;
    CHECK_HR(sess_session_create(app, &s), SESS_S_OK);

    sess_variant_init(&v);
    CHECK_HR(sess_static_get(s, "objBroken", &v), SESS_E_NOINTERFACE);
    CHECK(last_error_is(SESS_E_NOINTERFACE, "a static object factory failed: no class for objBroken"));
    CHECK_HR(sess_session_close(s), SESS_S_OK);
    sess_app_release(app);

    /* Its own arguments: NULL, and a code that is no failure. */
    CHECK_HR(sess_error_set(SESS_E_FAIL, NULL), SESS_E_POINTER);
    CHECK_HR(sess_error_set(SESS_S_OK, "fine"), SESS_E_INVALIDARG);
}

/* ------------------------------------------------------------------------ */

static void conversions(void)
{
    sess_variant src = i4(300), dst = i4(-5), obj;
    sess_array *a = NULL;
    demo_object *o = demo_new("x");

    section("Conversions: overflow, type mismatch, bad LCID; dst untouched");
    CHECK_HR(sess_variant_change_type(&dst, &src, 0x0409, 0, SESS_VT_UI1), SESS_DISP_E_OVERFLOW);
    src.v.lVal = -1;
    CHECK_HR(sess_variant_change_type(&dst, &src, 0x0409, 0, SESS_VT_UI2), SESS_DISP_E_OVERFLOW);
    src.v.lVal = 70000;
    CHECK_HR(sess_variant_change_type(&dst, &src, 0x0409, 0, SESS_VT_I2), SESS_DISP_E_OVERFLOW);
    src = raw(SESS_VT_R8);
    src.v.dblVal = 1e300;
    CHECK_HR(sess_variant_change_type(&dst, &src, 0x0409, 0, SESS_VT_R4), SESS_DISP_E_OVERFLOW);
    CHECK_HR(sess_variant_change_type(&dst, &src, 0x0409, 0, SESS_VT_DATE), SESS_DISP_E_OVERFLOW);
    CHECK_HR(sess_variant_set_bstr(&src, "abc", SIZE_MAX), SESS_S_OK);
    CHECK_HR(sess_variant_change_type(&dst, &src, 0x0409, 0, SESS_VT_I4), SESS_DISP_E_TYPEMISMATCH);
    CHECK_HR(sess_variant_change_type(&dst, &src, 0x0409, 0, SESS_VT_DATE), SESS_DISP_E_TYPEMISMATCH);
    CHECK_HR(sess_variant_set_bstr(&src, "99999999999", SIZE_MAX), SESS_S_OK);
    CHECK_HR(sess_variant_change_type(&dst, &src, 0x0409, 0, SESS_VT_I4), SESS_DISP_E_OVERFLOW);
    CHECK_HR(sess_variant_clear(&src), SESS_S_OK);
    src.vt = SESS_VT_NULL;
    CHECK_HR(sess_variant_change_type(&dst, &src, 0x0409, 0, SESS_VT_I4), SESS_DISP_E_TYPEMISMATCH);
    src = i4(1);
    CHECK_HR(sess_variant_change_type(&dst, &src, 0xABCD, 0, SESS_VT_BSTR), SESS_E_INVALID_LCID);
    CHECK_HR(sess_variant_change_type(&dst, &src, 0x0409, 0, SESS_VT_ERROR), SESS_DISP_E_TYPEMISMATCH);
    /* Arrays and objects have no scalar value. */
    CHECK_HR(sess_array_create(1, &a), SESS_S_OK);
    src = raw(SESS_VT_ARRAY | SESS_VT_VARIANT);
    src.v.parray = a;
    CHECK_HR(sess_variant_change_type(&dst, &src, 0x0409, 0, SESS_VT_I4), SESS_DISP_E_TYPEMISMATCH);
    CHECK_HR(sess_variant_clear(&src), SESS_S_OK);
    obj = raw(SESS_VT_UNKNOWN);
    obj.v.punkVal = &o->base; /* owns our reference */
    CHECK_HR(sess_variant_change_type(&dst, &obj, 0x0409, 0, SESS_VT_BSTR), SESS_DISP_E_TYPEMISMATCH);
    CHECK(demo_refs(o) == 1);
    CHECK_HR(sess_variant_clear(&obj), SESS_S_OK);
    CHECK(dst.vt == SESS_VT_I4 && dst.v.lVal == -5);
}

/* ------------------------------------------------------------------------ */

static void codepages(void)
{
    static const char chinese[] = "\xE4\xB8\xAD\xE6\x96\x87";
    char buf[8] = "abc";
    size_t n = 0;

    section("Code pages: unknown ones, invalid text, small buffers");
    CHECK_HR(sess_codepage_encode(1, "x", 1, 0, buf, sizeof buf, &n), SESS_E_INVALID_CODEPAGE);
    CHECK_HR(sess_codepage_decode(1, "x", 1, buf, sizeof buf, &n), SESS_E_INVALID_CODEPAGE);
    CHECK_HR(sess_codepage_charset(70000, buf, sizeof buf, &n), SESS_E_INVALID_CODEPAGE);
    CHECK_HR(sess_codepage_encode(950, "\xFF", 1, 0, buf, sizeof buf, &n), SESS_E_INVALIDARG);
    CHECK_HR(sess_codepage_encode(950, "x", 1, 0x80, buf, sizeof buf, &n), SESS_E_INVALIDARG);
    CHECK(strcmp(buf, "abc") == 0);
    /* 4 bytes of Big5 need 5 with the NUL */
    CHECK_HR(sess_codepage_encode(950, chinese, 6, 0, buf, 4, &n), SESS_E_INSUFFICIENT_BUFFER);
    CHECK(n == 4 && strcmp(buf, "abc") == 0);
    CHECK_HR(sess_codepage_charset(950, buf, 4, &n), SESS_E_INSUFFICIENT_BUFFER);
    CHECK(n == 4 && strcmp(buf, "abc") == 0);
    CHECK_HR(sess_codepage_charset(950, buf, 5, &n), SESS_S_OK);
    CHECK(strcmp(buf, "Big5") == 0);
}

/* ------------------------------------------------------------------------ */

static void error_text(sess_session *s)
{
    char buf[256];
    size_t n = 0;
    sess_result code = 0;
    sess_variant v;

    section("Error text");
    /* Any code has a message: known, unknown, success. */
    CHECK(sess_error_message((sess_result)0x80040299, buf, sizeof buf, &n) == SESS_S_OK);
    CHECK(n == strlen(buf) && strstr(buf, "0x80040299") != NULL);
    printf("  unknown code: %s\n", buf);
    CHECK(sess_error_message(SESS_S_FALSE, buf, sizeof buf, &n) == SESS_S_OK && n > 0);
    CHECK(sess_error_message(SESS_DISP_E_BADINDEX, buf, sizeof buf, &n) == SESS_S_OK);
    printf("  SESS_DISP_E_BADINDEX: %s\n", buf);

    /* The last error is the last failure's, with its detail. */
    sess_variant_init(&v);
    CHECK_HR(sess_contents_get_at(s, 7, &v), SESS_DISP_E_BADINDEX);
    CHECK(sess_error_last(&code, buf, sizeof buf, &n) == SESS_S_OK);
    CHECK(code == SESS_DISP_E_BADINDEX && n == strlen(buf) && n > 0);
    printf("  last error after Contents index 7: %s\n", buf);
    /* Reading messages does not replace it; successful calls do not clear it. */
    CHECK(sess_error_message(SESS_E_FAIL, buf, sizeof buf, NULL) == SESS_S_OK);
    CHECK_HR(sess_contents_count(s, &n), SESS_S_OK);
    code = 0;
    CHECK(sess_error_last(&code, NULL, 0, NULL) == SESS_S_OK);
    CHECK(code == SESS_DISP_E_BADINDEX);
    CHECK(sess_error_last(&code, buf, sizeof buf, NULL) == SESS_S_OK);
    CHECK(code == SESS_DISP_E_BADINDEX);
}

/* ------------------------------------------------------------------------ */

/*
 * An array too large for memory must fail with a code, not abort the host
 * process ("never an out-of-memory crash"). Tried in a child process with
 * an 8 GiB address-space limit, so that an abort cannot take this program
 * down and a large machine is not made to fill 100 GB.
 */
static void huge_array(void)
{
    pid_t pid;
    int status = 0;

    section("An array too large for memory: a failure code, not a dead process");
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid == 0) {
        struct rlimit lim;
        sess_array *a = (sess_array *)SENTINEL;
        sess_result rc;
        lim.rlim_cur = lim.rlim_max = (rlim_t)8 << 30;
        setrlimit(RLIMIT_AS, &lim);
        rc = sess_array_create(UINT32_MAX, &a); /* 4294967295 x 24 bytes */
        _exit(rc < 0 && a == (sess_array *)SENTINEL ? 0 : 1);
    }
    if (!CHECK(pid > 0))
        return;
    CHECK(waitpid(pid, &status, 0) == pid);
    if (!CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0))
        fprintf(stderr, "    sess_array_create(UINT32_MAX, &a) %s\n",
                WIFSIGNALED(status) ? "killed the process with a signal"
                                    : "did not fail with a code");
    /* Lengths past the documented cap (2^24 elements) are refused up front. */
    {
        sess_array *a = (sess_array *)SENTINEL;
        CHECK_HR(sess_array_create((size_t)UINT32_MAX + 1, &a), SESS_E_OUTOFMEMORY);
        CHECK(a == (sess_array *)SENTINEL);
    }
}

/* ------------------------------------------------------------------------ */

static void validation_gaps(void)
{
    sess_app_options o;
    sess_app *app = NULL;
    sess_site *site = NULL;
    sess_request *r = NULL;
    sess_request_info info;
    sess_redis_options redis;
    sess_variant src = i4(1), dst = i4(-5);

    section("Inputs that look almost right are refused");
    /* Timeouts that do not fit Timeout's 32-bit signed value. */
    CHECK_HR(sess_app_options_init(&o), SESS_S_OK);
    o.default_timeout_minutes = 0xFFFFFFFFu;
    o.max_timeout_minutes = 0xFFFFFFFFu;
    check_create_fails(&o, SESS_E_INVALID_OPTION);
    /* A Redis secret length without the secret. */
    CHECK_HR(sess_app_options_init(&o), SESS_S_OK);
    CHECK_HR(sess_redis_options_init(&redis), SESS_S_OK);
    redis.id_secret_len = 32;
    o.redis = &redis;
    check_create_fails(&o, SESS_E_POINTER);
    /* Unknown conversion flags. */
    CHECK_HR(sess_variant_change_type(&dst, &src, 0x0409, 0x8000, SESS_VT_BSTR), SESS_E_INVALIDARG);
    CHECK(dst.vt == SESS_VT_I4 && dst.v.lVal == -5);

    CHECK_HR(sess_app_options_init(&o), SESS_S_OK);
    CHECK_HR(sess_app_create(&o, &app), SESS_S_OK);
    CHECK_HR(sess_site_create(&site), SESS_S_OK);
    /* An application path that looks like a cookieless ID marker. */
    CHECK_HR(sess_site_add(site, "/(S(x))", app, NULL), SESS_E_INVALID_OPTION);
    CHECK_HR(sess_site_add(site, "/shop/(S(abc))/", app, NULL), SESS_E_INVALID_OPTION);
    CHECK_HR(sess_site_add(site, "/", app, NULL), SESS_S_OK);
    /* A cookie header length without the header. */
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    info.session_use = SESS_USE_OFF;
    info.path = "/";
    info.cookie_header_len = 10;
    r = SENTINEL;
    NULLP(sess_request_begin(site, &info, &r));
    CHECK(r == SENTINEL);
    /* acquire with SESS_USE_OFF takes nothing: refused. */
    info.cookie_header_len = 0;
    CHECK_HR(sess_request_begin(site, &info, &r), SESS_S_OK);
    CHECK_HR(sess_request_acquire(r, SESS_USE_OFF), SESS_E_INVALIDARG);
    CHECK_HR(sess_request_acquire(r, SESS_USE_EXCLUSIVE), SESS_S_OK);
    CHECK_HR(sess_request_end(r, false, NULL), SESS_S_OK);
    sess_site_release(site);
    sess_app_release(app);
}

/* A caller built against an older header (or a newer one): the _init
 * macros pass the size the caller's header declares, so nothing is written
 * past the caller's struct, and the library reads no more than it. */
static void older_and_newer_structs(void)
{
    struct {
        sess_app_options o;
        unsigned char after[64];
    } buf;
    struct {
        sess_app_counters c;
        unsigned char after[64];
    } stats;
    const size_t first = offsetof(sess_app_options, store); /* the first version */
    const unsigned char *bytes = (const unsigned char *)&buf;
    sess_app *app = NULL;
    sess_session *s = NULL;
    int32_t minutes = 0;
    size_t i, clean;

    section("Versioned structs: an older or newer header's size, written and read no further");
    memset(&buf, 0xA5, sizeof buf);
    CHECK_HR(sess_app_options_init_sized(&buf.o, first), SESS_S_OK);
    CHECK(buf.o.struct_size == first);
    for (i = first, clean = 1; i < sizeof buf; i++)
        clean &= bytes[i] == 0xA5;
    CHECK(clean);
    /* The bytes past the first version are garbage (0xA5): they must not be
     * read, and the fields missing take their defaults. */
    CHECK_HR(sess_app_create(&buf.o, &app), SESS_S_OK);
    CHECK_HR(sess_session_create(app, &s), SESS_S_OK);
    CHECK_HR(sess_timeout(s, NULL, &minutes), SESS_S_OK);
    CHECK(minutes == 20);
    CHECK_HR(sess_value_set_i4(s, "x", 1), SESS_S_OK); /* so it is stored */
    CHECK_HR(sess_session_close(s), SESS_S_OK);

    /* Stats: only the counters the caller's struct has are written. */
    memset(&stats, 0xA5, sizeof stats);
    CHECK_HR(sess_app_stats_init_sized(&stats.c, offsetof(sess_app_counters, sessions_timed_out)),
             SESS_S_OK);
    CHECK_HR(sess_app_stats(app, &stats.c), SESS_S_OK);
    CHECK(stats.c.sessions_total == 1);
    bytes = (const unsigned char *)&stats;
    for (i = offsetof(sess_app_counters, sessions_timed_out), clean = 1; i < sizeof stats; i++)
        clean &= bytes[i] == 0xA5;
    CHECK(clean);
    sess_app_release(app);

    /* A newer header's larger struct: zeros past this library's fields. */
    memset(&buf, 0xA5, sizeof buf);
    CHECK_HR(sess_app_options_init_sized(&buf.o, sizeof buf.o + 8), SESS_S_OK);
    bytes = (const unsigned char *)&buf;
    CHECK(buf.o.struct_size == sizeof buf.o + 8 && bytes[sizeof buf.o] == 0
          && bytes[sizeof buf.o + 7] == 0 && bytes[sizeof buf.o + 8] == 0xA5);
    CHECK_HR(sess_app_create(&buf.o, &app), SESS_S_OK);
    sess_app_release(app);

    /* A size no version has: refused, nothing written. */
    memset(&buf, 0xA5, sizeof buf);
    CHECK_HR(sess_app_options_init_sized(&buf.o, first + 1), SESS_E_INVALID_OPTION);
    CHECK(bytes[0] == 0xA5 && bytes[4] == 0xA5);
    CHECK_HR(sess_app_stats_init_sized(&stats.c, 3), SESS_E_INVALID_OPTION);
}

/* Unwrapping an array in place, `sess_array_get(v.parray, i, &v)`: the
 * element is copied before v (and the array it owns) is cleared. Storing
 * an array into its own element stores a copy. (valgrind checks both.) */
static void arrays_in_place(void)
{
    sess_array *a = NULL;
    sess_variant v, e;

    section("Arrays: an element read into the variant that owns the array");
    CHECK_HR(sess_array_create(2, &a), SESS_S_OK);
    sess_variant_init(&e);
    CHECK_HR(sess_variant_set_bstr(&e, "a string long enough to need the heap", SIZE_MAX), SESS_S_OK);
    CHECK_HR(sess_array_set(a, 0, &e), SESS_S_OK);
    sess_variant_clear(&e);
    sess_variant_init(&v);
    v.vt = SESS_VT_ARRAY | SESS_VT_VARIANT;
    v.v.parray = a; /* v owns a */
    CHECK_HR(sess_array_set(a, 1, &v), SESS_S_OK); /* a[1] = a copy of a as it was */
    CHECK_HR(sess_array_get(v.v.parray, 1, &v), SESS_S_OK); /* v = that copy; a freed */
    CHECK(v.vt == (SESS_VT_ARRAY | SESS_VT_VARIANT));
    if (v.vt == (SESS_VT_ARRAY | SESS_VT_VARIANT))
        CHECK_HR(sess_array_get(v.v.parray, 0, &v), SESS_S_OK); /* v = its string */
    CHECK(bstr_is(&v, "a string long enough to need the heap"));
    sess_variant_clear(&v);
}

/* A request ending (Abandon: Session_OnEnd runs) detaches the objects made
 * from the session handle the request lent before the session ends: in
 * OnEnd they answer SESS_E_OBJECT_DETACHED, never reach the ending request. */
typedef struct stale_object_log {
    sess_session_object *obj;
    sess_result id_in_end, put_in_end;
    int ends;
} stale_object_log;

static void end_uses_stale_object(void *context, sess_session *s)
{
    stale_object_log *log = (stale_object_log *)context;
    char id[SESS_ID_LEN + 1];
    sess_variant v = i4(7);
    (void)s;
    log->ends++;
    log->id_in_end = log->obj->vtbl->get_session_id(log->obj, id, sizeof id, NULL);
    log->put_in_end = log->obj->vtbl->put_value(log->obj, "written-during-end", &v);
}

static void request_end_detaches_objects(void)
{
    stale_object_log log;
    sess_app_options o;
    sess_request_info info;
    sess_app *app = NULL;
    sess_site *site = NULL;
    sess_request *req = NULL;
    sess_session *s = NULL;
    sess_unknown *u = NULL;
    sess_variant cookie;

    section("Ending a request detaches the objects made from its session first");
    memset(&log, 0, sizeof log);
    CHECK_HR(sess_app_options_init(&o), SESS_S_OK);
    o.on_end = end_uses_stale_object;
    o.event_context = &log;
    o.expiry_interval_ms = 0;
    CHECK_HR(sess_app_create(&o, &app), SESS_S_OK);
    CHECK_HR(sess_site_create(&site), SESS_S_OK);
    CHECK_HR(sess_site_add(site, "/", app, NULL), SESS_S_OK);
    CHECK_HR(sess_request_info_init(&info), SESS_S_OK);
    info.path = "/";
    CHECK_HR(sess_request_begin(site, &info, &req), SESS_S_OK);
    CHECK_HR(sess_request_session(req, SESS_REQUEST_CREATE, &s), SESS_S_OK);
    CHECK_HR(sess_value_set_i4(s, "x", 1), SESS_S_OK); /* so it is stored, and ends */
    CHECK_HR(sess_session_interface(s, &u), SESS_S_OK);
    log.obj = (sess_session_object *)u;
    CHECK_HR(sess_abandon(s), SESS_S_OK);
    sess_variant_init(&cookie);
    CHECK_HR(sess_request_end(req, false, &cookie), SESS_S_OK);
    CHECK(log.ends == 1);
    CHECK(log.id_in_end == SESS_E_OBJECT_DETACHED && log.put_in_end == SESS_E_OBJECT_DETACHED);
    CHECK(log.obj->vtbl->get_session_id(log.obj, NULL, 0, NULL) == SESS_E_OBJECT_DETACHED);
    CHECK(log.obj->vtbl->release(log.obj) == 0);
    sess_variant_clear(&cookie);
    sess_site_release(site);
    sess_app_release(app);
}

/* A host's per-thread cleanup (a pthread key's destructor) runs after the
 * library's thread-locals are gone: a failing call there returns its code
 * rather than aborting the process. */
static pthread_key_t cleanup_key;
static sess_result close_in_cleanup = 0, last_in_cleanup = 0;

static void thread_cleanup(void *unused)
{
    sess_result code = 0;
    (void)unused;
    close_in_cleanup = sess_session_close(NULL);
    last_in_cleanup = sess_error_last(&code, NULL, 0, NULL);
}

static void *thread_with_cleanup(void *unused)
{
    (void)unused;
    pthread_setspecific(cleanup_key, SENTINEL);
    /* A failure here: the thread's last error is in use when it exits. */
    sess_session_close(NULL);
    return NULL;
}

static void calls_at_thread_exit(void)
{
    pthread_t t;

    section("A failing call from a thread's exit cleanup returns its code");
    CHECK(pthread_key_create(&cleanup_key, thread_cleanup) == 0);
    CHECK(pthread_create(&t, NULL, thread_with_cleanup, NULL) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK(close_in_cleanup == SESS_E_POINTER);
    CHECK(last_in_cleanup >= 0); /* nothing, or what the thread had: no abort */
    pthread_key_delete(cleanup_key);
}

static void no_ops(void)
{
    section("NULL is a no-op for sess_app_release, sess_array_destroy, sess_variant_init");
    sess_app_release(NULL);
    sess_array_destroy(NULL);
    sess_variant_init(NULL);
}

int main(void)
{
    sess_app_options o;
    sess_static_object_decl decl;
    sess_app *app = NULL;
    sess_session *s = NULL;
    int made = 0;

    fresh_thread_has_no_last_error();

    /* One application and session most checks share: one static object. */
    decl.name = "AppInfo1";
    decl.factory = demo_factory;
    decl.context = &made;
    CHECK_HR(sess_app_options_init(&o), SESS_S_OK);
    o.static_objects = &decl;
    o.static_object_count = 1;
    CHECK_HR(sess_app_create(&o, &app), SESS_S_OK);
    CHECK_HR(sess_session_create(app, &s), SESS_S_OK);

    null_pointers(app, s);
    invalid_utf8(app, s);
    bad_vartypes(s);
    bad_objects(s);
    bad_indexes(s);
    small_buffers(s);
    session_ids(app);
    error_text(s);
    CHECK_HR(sess_session_close(s), SESS_S_OK);
    sess_app_release(app);

    nesting_limit();
    limits();
    session_bytes();
    lock_timeouts();
    readonly_writes();
    bad_options();
    event_handlers();
    callback_messages();
    conversions();
    codepages();
    huge_array();
    validation_gaps();
    older_and_newer_structs();
    arrays_in_place();
    calls_at_thread_exit();
    request_end_detaches_objects();
    no_ops();
    CHECK(demo_alive() == 0);
    return check_summary();
}
