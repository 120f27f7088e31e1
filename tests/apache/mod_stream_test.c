/*
 * mod_stream_test.c: a handler that streams through mod_sess, for
 * tests/http_demo.rs (SetHandler sess-stream-test): it takes the session,
 * sends a first part and flushes (the headers leave: mod_sess sends the
 * Set-Cookie known then), then counts (count = count + 1) and sends
 * "count=<N>" and "app=<the note sess-app>"; with ?abandon=1 it abandons
 * the session after the flush.
 *
 * With ?status=<N> it counts, then returns N as a handler's status
 * (Apache's own error response, ap_die): a 3xx gets a Location (the
 * redirect after a login), no body is written unless &write=1, which first
 * passes a line down the filters (mod_sess holds it; the error response
 * replaces it); &failed=1 sets the note "sess-failed" first;
 * &regenerate=1 gives the session a new ID, &abandon=1 abandons it.
 * With ?peek=1 it takes the session only if there is one (creating
 * none) and redirects to "/stream?after-redirect".
 * With &here=1 (?status=3xx, ?peek=1) the redirect goes to the request's
 * own path instead (r->uri: mod_sess took the ID out of it).
 * With ?redirect=1 it counts, then redirects internally to /stream/denied
 * (which a test's configuration denies before any handler runs); with
 * ?redirect=2, to /stream/denied/doc (denied too, with an ErrorDocument).
 * With ?error=<N> it counts, then passes a line, an error bucket of status
 * N and the EOS, and returns OK (a module that fails mid-response, as
 * mod_proxy does when its backend breaks).
 * With ?fail=<N> it counts, then answers N itself (r->status, a line of
 * body, OK returned: a script whose Status is 500, say).
 * With ?pieces=<N> it counts, then writes N pieces of 10 bytes, each its
 * own brigade ("%09d\n" of 0 .. N-1), as a handler writing a large
 * response in tiny pieces does (with &rputs=1 through ap_rputs instead).
 * With ?null=1 it asks mod_sess for the unit of work of no request
 * (sess_ap_request(NULL), a caller's mistake) and says what it got:
 * "null=none" for NULL.
 * Built by `make -C hosts/apache ext/mod_stream_test.so`.
 */
#include <stdbool.h>
#include <stdlib.h>

#include "httpd.h" /* first: the others need its types */
#include "apr_optional.h"
#include "apr_strings.h"
#include "http_config.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_filter.h"

#include "count_visit.h"
#include "mod_sess.h"
#include "sess.h"

static APR_OPTIONAL_FN_TYPE(sess_ap_request) *get_request;

static void retrieve(void)
{
    get_request = APR_RETRIEVE_OPTIONAL_FN(sess_ap_request);
}

/* The number after "<name>=" in the query (0: none). */
static int query_int(const request_rec *r, const char *name)
{
    size_t n = strlen(name);
    const char *p = r->args;
    while (p && *p) {
        if (strncmp(p, name, n) == 0 && p[n] == '=')
            return atoi(p + n + 1);
        p = strchr(p, '&');
        if (p)
            p++;
    }
    return 0;
}

/* The Location of the handler's redirects (&here=1: r->uri). */
static const char *redirect_to(request_rec *r)
{
    return query_int(r, "here") ? r->uri : "/stream?after-redirect";
}

/* ?status=N: count, then return N (a redirect's Location set). */
static int status_handler(request_rec *r, sess_session *s, int status)
{
    long long count;
    if (count_visit(s, &count) < 0)
        return HTTP_INTERNAL_SERVER_ERROR;
    if (query_int(r, "failed"))
        apr_table_setn(r->notes, SESS_AP_NOTE_FAILED, "1");
    if (query_int(r, "regenerate") && sess_session_regenerate_id(s) < 0)
        return HTTP_INTERNAL_SERVER_ERROR;
    if (query_int(r, "abandon") && sess_abandon(s) < 0)
        return HTTP_INTERNAL_SERVER_ERROR;
    if (query_int(r, "write")) {
        /* Reaches mod_sess's filter (no FLUSH: it holds it). */
        apr_bucket_brigade *bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
        ap_set_content_type(r, "text/plain");
        apr_brigade_puts(bb, NULL, NULL, "the handler's own body\n");
        if (ap_pass_brigade(r->output_filters, bb) != APR_SUCCESS)
            return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (ap_is_HTTP_REDIRECT(status))
        apr_table_setn(r->headers_out, "Location", redirect_to(r));
    return status;
}

/* ?pieces=N: N pieces of 10 bytes ("%09d\n"), each passed down on its
 * own (or through ap_rputs, which buffers them). */
static int write_pieces(request_rec *r, int n, bool rputs)
{
    apr_bucket_brigade *bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    char piece[11];
    int i;
    for (i = 0; i < n; i++) {
        apr_snprintf(piece, sizeof piece, "%09d\n", i);
        if (rputs) {
            if (ap_rputs(piece, r) < 0)
                return OK; /* the client went away */
            continue;
        }
        APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_transient_create(piece, 10, bb->bucket_alloc));
        if (ap_pass_brigade(r->output_filters, bb) != APR_SUCCESS)
            return OK;
        apr_brigade_cleanup(bb);
    }
    return OK;
}

