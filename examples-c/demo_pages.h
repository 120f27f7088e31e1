/*
 * demo_pages.h: the demo web app's pages (DEMO.md), shared by the two hosts
 * that serve them: examples-c/server_demo.c (its own small HTTP server) and
 * hosts/apache/mod_sess.c (an Apache httpd module). Everything here is
 * static: a host includes this file once.
 *
 * A host begins the request (sess_request_begin), finds the route with
 * demo_route_find, takes the session as the route says
 * (route->use: sess_request_acquire, or the host's own configuration),
 * fills a demo_page and runs route->fn, ends the request
 * (sess_request_end) and sends demo_document's bytes with the page's
 * status, Location and charset.
 */
#ifndef DEMO_PAGES_H
#define DEMO_PAGES_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "sess.h"

#define HOLD_CAP_MS 2000         /* /peek?hold= cap */
#define CP_UTF8 65001u
/* ------------------------------------------------------------------------ */
/* A growable byte buffer (NUL-terminated when not empty)                   */

typedef struct sbuf {
    char *p;
    size_t len, cap;
    bool oom; /* an allocation failed: the content is incomplete */
} sbuf;

static bool sb_reserve(sbuf *b, size_t extra)
{
    size_t need, cap;
    char *p;
    if (b->oom || extra > SIZE_MAX / 2 - b->len)
        return b->oom = true, false;
    need = b->len + extra + 1;
    if (need <= b->cap)
        return true;
    cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    p = realloc(b->p, cap);
    if (!p)
        return b->oom = true, false;
    b->p = p;
    b->cap = cap;
    return true;
}

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (!sb_reserve(b, n))
        return;
    if (n)
        memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_puts(sbuf *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

static void sb_printf(sbuf *b, const char *fmt, ...)
{
    va_list ap, ap2;
    int n;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap);
    if (n >= 0 && sb_reserve(b, (size_t)n)) {
        vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap2);
        b->len += (size_t)n;
    }
    va_end(ap2);
    va_end(ap);
}

/* Appends `s` escaped for HTML text and attribute values. */
static void sb_html(sbuf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': sb_puts(b, "&amp;"); break;
        case '<': sb_puts(b, "&lt;"); break;
        case '>': sb_puts(b, "&gt;"); break;
        case '"': sb_puts(b, "&quot;"); break;
        case '\'': sb_puts(b, "&#39;"); break;
        default: sb_put(b, s, 1); break;
        }
    }
}

static const char *sb_str(const sbuf *b)
{
    return b->p ? b->p : "";
}

static void sb_free(sbuf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
    b->oom = false;
}

/* ------------------------------------------------------------------------ */
/* Pages                                                                    */

typedef struct page {
    sess_request *req;
    sess_session *s;        /* the request's session, NULL while it has none */
    sess_app *app;          /* the request's application */
    /* The host's services: a query parameter's decoded value (NULL when
     * absent), and how many read-only requests are in progress now. */
    const char *(*param)(const void *ctx, const char *name);
    const void *param_ctx;
    int (*readers_now)(void);
    const char *const *app_paths; /* every application's path, for links */
    size_t app_count;
    char *prefix;           /* the application's path without a trailing "/" (owned) */
    sbuf out;               /* the page's HTML (UTF-8) */
    int status;             /* 200, or what the page decided */
    char *location;         /* a redirect target (owned) */
    sbuf error;             /* the error text of a failed page */
    int readers_seen;       /* /peek: most read-only requests seen at once */
} page;

/* A library call failed: 503 for a lock timeout or a store that is down,
 * else 500; the text is the
 * code's message and this thread's last-error detail. Returns -1. */
static int page_fail_status(page *pg, sess_result hr, int status)
{
    char msg[160], detail[512];
    sess_result last = 0;
    if (sess_error_message(hr, msg, sizeof msg, NULL) < 0)
        snprintf(msg, sizeof msg, "0x%08lX", (unsigned long)(uint32_t)hr);
    if (sess_error_last(&last, detail, sizeof detail, NULL) != SESS_S_OK || last != hr)
        detail[0] = '\0';
    pg->status = status                                                   ? status
                 : hr == SESS_E_LOCK_TIMEOUT || hr == SESS_E_STORE_UNAVAILABLE ? 503
                                                                               : 500;
    sb_free(&pg->error);
    sb_puts(&pg->error, msg);
    if (detail[0]) {
        sb_puts(&pg->error, ": ");
        sb_puts(&pg->error, detail);
    }
    return -1;
}

