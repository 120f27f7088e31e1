/*
 * mod_counter_bench.c: the same counter page (count = count + 1, answered as
 * "count=<N>") written twice, for benches/apache/run.sh:
 *
 *   SetHandler counter-libsess      through mod_sess (its optional function
 *                                   sess_ap_request and libsess's C API,
 *                                   which mod_sess.so exports)
 *   SetHandler counter-mod-session  through Apache's own mod_session
 *                                   (ap_session_load/get/set), with
 *                                   mod_session_cookie keeping the session
 *
 * Load it after mod_sess and mod_session.
 */
#include "httpd.h" /* first: the others need its types */
#include "apr_optional.h"
#include "apr_strings.h"
#include "http_config.h"
#include "http_protocol.h"
#include "mod_session.h"

#include "../../tests/apache/count_visit.h"
#include "mod_sess.h"
#include "sess.h"

static APR_OPTIONAL_FN_TYPE(sess_ap_request) *get_request;
static APR_OPTIONAL_FN_TYPE(ap_session_load) *session_load;
static APR_OPTIONAL_FN_TYPE(ap_session_get) *session_get;
static APR_OPTIONAL_FN_TYPE(ap_session_set) *session_set;

static void retrieve(void)
{
    get_request = APR_RETRIEVE_OPTIONAL_FN(sess_ap_request);
    session_load = APR_RETRIEVE_OPTIONAL_FN(ap_session_load);
    session_get = APR_RETRIEVE_OPTIONAL_FN(ap_session_get);
    session_set = APR_RETRIEVE_OPTIONAL_FN(ap_session_set);
}

static int answer(request_rec *r, long long count)
{
    ap_set_content_type(r, "text/plain");
    ap_rprintf(r, "count=%" APR_INT64_T_FMT "\n", (apr_int64_t)count);
    return OK;
}

static int counter_libsess(request_rec *r)
{
    sess_request *req;
    sess_session *s = NULL;
    long long count = 0;
    sess_result hr;

    if (strcmp(r->handler, "counter-libsess") != 0)
        return DECLINED;
    if (!get_request || !(req = get_request(r)))
        return HTTP_INTERNAL_SERVER_ERROR;
    hr = sess_request_session(req, SESS_REQUEST_CREATE, &s);
    if (hr >= 0)
        hr = count_visit(s, &count);
    return hr < 0 ? HTTP_INTERNAL_SERVER_ERROR : answer(r, count);
}

static int counter_mod_session(request_rec *r)
{
    session_rec *z = NULL;
    const char *value = NULL;
    long long count;

    if (strcmp(r->handler, "counter-mod-session") != 0)
        return DECLINED;
    if (!session_load || session_load(r, &z) != APR_SUCCESS || !z)
        return HTTP_INTERNAL_SERVER_ERROR;
    session_get(r, z, "count", &value);
    count = value ? apr_atoi64(value) + 1 : 1;
    if (session_set(r, z, "count", apr_psprintf(r->pool, "%" APR_INT64_T_FMT, (apr_int64_t)count))
        != APR_SUCCESS)
        return HTTP_INTERNAL_SERVER_ERROR;
    return answer(r, count);
}

static void register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_optional_fn_retrieve(retrieve, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(counter_libsess, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(counter_mod_session, NULL, NULL, APR_HOOK_MIDDLE);
}

module AP_MODULE_DECLARE_DATA counter_bench_module = {
    STANDARD20_MODULE_STUFF, NULL, NULL, NULL, NULL, NULL, register_hooks, AP_MODULE_FLAG_NONE,
};