static int stream_handler(request_rec *r)
{
    sess_request *req;
    sess_session *s = NULL;
    const char *app;
    long long count;
    sess_result hr;
    int status;

    if (strcmp(r->handler, "sess-stream-test") != 0)
        return DECLINED;
    if (!get_request)
        return HTTP_INTERNAL_SERVER_ERROR;
    if (query_int(r, "null")) {
        ap_set_content_type(r, "text/plain");
        ap_rputs(get_request(NULL) ? "null=some\n" : "null=none\n", r);
        return OK;
    }
    if (!(req = get_request(r)))
        return HTTP_INTERNAL_SERVER_ERROR;
    if (query_int(r, "peek")) {
        /* ?peek=1: the session if there is one, then a redirect. */
        if (sess_request_session(req, 0, &s) < 0)
            return HTTP_INTERNAL_SERVER_ERROR;
        apr_table_setn(r->headers_out, "Location", redirect_to(r));
        return HTTP_MOVED_TEMPORARILY;
    }
    if (sess_request_session(req, SESS_REQUEST_CREATE, &s) < 0)
        return HTTP_INTERNAL_SERVER_ERROR;
    if ((status = query_int(r, "status")) != 0)
        return status_handler(r, s, status);
    if ((status = query_int(r, "error")) != 0) {
        apr_bucket_brigade *bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
        if (count_visit(s, &count) < 0)
            return HTTP_INTERNAL_SERVER_ERROR;
        ap_set_content_type(r, "text/plain");
        apr_brigade_puts(bb, NULL, NULL, "the handler's own body\n");
        APR_BRIGADE_INSERT_TAIL(
            bb, ap_bucket_error_create(status, NULL, r->pool, r->connection->bucket_alloc));
        APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(r->connection->bucket_alloc));
        ap_pass_brigade(r->output_filters, bb);
        return OK;
    }
    if ((status = query_int(r, "fail")) != 0) {
        if (count_visit(s, &count) < 0)
            return HTTP_INTERNAL_SERVER_ERROR;
        r->status = status;
        ap_set_content_type(r, "text/plain");
        ap_rputs("the handler's own body\n", r);
        return OK;
    }
    if ((status = query_int(r, "pieces")) != 0) {
        if (count_visit(s, &count) < 0)
            return HTTP_INTERNAL_SERVER_ERROR;
        ap_set_content_type(r, "text/plain");
        return write_pieces(r, status, query_int(r, "rputs") != 0);
    }
    if ((status = query_int(r, "redirect")) != 0) {
        if (count_visit(s, &count) < 0)
            return HTTP_INTERNAL_SERVER_ERROR;
        ap_internal_redirect(status == 2 ? "/stream/denied/doc" : "/stream/denied", r);
        return OK;
    }
    ap_set_content_type(r, "text/plain");
    ap_rputs("first part\n", r);
    ap_rflush(r); /* the headers leave now */
    hr = count_visit(s, &count);
    if (hr >= 0 && r->args && strstr(r->args, "abandon=1"))
        hr = sess_abandon(s);
    app = apr_table_get(r->notes, SESS_AP_NOTE_APP);
    ap_rprintf(r, "count=%" APR_INT64_T_FMT "\napp=%s\n", (apr_int64_t)count, app ? app : "");
    return hr < 0 ? HTTP_INTERNAL_SERVER_ERROR : OK;
}

static void register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_optional_fn_retrieve(retrieve, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(stream_handler, NULL, NULL, APR_HOOK_MIDDLE);
}

module AP_MODULE_DECLARE_DATA stream_test_module = {
    STANDARD20_MODULE_STUFF, NULL, NULL, NULL, NULL, NULL, register_hooks, AP_MODULE_FLAG_NONE,
};
