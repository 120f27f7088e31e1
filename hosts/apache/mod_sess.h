/*
 * mod_sess.h: what mod_sess offers the other modules of a request (as
 * mod_session's ap_session_get does for its sessions).
 *
 * mod_sess begins every request in a scope with `SessionState On` or
 * `ReadOnly` (and, without a lock, `Off`) in its fixups hook, before any
 * handler runs, and ends it when the response's last bucket (EOS) passes
 * its output filter. A handler gets the unit of work like this:
 *
 *   static APR_OPTIONAL_FN_TYPE(sess_ap_request) *get_req;
 *   ... in a post_config or child_init hook:
 *   get_req = APR_RETRIEVE_OPTIONAL_FN(sess_ap_request);
 *   ... in the handler:
 *   sess_request *req = get_req ? get_req(r) : NULL;  (NULL: no session state here)
 *   sess_session *s = NULL;
 *   sess_request_session(req, SESS_REQUEST_CREATE, &s);
 *
 * mod_sess.so exports libsess's C API (sess.h): load it (LoadModule) before
 * the modules that call sess_* and link them without libsess.
 *
 * The handles are lent: valid until the response ends; never call
 * sess_request_end on them. A handler whose page failed sets the request
 * note "sess-failed" (any value; in a subrequest too): its session changes
 * are then undone, as they are when the status is 500 or more (a handler's
 * r->status, a subrequest's too, or an error bucket's that a module
 * passes). A subrequest's handler that fails says so with the note or
 * r->status: the status it only returns reaches the module that ran the
 * subrequest (ap_run_sub_req), not mod_sess.
 */
#ifndef MOD_SESS_H
#define MOD_SESS_H

#include "apr_optional.h"
#include "httpd.h"
#include "sess.h"

/* The request's unit of work (sess_request_session, sess_request_path,
 * sess_request_app_path, sess_request_rewrite_url), or NULL when no
 * application serves the request, its scope has no SessionState, the
 * unit of work has not begun (before mod_sess's fixups hook) or has
 * ended (once the response's EOS passed), or `r` is NULL. */
APR_DECLARE_OPTIONAL_FN(sess_request *, sess_ap_request, (request_rec *r));

/* The note naming the request's application (its virtual path). */
#define SESS_AP_NOTE_APP "sess-app"
/* The note a handler sets to undo its session changes. */
#define SESS_AP_NOTE_FAILED "sess-failed"
/* The note holding the request's path as it came (decoded), set when
 * mod_sess took a cookieless application's "(S(<id>))" segment out of
 * r->uri (before the <Location> walk: r->uri is the path
 * sess_request_path gives). */
#define SESS_AP_NOTE_URI "sess-uri"

#endif /* MOD_SESS_H */