static int page_fail(page *pg, sess_result hr)
{
    return page_fail_status(pg, hr, 0);
}

/* A client error (400) with its text. Returns -1. */
static int page_bad(page *pg, const char *text)
{
    pg->status = 400;
    sb_free(&pg->error);
    sb_puts(&pg->error, text);
    return -1;
}

/* The page's session: 1 if it has one, 0 if none (and not `create`), -1
 * on failure. With `create`, a new session is made (stored only when the
 * page writes to it). */
static int page_session(page *pg, bool create)
{
    sess_session *s = NULL;
    sess_result hr = sess_request_session(pg->req, create ? SESS_REQUEST_CREATE : 0, &s);
    if (hr < 0)
        return page_fail(pg, hr);
    pg->s = s;
    return s != NULL;
}

/* `url` as a link carries it (the ID segment in cookieless applications).
 * Owned by the caller; NULL when out of memory. */
static char *rewrite(const page *pg, const char *url)
{
    char small[256], *buf;
    size_t need = 0;
    sess_result hr = sess_request_rewrite_url(pg->req, url, small, sizeof small, &need);
    if (hr >= 0) {
        buf = malloc(need + 1);
        if (buf)
            memcpy(buf, small, need + 1);
        return buf;
    }
    if (hr != SESS_E_INSUFFICIENT_BUFFER || !(buf = malloc(need + 1)))
        return NULL;
    if (sess_request_rewrite_url(pg->req, url, buf, need + 1, NULL) < 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* <a href="rewritten base+route">label</a>; the label is the URL when NULL. */
static void link_to_url(page *pg, const char *base, const char *route, const char *label)
{
    sbuf url = {NULL, 0, 0, false};
    char *href;
    sb_puts(&url, base);
    sb_puts(&url, route);
    href = url.oom ? NULL : rewrite(pg, url.p);
    pg->out.oom |= url.oom;
    sb_puts(&pg->out, "<a href=\"");
    sb_html(&pg->out, href ? href : sb_str(&url));
    sb_puts(&pg->out, "\">");
    sb_html(&pg->out, label ? label : sb_str(&url));
    sb_puts(&pg->out, "</a>");
    free(href);
    sb_free(&url);
}

/* <a href="rewritten prefix+route">label</a> */
static void link_to(page *pg, const char *route, const char *label)
{
    link_to_url(pg, pg->prefix, route, label);
}

/* The session's LCID, for value-to-text conversions. */
static uint32_t page_lcid(const page *pg)
{
    uint32_t lcid = 0x0409;
    if (pg->s)
        sess_lcid(pg->s, NULL, &lcid);
    return lcid;
}

/* Appends a value as text (VariantChangeTypeEx to BSTR under the session's
 * LCID), escaped for HTML. */
static void put_value(page *pg, const sess_variant *v)
{
    sess_variant text;
    size_t n = 0;
    if (v->vt == SESS_VT_EMPTY)
        return;
    if (v->vt & SESS_VT_ARRAY) {
        sess_array_length(v->v.parray, &n);
        sb_printf(&pg->out, "(array of %zu)", n);
        return;
    }
    if (v->vt == SESS_VT_UNKNOWN || v->vt == SESS_VT_DISPATCH) {
        sb_puts(&pg->out, "(object)");
        return;
    }
    sess_variant_init(&text);
    if (sess_variant_change_type(&text, v, page_lcid(pg), 0, SESS_VT_BSTR) >= 0)
        sb_html(&pg->out, text.v.bstrVal.ptr ? text.v.bstrVal.ptr : "");
    else
        sb_printf(&pg->out, "(vt %u)", (unsigned)v->vt);
    sess_variant_clear(&text);
}

/* Session("count") as a number (converted under the session's LCID; no
 * variant needed): 0 when missing. -1 on failure. */
static int get_count(page *pg, int64_t *out)
{
    sess_result hr = sess_value_get_i8(pg->s, "count", out);
    if (hr < 0)
        *out = 0;
    return hr < 0 ? page_fail(pg, hr) : 0;
}

static sess_result set_text(sess_session *s, const char *name, const char *text)
{
    sess_variant v;
    sess_result hr;
    sess_variant_init(&v);
    hr = sess_variant_set_bstr(&v, text, SIZE_MAX);
    if (hr >= 0)
        hr = sess_value_set(s, name, &v);
    sess_variant_clear(&v);
    return hr;
}

/* Element `index` of an array variant, appended as text. */
static sess_result put_element(page *pg, const sess_variant *arr, size_t index)
{
    sess_variant e;
    sess_result hr;
    if (arr->vt != (SESS_VT_ARRAY | SESS_VT_VARIANT)) {
        sb_puts(&pg->out, "(not an array)");
        return SESS_S_OK;
    }
    sess_variant_init(&e);
    hr = sess_array_get(arr->v.parray, index, &e);
    if (hr >= 0)
        put_value(pg, &e);
    sess_variant_clear(&e);
    return hr;
}

/* / : links to every route; the session, if one exists (read-only). */
static int page_index(page *pg)
{
    int has = page_session(pg, false);
    if (has < 0)
        return -1;
    sb_puts(&pg->out, "<p>Seed 004's ASP Session object, served by libsess.</p>\n");
    if (has) {
        char id[SESS_ID_LEN + 1];
        bool is_new = false;
        int32_t timeout = 0;
        sess_result hr = sess_session_id(pg->s, id, sizeof id, NULL);
        if (hr >= 0)
            hr = sess_session_is_new(pg->s, &is_new);
        if (hr >= 0)
            hr = sess_timeout(pg->s, NULL, &timeout);
        if (hr < 0)
            return page_fail(pg, hr);
        sb_puts(&pg->out, "<p>SessionID: ");
        sb_html(&pg->out, id);
        sb_printf(&pg->out, "</p>\n<p>IsNewSession: %s</p>\n<p>Timeout: %ld</p>\n",
                  is_new ? "true" : "false", (long)timeout);
    } else {
        sb_puts(&pg->out, "<p>SessionID: (none)</p>\n");
    }
    return 0;
}

/* /counter : Session("count") = Session("count") + 1 */
static int page_counter(page *pg)
{
    int64_t count = 0;
    sess_result hr;
    if (page_session(pg, true) < 0 || get_count(pg, &count) < 0)
        return -1;
    if (count == INT64_MAX)
        count = 0;
    count++;
    hr = count <= INT32_MAX ? sess_value_set_i4(pg->s, "count", (int32_t)count)
                            : sess_value_set_i8(pg->s, "count", count);
    if (hr < 0)
        return page_fail(pg, hr);
    sb_printf(&pg->out, "<p>count=%lld</p>\n", (long long)count);
    return 0;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts;
    ts.tv_sec = (time_t)(ms / 1000);
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Parses a decimal number into *out; false unless the whole text is digits
 * and fits. */
static bool parse_u32(const char *s, uint32_t *out)
{
    uint64_t v = 0;
    if (!*s)
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        v = v * 10 + (uint64_t)(*s - '0');
        if (v > UINT32_MAX)
            return false;
    }
    *out = (uint32_t)v;
    return true;
}

/* /peek : reads count under the shared lock, never creates a session. */
static int page_peek(page *pg)
{
    const char *hold_text = pg->param(pg->param_ctx, "hold");
    uint32_t hold = 0;
    int has, now;
    if (hold_text && !parse_u32(hold_text, &hold)) {
        /* too large a number is capped, not refused */
        const char *d = hold_text;
        while (*d >= '0' && *d <= '9')
            d++;
        if (*d || d == hold_text)
            return page_bad(pg, "hold must be a number of milliseconds (0-2000)");
        hold = HOLD_CAP_MS;
    }
    if (hold > HOLD_CAP_MS)
        hold = HOLD_CAP_MS;
    if ((has = page_session(pg, false)) < 0)
        return -1;
    if (has) {
        int64_t count = 0;
        if (get_count(pg, &count) < 0)
            return -1;
        sb_printf(&pg->out, "<p>count=%lld</p>\n", (long long)count);
    } else {
        sb_puts(&pg->out, "<p>no session</p>\n");
    }
    if (hold)
        sleep_ms(hold);
    now = pg->readers_now();
    if (now > pg->readers_seen)
        pg->readers_seen = now;
    sb_printf(&pg->out, "<p>held the read-only session state for %u ms</p>\n",
              (unsigned)hold);
    sb_printf(&pg->out, "<p>readers_at_once=%d</p>\n", pg->readers_seen);
    return 0;
}

/* /page1 : SessionPage1.asp, three values, then a redirect to page 2. */
static int page_page1(page *pg)
{
    static const char *const names[3] = {"SessionVar1", "SessionVar2", "SessionVar3"};
    static const char *const values[3] = {"Session Variable 1", "Session Variable 2",
                                          "Session Variable 3"};
    sbuf url = {NULL, 0, 0, false};
    int i;
    if (page_session(pg, true) < 0)
        return -1;
    for (i = 0; i < 3; i++) {
        sess_result hr = set_text(pg->s, names[i], values[i]);
        if (hr < 0)
            return page_fail(pg, hr);
    }
    /* Response.Redirect, through rewrite_url (written after the session
     * exists, so a cookieless redirect carries the new ID). */
    sb_puts(&url, pg->prefix);
    sb_puts(&url, "/page2");
    pg->location = url.oom ? NULL : rewrite(pg, url.p);
    sb_free(&url);
    if (!pg->location)
        return page_fail(pg, SESS_E_OUTOFMEMORY);
    pg->status = 302;
    sb_puts(&pg->out, "<p>Object moved: ");
    link_to(pg, "/page2", "SessionPage2");
    sb_puts(&pg->out, "</p>\n");
    return 0;
}

/* /page2 : SessionPage2.asp, the Contents collection. */
static int page_page2(page *pg)
{
    size_t count = 0, i;
    sess_variant v;
    sess_result hr;
    char key[512];

    if (page_session(pg, true) < 0)
        return -1;
    if ((hr = sess_contents_count(pg->s, &count)) < 0)
        return page_fail(pg, hr);
    sb_printf(&pg->out, "<p>There are %zu items in the Session's Contents collection.</p>\n",
              count);
    sb_puts(&pg->out, "<ul>\n");
    sess_variant_init(&v);
    for (i = 0; i < count; i++) {
        hr = sess_contents_key_at(pg->s, i, key, sizeof key, NULL);
        if (hr >= 0)
            hr = sess_contents_get_at(pg->s, i, &v);
        if (hr < 0)
            break;
        sb_puts(&pg->out, "<li>");
        sb_html(&pg->out, key);
        sb_puts(&pg->out, " = ");
        put_value(pg, &v);
        sb_puts(&pg->out, "</li>\n");
    }
    sb_puts(&pg->out, "</ul>\n");
    if (hr >= 0)
        hr = set_text(pg->s, "AppStatus", "Page2...InProcess...");
    if (hr >= 0)
        hr = sess_contents_count(pg->s, &count);
    if (hr < 0) {
        sess_variant_clear(&v);
        return page_fail(pg, hr);
    }
    /* Session.Contents(1) .. (3) in ASP; indexes 0 .. 2 here. */
    sb_puts(&pg->out, "<p>First three by index: ");
    for (i = 0; i < 3 && i < count; i++) {
        if ((hr = sess_contents_get_at(pg->s, i, &v)) < 0)
            break;
        if (i)
            sb_puts(&pg->out, " | ");
        put_value(pg, &v);
    }
    sb_puts(&pg->out, "</p>\n");
    sess_variant_clear(&v);
    return hr < 0 ? page_fail(pg, hr) : 0;
}

/* The index of the Contents item `name` (keys compare case-insensitively;
 * ASCII folding is enough for the demo's own keys). */
static sess_result contents_index_of(sess_session *s, const char *name, size_t *out)
{
    size_t count = 0, i;
    char key[512];
    sess_result hr = sess_contents_count(s, &count);
    for (i = 0; hr >= 0 && i < count; i++) {
        hr = sess_contents_key_at(s, i, key, sizeof key, NULL);
        if (hr >= 0 && strcasecmp(key, name) == 0) {
            *out = i;
            return SESS_S_OK;
        }
    }
    return hr < 0 ? hr : SESS_DISP_E_BADINDEX;
}

/* /array : seed 004's array example; arrays go in and out by value. */
static int page_array(page *pg)
{
    static const char *const names[4] = {"Chris", "Julie", "Vlad", "Kelly"};
    sess_array *arr = NULL;
    sess_variant v, e;
    sess_result hr;
    size_t i;

    if (page_session(pg, true) < 0)
        return -1;
    sess_variant_init(&v);
    sess_variant_init(&e);
    /* ReDim arystrNames(3): Chris, Julie, Vlad, Kelly; into the session. */
    hr = sess_array_create(4, &arr);
    if (hr >= 0) {
        v.vt = SESS_VT_ARRAY | SESS_VT_VARIANT; /* v owns the array now */
        v.v.parray = arr;
        for (i = 0; i < 4 && hr >= 0; i++) {
            hr = sess_variant_set_bstr(&e, names[i], SIZE_MAX);
            if (hr >= 0)
                hr = sess_array_set(arr, i, &e);
        }
    }
    if (hr >= 0)
        hr = sess_value_set(pg->s, "arystrNames", &v);
    /* arystrNames2 = Session("arystrNames"): a copy. */
    if (hr >= 0)
        hr = sess_value_get(pg->s, "arystrNames", &v);
    if (hr >= 0) {
        sb_puts(&pg->out, "<p>second before: ");
        hr = put_element(pg, &v, 1);
        sb_puts(&pg->out, "</p>\n");
    }
    /* arystrNames2(1) = "Mark": changes the copy only, until stored back. */
    if (hr >= 0 && v.vt != (SESS_VT_ARRAY | SESS_VT_VARIANT))
        hr = SESS_DISP_E_TYPEMISMATCH;
    if (hr >= 0)
        hr = sess_variant_set_bstr(&e, "Mark", SIZE_MAX);
    if (hr >= 0)
        hr = sess_array_set(v.v.parray, 1, &e);
    if (hr >= 0)
        hr = sess_value_set(pg->s, "arystrNames", &v);
    if (hr >= 0)
        hr = sess_value_get(pg->s, "arystrNames", &v);
    if (hr >= 0) {
        sb_puts(&pg->out, "<p>second after: ");
        hr = put_element(pg, &v, 1);
        sb_puts(&pg->out, "</p>\n");
    }
    /* Session.Contents(1)(0) in ASP: the array's first element, reached by
     * the item's index (0 in a new session; later if other items came
     * first). */
    if (hr >= 0)
        hr = contents_index_of(pg->s, "arystrNames", &i);
    if (hr >= 0)
        hr = sess_contents_get_at(pg->s, i, &v);
    if (hr >= 0) {
        sb_printf(&pg->out, "<p>Contents(%zu)(0): ", i);
        hr = put_element(pg, &v, 0);
        sb_puts(&pg->out, "</p>\n");
    }
    sess_variant_clear(&v);
    sess_variant_clear(&e);
    return hr < 0 ? page_fail(pg, hr) : 0;
}

/* /abandon : the contents stay readable until the page ends. */
static int page_abandon(page *pg)
{
    int64_t count = 0;
    int has = page_session(pg, false);
    sess_result hr;
    if (has < 0)
        return -1;
    if (has) {
        if (get_count(pg, &count) < 0)
            return -1;
        if ((hr = sess_abandon(pg->s)) < 0)
            return page_fail(pg, hr);
        /* Still readable after Abandon, until the request ends. */
        if (get_count(pg, &count) < 0)
            return -1;
    }
    sb_printf(&pg->out, "<p>count=%lld</p>\n<p>abandoned</p>\n", (long long)count);
    return 0;
}

/* /regenerate : a new ID, the same contents (as at login). */
static int page_regenerate(page *pg)
{
    char id[SESS_ID_LEN + 1];
    sess_result hr;
    if (page_session(pg, true) < 0)
        return -1;
    hr = sess_session_regenerate_id(pg->s);
    if (hr >= 0)
        hr = sess_session_id(pg->s, id, sizeof id, NULL);
    if (hr < 0)
        return page_fail(pg, hr);
    sb_puts(&pg->out, "<p>regenerated: ");
    sb_html(&pg->out, id);
    sb_puts(&pg->out, "</p>\n");
    return 0;
}

/* Converts `src` to text under `lcid` and appends it after `label`. */
static sess_result put_converted(page *pg, const char *label, const sess_variant *src,
                                 uint32_t lcid)
{
    sess_variant text;
    sess_result hr;
    sess_variant_init(&text);
    hr = sess_variant_change_type(&text, src, lcid, 0, SESS_VT_BSTR);
    if (hr >= 0) {
        sb_printf(&pg->out, "<p>%s: ", label);
        sb_html(&pg->out, text.v.bstrVal.ptr ? text.v.bstrVal.ptr : "");
        sb_puts(&pg->out, "</p>\n");
    }
    sess_variant_clear(&text);
    return hr;
}

/* /prefs?lcid=N&codepage=N : Session.LCID and Session.CodePage. */
static int page_prefs(page *pg)
{
    const char *lcid_text = pg->param(pg->param_ctx, "lcid"), *cp_text = pg->param(pg->param_ctx, "codepage");
    uint32_t lcid = 0, cp = 0;
    char charset[64];
    sess_variant v;
    sess_result hr;

    if (lcid_text && !parse_u32(lcid_text, &lcid))
        return page_bad(pg, "lcid must be a decimal number");
    if (cp_text && !parse_u32(cp_text, &cp))
        return page_bad(pg, "codepage must be a decimal number");
    if (page_session(pg, true) < 0)
        return -1;
    /* An invalid value is refused and the session keeps its value (ASP 0219
     * and 0204); the page answers 400 and the request's changes are undone. */
    if (lcid_text && (hr = sess_lcid(pg->s, &lcid, NULL)) < 0)
        return page_fail_status(pg, hr, hr == SESS_E_INVALID_LCID ? 400 : 0);
    if (cp_text && (hr = sess_codepage(pg->s, &cp, NULL)) < 0)
        return page_fail_status(pg, hr, hr == SESS_E_INVALID_CODEPAGE ? 400 : 0);
    hr = sess_lcid(pg->s, NULL, &lcid);
    if (hr >= 0)
        hr = sess_codepage(pg->s, NULL, &cp);
    if (hr >= 0)
        hr = sess_codepage_charset(cp, charset, sizeof charset, NULL);
    if (hr < 0)
        return page_fail(pg, hr);
    sb_printf(&pg->out, "<p>LCID: %lu</p>\n<p>CodePage: %lu</p>\n<p>charset: ",
              (unsigned long)lcid, (unsigned long)cp);
    sb_html(&pg->out, charset);
    sb_puts(&pg->out, "</p>\n");

    sess_variant_init(&v);
    v.vt = SESS_VT_R8;
    v.v.dblVal = 1234.5;
    hr = put_converted(pg, "number", &v, lcid);
    if (hr >= 0) {
        v.vt = SESS_VT_CY;
        v.v.cyVal = 12345678; /* 1234.5678 */
        hr = put_converted(pg, "currency", &v, lcid);
    }
    if (hr >= 0) {
        v.vt = SESS_VT_DATE;
        v.v.date = 36525.7708333333; /* 1999-12-31 18:30:00 */
        hr = put_converted(pg, "date", &v, lcid);
    }
    if (hr < 0)
        return page_fail(pg, hr);
    /* Text the code page may or may not hold: what it cannot becomes &#N;. */
    sb_puts(&pg->out, "<p>sample: 日本語 — café — 繁體中文 — Ærøskøbing</p>\n");
    sb_puts(&pg->out, "<p>Try: ");
    link_to(pg, "/prefs?lcid=1033&codepage=65001", "en-US, UTF-8");
    sb_puts(&pg->out, " · ");
    link_to(pg, "/prefs?lcid=1031&codepage=1252", "de-DE, Windows-1252");
    sb_puts(&pg->out, " · ");
    link_to(pg, "/prefs?lcid=1041&codepage=932", "ja-JP, Shift_JIS");
    sb_puts(&pg->out, " · ");
    link_to(pg, "/prefs?lcid=1028&codepage=950", "zh-TW, Big5");
    sb_puts(&pg->out, "</p>\n");
    return 0;
}

/* /stats : no session state; the application's session count. */
static int page_stats(page *pg)
{
    size_t n = 0;
    sess_result hr = sess_app_session_count(pg->app, &n);
    if (hr < 0)
        return page_fail(pg, hr);
    sb_printf(&pg->out, "<p>sessions=%zu</p>\n", n);
    return 0;
}

/* /metrics: every application's counters (sess_app_stats) in the Prometheus
 * text format, one series per application; labels[a] is application a's
 * path, escaped for a label value. A count the store could not give now
 * (UINT64_MAX: sess_app_stats returned SESS_S_FALSE) is NaN. A host whose
 * figures are not one process's (mod_sess: several children) says what
 * they are: sessions_help replaces sess_sessions' HELP unless NULL, and
 * counters_note ends every counter's HELP ("" for none). */
static void metrics_text(sbuf *b, const sess_app_counters *stats, const char *const *labels,
                         size_t napps, const char *sessions_help, const char *counters_note)
{
    static const struct {
        const char *name, *type, *help;
        size_t offset;
    } series[] = {
        {"sess_sessions", "gauge", "Sessions stored now.",
         offsetof(sess_app_counters, sessions_current)},
        {"sess_sessions_created_total", "counter", "Sessions created (stored and kept).",
         offsetof(sess_app_counters, sessions_total)},
        {"sess_sessions_timed_out_total", "counter", "Sessions ended by their Timeout.",
         offsetof(sess_app_counters, sessions_timed_out)},
        {"sess_sessions_abandoned_total", "counter", "Sessions ended by Abandon.",
         offsetof(sess_app_counters, sessions_abandoned)},
        {"sess_lock_waits_total", "counter", "Requests that waited for their session's lock.",
         offsetof(sess_app_counters, lock_waits)},
        {"sess_lock_timeouts_total", "counter", "Requests that gave up waiting (503).",
         offsetof(sess_app_counters, lock_timeouts)},
        {"sess_store_errors_total", "counter", "Store calls that failed (store unavailable).",
         offsetof(sess_app_counters, store_errors)},
    };
    size_t i, a;
    for (i = 0; i < sizeof series / sizeof series[0]; i++) {
        if (i == 0)
            sb_printf(b, "# HELP %s %s\n", series[i].name,
                      sessions_help ? sessions_help : series[i].help);
        else
            sb_printf(b, "# HELP %s %s%s\n", series[i].name, series[i].help, counters_note);
        sb_printf(b, "# TYPE %s %s\n", series[i].name, series[i].type);
        for (a = 0; a < napps; a++) {
            uint64_t v;
            memcpy(&v, (const char *)&stats[a] + series[i].offset, sizeof v);
            if (v == UINT64_MAX)
                sb_printf(b, "%s{app=\"%s\"} NaN\n", series[i].name, labels[a]);
            else
                sb_printf(b, "%s{app=\"%s\"} %llu\n", series[i].name, labels[a],
                          (unsigned long long)v);
        }
    }
}

typedef int (*page_fn)(page *pg);

static const struct route {
    const char *path;  /* relative to the application */
    uint32_t use;      /* SESS_USE_* (EnableSessionState) */
    page_fn fn;
    const char *title;
} routes[] = {
    {"/", SESS_USE_READONLY, page_index, "libsess demo"},
    {"/counter", SESS_USE_EXCLUSIVE, page_counter, "Counter"},
    {"/peek", SESS_USE_READONLY, page_peek, "Peek (read-only)"},
    {"/page1", SESS_USE_EXCLUSIVE, page_page1, "Session Contents Example Page1"},
    {"/page2", SESS_USE_EXCLUSIVE, page_page2, "Session Contents Example Page2"},
    {"/array", SESS_USE_EXCLUSIVE, page_array, "Session Array Example"},
    {"/abandon", SESS_USE_EXCLUSIVE, page_abandon, "Abandon"},
    {"/regenerate", SESS_USE_EXCLUSIVE, page_regenerate, "Regenerate the SessionID"},
    {"/prefs", SESS_USE_EXCLUSIVE, page_prefs, "LCID and CodePage"},
    {"/stats", SESS_USE_OFF, page_stats, "Statistics"},
};

/* The links at the foot of every page, written through rewrite_url. */
static void nav(page *pg)
{
    static const char *const extra[][2] = {
        {"/peek?hold=1000", "/peek?hold=1000"},
        {"/prefs?lcid=1041&codepage=932", "/prefs?lcid=1041&codepage=932"},
    };
    size_t i;
    sb_puts(&pg->out, "<hr>\n<ul>\n");
    for (i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        sb_puts(&pg->out, "<li>");
        link_to(pg, routes[i].path, routes[i].path);
        sb_puts(&pg->out, "</li>\n");
    }
    for (i = 0; i < sizeof extra / sizeof extra[0]; i++) {
        sb_puts(&pg->out, "<li>");
        link_to(pg, extra[i][0], extra[i][1]);
        sb_puts(&pg->out, "</li>\n");
    }
    sb_puts(&pg->out, "</ul>\n<p>Applications: ");
    for (i = 0; i < pg->app_count; i++) {
        /* Outside this application: rewrite_url leaves them alone. */
        sb_puts(&pg->out, i ? " · " : "");
        link_to_url(pg, pg->app_paths[i], strcmp(pg->app_paths[i], "/") == 0 ? "" : "/", NULL);
    }
    sb_printf(&pg->out, " (this page: application %s)</p>\n", pg->prefix[0] ? pg->prefix : "/");
}

/* A string the request reports (path, application path), allocated. */
typedef sess_result (*request_text_fn)(const sess_request *, char *, size_t, size_t *);

static char *request_text(const sess_request *req, request_text_fn fn, sess_result *hr)
{
    size_t need = 0;
    char *buf;
    *hr = fn(req, NULL, 0, &need);
    if (*hr != SESS_E_INSUFFICIENT_BUFFER)
        return NULL;
    if (!(buf = malloc(need + 1))) {
        *hr = SESS_E_OUTOFMEMORY;
        return NULL;
    }
    if ((*hr = fn(req, buf, need + 1, NULL)) < 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* Finds the route of a request (begun with any session use: it reads only
 * the paths): the page, in *prefix the application's path without a
 * trailing "/", and in *app_path the application's path as added (both
 * allocated, the caller frees them; NULL on failure). NULL for an unknown
 * route (404, *rc >= 0) or a failure (*rc < 0). */
static const struct route *demo_route_find(const sess_request *req, char **prefix,
                                           char **app_path, sess_result *rc)
{
    char *path;
    const char *rest = NULL, *last;
    const struct route *found = NULL;
    size_t i, n;

    *prefix = *app_path = NULL;
    path = request_text(req, sess_request_path, rc);
    if (path)
        *app_path = request_text(req, sess_request_app_path, rc);
    if (!*app_path) {
        free(path);
        return NULL;
    }
    n = strcmp(*app_path, "/") == 0 ? 0 : strlen(*app_path);
    if (strncasecmp(path, *app_path, n) == 0) {
        rest = path + n;
        if (!*rest)
            rest = "/";
    }
    for (i = 0; rest && i < sizeof routes / sizeof routes[0]; i++)
        if (strcmp(rest, routes[i].path) == 0)
            found = &routes[i];
    /* Pages in subdirectories belong to the application too (seed 004:
     * /search/contrib/x stays in /search): they run the page their last
     * segment names. */
    last = rest ? strrchr(rest, '/') : NULL;
    for (i = 0; !found && last && last != rest && i < sizeof routes / sizeof routes[0]; i++)
        if (strcmp(last, routes[i].path) == 0 && strcmp(last, "/") != 0)
            found = &routes[i];
    free(path);
    if (!(*prefix = malloc(n + 1))) {
        *rc = SESS_E_OUTOFMEMORY;
        free(*app_path);
        *app_path = NULL;
        return NULL;
    }
    memcpy(*prefix, *app_path, n);
    (*prefix)[n] = '\0';
    return found;
}

/* The whole HTML document of a page that succeeded (its navigation added:
 * call it before sess_request_end, links are rewritten through the request),
 * in `cp` (the session's code page: characters it cannot hold become &#N;,
 * as in ASP) into `body`, and that code page's charset name into
 * `charset`. A failure's code (the document is then incomplete). */
static sess_result demo_document(page *pg, const struct route *route, uint32_t cp, sbuf *body,
                                 char *charset, size_t charset_len)
{
    sbuf doc = {NULL, 0, 0, false};
    size_t need = 0;
    sess_result rc = SESS_S_OK;

    nav(pg);
    if (sess_codepage_charset(cp, charset, charset_len, NULL) < 0) {
        cp = CP_UTF8;
        snprintf(charset, charset_len, "UTF-8");
    }
    sb_printf(&doc, "<!DOCTYPE html>\n<html><head><meta charset=\"");
    sb_html(&doc, charset);
    sb_puts(&doc, "\"><title>");
    sb_html(&doc, route->title);
    sb_puts(&doc, "</title></head>\n<body>\n<h1>");
    sb_html(&doc, route->title);
    sb_puts(&doc, "</h1>\n");
    sb_put(&doc, sb_str(&pg->out), pg->out.len);
    sb_puts(&doc, "</body></html>\n");
    if (doc.oom || pg->out.oom) {
        rc = SESS_E_OUTOFMEMORY;
    } else if (cp == CP_UTF8) {
        sb_free(body);
        *body = doc;
        doc.p = NULL;
    } else {
        rc = sess_codepage_encode(cp, doc.p, doc.len, 0, NULL, 0, &need);
        if (rc == SESS_E_INSUFFICIENT_BUFFER) {
            rc = sb_reserve(body, need) ? sess_codepage_encode(cp, doc.p, doc.len, 0, body->p,
                                                               need + 1, NULL)
                                        : SESS_E_OUTOFMEMORY;
            if (rc >= 0)
                body->len = need;
        }
    }
    sb_free(&doc);
    return rc;
}

#endif /* DEMO_PAGES_H */
