/*
 * mod_sess.c: libsess in Apache httpd 2.4 — the IIS/ASP Session object for
 * every handler, configured the way ASP.NET's <sessionState> is.
 *
 *   <Location /app>
 *       SessionApplication On          the scope is an application (its
 *                                      virtual path); nested ones are others
 *       SessionState On                ASP's EnableSessionState: On | ReadOnly | Off
 *       SessionTimeout 20              minutes, 1 to 525600 (else Apache stops,
 *                                      naming the range and the line)
 *       SessionLockTimeout 5000        ms, default 10000 (answer 503 past it)
 *       SessionStore redis://127.0.0.1:6379/0   (default: in-process)
 *       SessionStore lmdb:///var/lib/sess       a machine-local LMDB directory
 *                                      (existing, writable by the children)
 *       SessionKeyPrefix sess:apache:  Redis keys: <prefix><path>: (below)
 *       SessionStoreName shop          LMDB: the application's name in the
 *                                      directory, 1 to 64 bytes (default:
 *                                      its path)
 *       SessionStoreLockTTL 120000     Redis, LMDB: ms a killed child's lock lives
 *       SessionStoreMapSize 1G         LMDB: the data files' largest size (bytes;
 *                                      K, M, G, T); the directory's first
 *                                      opener sets it for its process
 *       SessionStoreDurable Off        LMDB: On flushes each write to disk
 *       SessionStateCookieName ASPSESSIONID    (default; plus the path in nested ones)
 *       SessionStateCookiePath /       SessionStateCookieDomain example.org
 *       SessionStateCookieSecure Auto  Auto | Always | Never
 *       SessionStateCookieSameSite Lax Lax | Strict | None | Omit
 *       SessionStateCookieMaxAge 0     SessionStateCookieHostPrefix Off
 *       SessionCookieless Off          IDs in URLs: /app/(S(<id>))/...
 *   </Location>
 *   <LocationMatch "/peek$"> SessionState ReadOnly </LocationMatch>
 *
 * (The cookie's directives are SessionStateCookie*, not SessionCookie*:
 * mod_session_cookie owns SessionCookieName, and both modules may be loaded.)
 *
 * A store's namespace: on Redis an application's keys begin with
 * "<SessionKeyPrefix><path>:", the path spelled one way only: its bytes
 * other than ASCII letters, digits, '-', '.' and '/' as %XX ('_' too),
 * then each '/' as '_' ("sess:apache:_search:"; /a/b gives "_a_b", /a_b
 * "_a%5Fb"). Before this spelling '_' and those bytes were kept as they
 * were: an application whose path holds any of them (/my_app, /café) has
 * other keys now, and the sessions stored under the old ones are no
 * longer found (they expire there). On LMDB an application is named by
 * SessionStoreName, else by its path. Neither includes the virtual host:
 * two applications (of two <VirtualHost>s, say, each with its
 * <Location /shop>) on the same store (the same SessionStore URL as
 * written; for LMDB, the same directory) under the same prefix or name
 * would share sessions, each adopting the other's IDs, so Apache refuses
 * to start with them, naming both: give one a SessionKeyPrefix (Redis) or
 * a SessionStoreName (LMDB) of its own.
 *
 * Startup (check_config, so `apachectl configtest` too, and before Apache
 * detaches): every application is tried as the library takes it, with its
 * settings (no store opened, no connection made, no thread started; an
 * LMDB application in-process) on a throwaway site with its cookie
 * options, then released. What the library refuses (a bad cookie option,
 * a path declared twice, two applications
 * with one cookie name, a Redis URL it cannot read, a key prefix too long
 * or a SessionStoreLockTTL out of range), an LMDB name past 64 bytes or
 * lock TTL below its least, a store's directive in an application of
 * another store (SessionKeyPrefix without Redis; SessionStoreName,
 * SessionStoreMapSize or SessionStoreDurable without LMDB;
 * SessionStoreLockTTL in-process: it would do nothing), and a shared
 * namespace (above) stop Apache there, the error log naming the
 * application and where it is declared. So does an application's
 * setting (any directive but SessionApplication and SessionState) in a
 * scope that declares no application, where it would do nothing (they
 * are not inherited: a SessionStore at server level is no default for
 * the <Location> applications), the log naming the directive, its file
 * and line.
 * Then each LMDB application's directory is opened as a child will open
 * it, in a process forked for it that takes the children's user (User,
 * when Apache starts as root), and released: a missing directory, or one
 * that user may not write, stops Apache too, the log naming the directory
 * and the library's code. Applications are created for real in
 * child_init (after the fork: an LMDB store must not be opened before it)
 * and released with the child; what fails only there (a directory removed
 * since startup) leaves that server's applications answering 500, the
 * error log saying why. A
 * <VirtualHost> that declares no SessionApplication serves the main
 * server's applications, the same ones (sessions shared); one that declares
 * any has only its own. With the in-process store each child has its own
 * sessions: under an MPM that may run several children the error log says
 * so at startup, once per such application (use lmdb:// or redis://
 * there); so it does with one child that MaxConnectionsPerChild replaces
 * (each new child starts without sessions). SessionState is inherited by nested scopes; where it is unset no
 * session state is touched (static files, say).
 *
 * Cookieless applications: the translate_name hook (first of all, after
 * Apache decoded and normalised the path) takes a well-formed "(S(<id>))"
 * segment after a cookieless application's path out of r->uri, the same
 * segment the library takes out (sess_request_path), so the <Location>
 * sections (Require, SessionState), Alias, RewriteRule and every handler
 * see /app/admin for /app/(S(<id>))/admin: a <Location /app/admin> applies
 * to both. The path as it came is in the note "sess-uri" (mod_sess.h); the
 * unit of work puts the segment back into r->uri (where it was, while
 * r->uri still begins with the application's path) to find the ID. The
 * request line (%r in logs, r->unparsed_uri) keeps it; %U does not. A
 * redirect Apache makes itself (mod_dir's trailing '/', mod_alias's
 * Redirect, mod_rewrite's [R], a handler that returns 302) to a path of
 * the same application on this server carries the session's ID in its
 * Location (location_filter: the ID the session has then, none if the
 * unit of work found no session for the URL's ID, or else the segment
 * the URL came with); a page's links, and a Location it sends with its
 * own response, carry it through sess_request_rewrite_url. A page of an
 * application nested under a cookieless one, asked for behind the outer
 * one's segment (a relative link on the outer one's page), is redirected
 * to its URL without that segment, which its own cookie's Path covers.
 * Application paths match without regard to case, as in IIS (/APP is
 * /app's application), while <Location> is case-sensitive: access rules
 * under an application whose pages route without regard to case (the
 * demo's do) belong in <LocationMatch "(?i)^/app/admin">.
 *
 * A request's unit of work (mod_sess.h):
 *   fixups       sess_request_begin: the application by path, the session by
 *                cookie or URL, its lock (shared for ReadOnly); a lock
 *                timeout or a store that is down answers 503 here, before
 *                any handler ran (an ErrorDocument for it runs without
 *                session state: the start is not tried again); a path
 *                the library refuses (not UTF-8: /%FF) answers 400.
 *   handler      any module: sess_ap_request(r) (optional function).
 *   SESS_COMMIT  an output filter just before the protocol filters holds
 *                the response until its EOS, then sess_request_end
 *                commits (or undoes, if the page failed) and the Set-Cookie
 *                — Abandon's deleting one included — joins the response
 *                headers, which have not left yet. So a client never sees
 *                a response whose changes are not committed, and every
 *                cookie reaches it. The cost: a response with session
 *                state is buffered (file buckets are set aside, not read).
 *                A commit that fails turns a response below 400 into a
 *                503 (a lock timeout, the store down) or a 500 (any other
 *                failure).
 *                A handler that streams (a FLUSH) or a response past 1 MiB
 *                in memory lets the headers go then, with the Set-Cookie
 *                known then (sess_request_set_cookie); a cookie only known
 *                at the end (Abandon after that) is logged, not sent.
 *                A response Apache makes itself (ap_die: a handler that
 *                returns a status, as a redirect after a login returns
 *                302 with a Location; a 404, a 204) starts over with the
 *                protocol filters only: the insert_error_filter hook puts
 *                the filter back, which drops what it held (the error
 *                response replaces it); a local ErrorDocument (an internal
 *                redirect) carries the unit of work on the same way. Those
 *                commit and send their Set-Cookie like any response: the
 *                changes are undone only at a status of 500 or more, or
 *                with the note "sess-failed" (mod_sess.h); a subrequest's
 *                (mod_include's `#include virtual`) too: its note or its
 *                status of 500 or more undoes the unit of work it shares,
 *                whatever the page around it answers (mod_include: 200).
 *   cleanup      a response whose EOS never reached the filter (a module
 *                that dropped it) ends with its changes undone, and no
 *                cookie sent, when the request's pool goes.
 *
 * Handlers: "sess-demo" serves the demo web app's pages (examples-c/DEMO.md,
 * the same code as examples-c/server_demo.c: demo_pages.h); "sess-metrics"
 * serves counters in Prometheus text format: the server's (virtual
 * host's) applications' series, as the demo's, then the module's own
 * (sess_apache_*). Every counter is all children's, so it only goes up
 * whichever child answers: each child adds what its applications counted
 * (sess_app_stats) to their slots in a mapping the children share, every
 * second, when it answers /metrics and when it ends (so another child's
 * last second may not be there yet). An application's slot is found by its
 * ServerName, port and path, so a graceful restart's children count on
 * from the old ones' totals, as long as those stay the same (another path
 * starts from 0; the mapping holds 1024 applications over the server's
 * life, and one past them, logged at startup, shows the answering child's
 * counts). sess_sessions, a gauge, is the store's on LMDB or Redis and,
 * with the in-process store, the answering child's sessions (each child
 * has its own: no sum over children that come and go stays right); its
 * HELP says so. Children publish with sess_app_stats_own, which does not
 * ask the store for its count: a store that is down counts the errors of
 * requests and scrapes, not a publishing's every second.
 */
#include <limits.h>
#include <stdio.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "httpd.h" /* first: the others need its types */
#include "apr_hash.h"
#include "apr_lib.h"
#include "apr_optional.h"
#include "apr_strings.h"
#include "ap_mpm.h"
#include "mpm_common.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_filter.h"
#include "util_script.h"
#include "unixd.h"

#include "demo_pages.h"
#include "mod_sess.h"
#include "sess.h"

module AP_MODULE_DECLARE_DATA sess_module;
APLOG_USE_MODULE(sess);

#define UNSET (-1)
#define FILTER_NAME "SESS_COMMIT"
/* The output filter that keeps a cookieless ID in an error response's
 * Location (location_filter). */
#define LOCATION_FILTER_NAME "SESS_LOCATION"
/* The output filter that carries a subrequest's note "sess-failed" to its
 * main request (subreq_filter). */
#define SUBREQ_FILTER_NAME "SESS_SUBREQ"
#define DEFAULT_KEY_PREFIX "sess:apache:"
/* The largest SessionTimeout, minutes (sess_app_options.max_timeout_minutes'
 * default: a year). */
#define SESSION_TIMEOUT_MAX 525600
/* LMDB's longest application name (sess_lmdb_options.name), bytes. */
#define LMDB_NAME_MAX 64
/* LMDB's shortest and longest lock TTL (sess_lmdb_options.lock_ttl_ms), ms. */
#define LMDB_LOCK_TTL_MIN 100
#define LMDB_LOCK_TTL_MAX 86400000
/* LMDB's smallest map (sess_lmdb_options.map_size), bytes. */
#define LMDB_MAP_MIN 1048576
/* Where strip_cookieless_id took the ID's segment out of r->uri:
 * "<offset>:<segment>" ("12:(S(<id>))"). */
#define NOTE_ID_SEGMENT "sess-id-segment"
/* The path strip_cookieless_id set r->uri to (while r->uri is still it,
 * the unit of work begins with the path as it came). */
#define NOTE_STRIPPED "sess-stripped"

/* Settings of one scope (<Location>, <Directory>, the server). */
typedef struct dir_conf {
    int state;            /* SESS_USE_* or UNSET (inherited) */
    /* The application's settings (read where SessionApplication is On) */
    const char *path;     /* the scope's virtual path */
    int timeout;          /* minutes, or UNSET */
    int lock_timeout;     /* ms, or UNSET */
    const char *store;    /* a redis:// or lmdb:// URL, or NULL: in-process */
    int lock_ttl;         /* Redis, LMDB: ms a crashed holder's lock lives, or UNSET */
    const char *key_prefix; /* Redis: the keys' start before the path */
    const char *store_name; /* LMDB: the application's name, or NULL: its path */
    apr_uint64_t map_size; /* LMDB: the data files' largest size, bytes, or 0 (UNSET) */
    int durable;          /* LMDB: flush every write to disk, or UNSET */
    const char *cookie_name, *cookie_path, *cookie_domain;
    int secure, same_site, max_age, host_prefix, cookieless;
    const char *file;     /* where SessionApplication is, for messages */
    int line;
    int slot;             /* its counters' slot in the shared mapping, or -1 */
} dir_conf;

/* Where an application's setting was given (check_settings: in a scope
 * that declares no application it would do nothing). */
typedef struct setting_at {
    const dir_conf *d; /* the scope it was given in */
    const char *name;  /* the directive */
    const char *file;
    int line;
} setting_at;

/* A server's (virtual host's) applications and, in a child, its site. */
typedef struct server_conf {
    apr_array_header_t *apps; /* dir_conf *, in declaration order */
    apr_array_header_t *settings; /* setting_at, this server's own */
    sess_site *site;          /* built in child_init */
    sess_app **handles;       /* one per apps entry */
    sess_app_counters *published; /* per apps entry: what this child added to its slot */
} server_conf;

/* The per-application counters (sess_app_counters' after sessions_current)
 * that every child adds its own to. */
#define APP_COUNTERS 6
/* Applications the mapping counts for over the server's life (each
 * application once, as its virtual host and path: a reload that keeps
 * them keeps their slots). */
#define APP_SLOTS 1024

/* One application's counters, all children's. */
typedef struct app_slot {
    uint64_t key;  /* app_key's hash; 0: free */
    uint64_t v[APP_COUNTERS];
} app_slot;

/* Counters every child adds to (a shared anonymous mapping made before the
 * children fork). */
typedef struct shared_counters {
    long requests;      /* units of work begun */
    long lock_timeouts; /* 503s for a session held past the lock timeout */
    long store_errors;  /* 503s for a store that is down */
    long failures;      /* other library failures */
    long readers_now;   /* the demo's read-only pages in progress */
    app_slot apps[APP_SLOTS];
} shared_counters;

static shared_counters *counters;

/* One request's unit of work (shared with internal redirects). */
typedef struct req_state {
    sess_request *req;
    bool looked_up;           /* it began with session state and the URL's ID segment */
    apr_bucket_brigade *held; /* the response so far, set aside until its EOS */
    apr_off_t held_len;       /* its length, bytes */
    bool streaming;           /* the headers have left (a FLUSH, or too much held) */
} req_state;

/* The most response bytes held in memory; past it the response streams. */
#define HOLD_MAX (1024 * 1024)

/* ------------------------------------------------------------------------ */
/* Configuration                                                            */

static void *create_dir_conf(apr_pool_t *p, char *dir)
{
    dir_conf *c = apr_pcalloc(p, sizeof *c);
    c->state = UNSET;
    c->path = dir ? dir : "/";
    c->timeout = c->lock_timeout = c->lock_ttl = c->secure = c->same_site = c->max_age = UNSET;
    c->host_prefix = c->cookieless = c->durable = UNSET;
    c->slot = -1;
    return c;
}

/* Only SessionState is inherited: application settings belong to the scope
 * that declares the application. */
static void *merge_dir_conf(apr_pool_t *p, void *basev, void *addv)
{
    dir_conf *base = basev, *add = addv, *c = apr_pmemdup(p, add, sizeof *add);
    if (add->state == UNSET)
        c->state = base->state;
    return c;
}

static void *create_server_conf(apr_pool_t *p, server_rec *s)
{
    server_conf *c = apr_pcalloc(p, sizeof *c);
    (void)s;
    c->apps = apr_array_make(p, 4, sizeof(dir_conf *));
    c->settings = apr_array_make(p, 4, sizeof(setting_at));
    return c;
}

/* A virtual host that declares no application of its own serves the main
 * server's (the same array: child_init gives both one site). Without this,
 * any mod_sess directive in a <VirtualHost> (which makes it a server
 * configuration of its own) would leave it without applications. */
static void *merge_server_conf(apr_pool_t *p, void *basev, void *addv)
{
    const server_conf *base = basev, *add = addv;
    server_conf *c = apr_pcalloc(p, sizeof *c);
    c->apps = add->apps->nelts ? add->apps : base->apps;
    c->settings = add->settings;
    return c;
}

/* Notes where an application's setting (any directive but SessionApplication
 * and SessionState) was given, for check_settings. */
static void note_setting(cmd_parms *cmd, void *dv)
{
    server_conf *sc = ap_get_module_config(cmd->server->module_config, &sess_module);
    setting_at *at = apr_array_push(sc->settings);
    at->d = dv;
    at->name = cmd->cmd->name;
    at->file = apr_pstrdup(cmd->pool, cmd->directive->filename ? cmd->directive->filename : "?");
    at->line = cmd->directive->line_num;
}

static const char *set_application(cmd_parms *cmd, void *dv, int on)
{
    dir_conf *d = dv;
    server_conf *sc = ap_get_module_config(cmd->server->module_config, &sess_module);
    const ap_directive_t *parent = cmd->directive->parent;
    int i;
    if (!on)
        return NULL;
    /* A <VirtualHost>'s own level is a server level too. */
    if (parent && !strcasecmp(parent->directive, "<VirtualHost"))
        parent = NULL;
    if (parent && (strcasecmp(parent->directive, "<Location") != 0 || !cmd->path
                   || parent->args[0] == '~'))
        return "SessionApplication belongs in a <Location> with a plain path (the "
               "application's virtual path) or at server level (\"/\")";
    if (!parent)
        d->path = "/";
    for (i = 0; i < sc->apps->nelts; i++)
        if (APR_ARRAY_IDX(sc->apps, i, dir_conf *) == d)
            return NULL; /* said twice in one scope: one application */
    d->file = apr_pstrdup(cmd->pool, cmd->directive->filename ? cmd->directive->filename : "?");
    d->line = cmd->directive->line_num;
    *(dir_conf **)apr_array_push(sc->apps) = d;
    return NULL;
}

static const char *set_state(cmd_parms *cmd, void *dv, const char *arg)
{
    dir_conf *d = dv;
    (void)cmd;
    if (!strcasecmp(arg, "On"))
        d->state = SESS_USE_EXCLUSIVE;
    else if (!strcasecmp(arg, "ReadOnly"))
        d->state = SESS_USE_READONLY;
    else if (!strcasecmp(arg, "Off"))
        d->state = SESS_USE_OFF;
    else
        return "SessionState is On, ReadOnly or Off";
    return NULL;
}

/* A whole decimal number from 0 to INT32_MAX. */
static const char *parse_int(const char *arg, const char *what, int *out)
{
    uint32_t v;
    if (!parse_u32(arg, &v) || v > INT32_MAX)
        return what;
    *out = (int)v;
    return NULL;
}

static const char *set_int(cmd_parms *cmd, void *dv, const char *arg)
{
    int *field = (int *)((char *)dv + (size_t)cmd->info);
    note_setting(cmd, dv);
    return parse_int(arg, apr_psprintf(cmd->pool, "%s takes a whole number", cmd->cmd->name),
                     field);
}

/* SessionTimeout: 1 to the library's largest Timeout (max_timeout_minutes'
 * default, which mod_sess keeps), minutes; refused here so that Apache
 * names the directive's line. */
static const char *set_timeout(cmd_parms *cmd, void *dv, const char *arg)
{
    const char *range = apr_psprintf(cmd->pool, "SessionTimeout is 1 to %d minutes",
                                     SESSION_TIMEOUT_MAX);
    dir_conf *d = dv;
    note_setting(cmd, dv);
    if (parse_int(arg, range, &d->timeout) || d->timeout < 1 || d->timeout > SESSION_TIMEOUT_MAX)
        return range;
    return NULL;
}

static const char *set_string(cmd_parms *cmd, void *dv, const char *arg)
{
    note_setting(cmd, dv);
    *(const char **)((char *)dv + (size_t)cmd->info) = arg;
    return NULL;
}

static const char *set_flag(cmd_parms *cmd, void *dv, int on)
{
    note_setting(cmd, dv);
    *(int *)((char *)dv + (size_t)cmd->info) = on;
    return NULL;
}

static const char *set_store(cmd_parms *cmd, void *dv, const char *arg)
{
    dir_conf *d = dv;
    note_setting(cmd, dv);
    (void)cmd;
    if (!strcasecmp(arg, "inproc") || !strcasecmp(arg, "in-process"))
        d->store = NULL;
    else if (!strncasecmp(arg, "redis://", 8) || !strncasecmp(arg, "rediss://", 9))
        d->store = arg;
    else if (!strncasecmp(arg, "lmdb://", 7) && arg[7] == '/')
        d->store = arg;
    else
        return "SessionStore is inproc, a redis:// URL or lmdb:///absolute/dir";
    return NULL;
}

/* What the library refuses in a Redis key prefix (sess_redis_options). */
static const char *set_key_prefix(cmd_parms *cmd, void *dv, const char *arg)
{
    const unsigned char *c;
    note_setting(cmd, dv);
    (void)cmd;
    for (c = (const unsigned char *)arg; *c; c++)
        if (*c == '{' || *c == '}' || *c < 0x20 || *c == 0x7f)
            return "SessionKeyPrefix may not hold '{', '}' or control characters";
    ((dir_conf *)dv)->key_prefix = arg;
    return NULL;
}

/* A size in bytes: a whole number, optionally followed by K, M, G or T
 * (binary multiples, any case), of at least LMDB_MAP_MIN. */
static const char *set_map_size(cmd_parms *cmd, void *dv, const char *arg)
{
    static const char units[] = "KMGT";
    const char *syntax = "SessionStoreMapSize takes a size in bytes, such as 4294967296 or 4G";
    const char *too_large = "SessionStoreMapSize is too large";
    apr_uint64_t v = 0, unit = 1;
    const char *c = arg, *u;
    note_setting(cmd, dv);
    (void)cmd;
    if (*c < '0' || *c > '9')
        return syntax;
    for (; *c >= '0' && *c <= '9'; c++) {
        if (v > (UINT64_MAX - 9) / 10)
            return too_large;
        v = v * 10 + (apr_uint64_t)(*c - '0');
    }
    if (*c) {
        if (c[1] || !(u = strchr(units, apr_toupper(*c))))
            return syntax;
        unit = (apr_uint64_t)1 << (10 * (u - units + 1));
    }
    if (v > UINT64_MAX / unit)
        return too_large;
    if (v * unit < LMDB_MAP_MIN)
        return "SessionStoreMapSize is at least 1M";
    ((dir_conf *)dv)->map_size = v * unit;
    return NULL;
}

static const char *set_store_name(cmd_parms *cmd, void *dv, const char *arg)
{
    note_setting(cmd, dv);
    (void)cmd;
    if (!*arg || strlen(arg) > LMDB_NAME_MAX)
        return "SessionStoreName is 1 to 64 bytes";
    ((dir_conf *)dv)->store_name = arg;
    return NULL;
}

static const char *set_secure(cmd_parms *cmd, void *dv, const char *arg)
{
    dir_conf *d = dv;
    note_setting(cmd, dv);
    (void)cmd;
    if (!strcasecmp(arg, "Auto"))
        d->secure = SESS_SECURE_AUTO;
    else if (!strcasecmp(arg, "Always"))
        d->secure = SESS_SECURE_ALWAYS;
    else if (!strcasecmp(arg, "Never"))
        d->secure = SESS_SECURE_NEVER;
    else
        return "SessionStateCookieSecure is Auto, Always or Never";
    return NULL;
}

static const char *set_same_site(cmd_parms *cmd, void *dv, const char *arg)
{
    dir_conf *d = dv;
    note_setting(cmd, dv);
    (void)cmd;
    if (!strcasecmp(arg, "Lax"))
        d->same_site = SESS_SAMESITE_LAX;
    else if (!strcasecmp(arg, "Strict"))
        d->same_site = SESS_SAMESITE_STRICT;
    else if (!strcasecmp(arg, "None"))
        d->same_site = SESS_SAMESITE_NONE;
    else if (!strcasecmp(arg, "Omit"))
        d->same_site = SESS_SAMESITE_OMIT;
    else
        return "SessionStateCookieSameSite is Lax, Strict, None or Omit";
    return NULL;
}

#define FIELD(f) ((void *)offsetof(dir_conf, f))

static const command_rec sess_cmds[] = {
    AP_INIT_FLAG("SessionApplication", set_application, NULL, RSRC_CONF | ACCESS_CONF,
                 "On: this <Location> is an application (its path is the virtual path)"),
    AP_INIT_TAKE1("SessionState", set_state, NULL, RSRC_CONF | ACCESS_CONF | OR_OPTIONS,
                  "On, ReadOnly or Off (ASP's EnableSessionState)"),
    AP_INIT_TAKE1("SessionTimeout", set_timeout, NULL, RSRC_CONF | ACCESS_CONF,
                  "the Timeout of new sessions, minutes (1 to 525600)"),
    AP_INIT_TAKE1("SessionLockTimeout", set_int, FIELD(lock_timeout), RSRC_CONF | ACCESS_CONF,
                  "the longest wait for a session another request holds, ms"),
    AP_INIT_TAKE1("SessionStore", set_store, NULL, RSRC_CONF | ACCESS_CONF,
                  "inproc (default), redis://host:port/db or lmdb:///absolute/dir"),
    AP_INIT_TAKE1("SessionStoreLockTTL", set_int, FIELD(lock_ttl), RSRC_CONF | ACCESS_CONF,
                  "Redis, LMDB: how long a lock outlives a crashed child, ms (default 120000)"),
    AP_INIT_TAKE1("SessionKeyPrefix", set_key_prefix, NULL, RSRC_CONF | ACCESS_CONF,
                  "the start of the application's Redis keys, before its path (default "
                  "sess:apache:)"),
    AP_INIT_TAKE1("SessionStoreName", set_store_name, NULL, RSRC_CONF | ACCESS_CONF,
                  "LMDB: the application's name in the directory (default: its path)"),
    AP_INIT_TAKE1("SessionStoreMapSize", set_map_size, NULL, RSRC_CONF | ACCESS_CONF,
                  "LMDB: the data files' largest size together, in bytes (K, M, G, T "
                  "allowed; default 1G)"),
    AP_INIT_FLAG("SessionStoreDurable", set_flag, FIELD(durable), RSRC_CONF | ACCESS_CONF,
                 "LMDB: On flushes every write to disk before the response (default Off)"),
    AP_INIT_TAKE1("SessionStateCookieName", set_string, FIELD(cookie_name), RSRC_CONF | ACCESS_CONF,
                  "the cookie's name (default ASPSESSIONID, plus the escaped path in nested applications)"),
    AP_INIT_TAKE1("SessionStateCookiePath", set_string, FIELD(cookie_path), RSRC_CONF | ACCESS_CONF,
                  "the cookie's Path (default /; must cover the application's path)"),
    AP_INIT_TAKE1("SessionStateCookieDomain", set_string, FIELD(cookie_domain),
                  RSRC_CONF | ACCESS_CONF, "the cookie's Domain (default: none)"),
    AP_INIT_TAKE1("SessionStateCookieSecure", set_secure, NULL, RSRC_CONF | ACCESS_CONF,
                  "Auto (over HTTPS), Always or Never"),
    AP_INIT_TAKE1("SessionStateCookieSameSite", set_same_site, NULL, RSRC_CONF | ACCESS_CONF,
                  "Lax, Strict, None or Omit"),
    AP_INIT_TAKE1("SessionStateCookieMaxAge", set_int, FIELD(max_age), RSRC_CONF | ACCESS_CONF,
                  "the cookie's Max-Age, s (default 0: a browser-session cookie)"),
    AP_INIT_FLAG("SessionStateCookieHostPrefix", set_flag, FIELD(host_prefix),
                 RSRC_CONF | ACCESS_CONF, "On: the cookie's name starts __Host-"),
    AP_INIT_FLAG("SessionCookieless", set_flag, FIELD(cookieless), RSRC_CONF | ACCESS_CONF,
                 "On: IDs travel in URLs (/app/(S(<id>))/...), not cookies"),
    {NULL, {NULL}, NULL, 0, RAW_ARGS, NULL},
};

/* ------------------------------------------------------------------------ */
/* Startup                                                                  */

/* The userdata key (in the process pool) of the counters' mapping. Its
 * layout's: a module of another layout, loaded by a graceful restart,
 * makes a mapping of its own (with the per-application slots, "-2"). */
#define COUNTERS_KEY "mod_sess-counters-2"

/* The next server from `s` on whose applications were not visited yet
 * (`seen`: their arrays): each set of applications once, skipping the
 * virtual hosts that share the main server's. */
static server_rec *next_own_apps(apr_hash_t *seen, server_rec *s)
{
    for (; s; s = s->next) {
        const server_conf *sc = ap_get_module_config(s->module_config, &sess_module);
        if (apr_hash_get(seen, &sc->apps, sizeof sc->apps))
            continue;
        apr_hash_set(seen, apr_pmemdup(apr_hash_pool_get(seen), &sc->apps, sizeof sc->apps),
                     sizeof sc->apps, "");
        return s;
    }
    return NULL;
}

/* The in-process store keeps a child's sessions in that child: with several
 * children a client whose requests reach another one gets another session,
 * and a child that MaxConnectionsPerChild replaces takes its sessions with
 * it (the next one starts with none). Said once per application at startup
 * (not in the first, trial reading of the configuration). */
static void warn_split_sessions(apr_pool_t *ptemp, server_rec *main_server)
{
    apr_hash_t *seen = apr_hash_make(ptemp);
    server_rec *s;
    int daemons = 0, i;
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG)
        return;
    if (ap_mpm_query(AP_MPMQ_MAX_DAEMONS, &daemons) != APR_SUCCESS)
        daemons = 1;
    if (daemons <= 1 && ap_max_requests_per_child <= 0)
        return;
    for (s = next_own_apps(seen, main_server); s; s = next_own_apps(seen, s->next)) {
        const server_conf *sc = ap_get_module_config(s->module_config, &sess_module);
        for (i = 0; i < sc->apps->nelts; i++) {
            const dir_conf *d = APR_ARRAY_IDX(sc->apps, i, dir_conf *);
            if (d->store)
                continue;
            if (daemons > 1)
                ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                             "mod_sess: application %s keeps its sessions in one child process "
                             "(the in-process store), but the MPM may run %d children: a "
                             "client whose requests reach another child gets another session "
                             "there; use SessionStore lmdb:///dir or redis://host:port/db with "
                             "several children",
                             d->path, daemons);
            else
                ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                             "mod_sess: application %s keeps its sessions in the child process "
                             "(the in-process store) and loses its sessions whenever a child "
                             "process is replaced (MaxConnectionsPerChild %d): set "
                             "MaxConnectionsPerChild 0, or use SessionStore lmdb:///dir or "
                             "redis://host:port/db",
                             d->path, ap_max_requests_per_child);
        }
    }
}

/* An application's slot key: a 64-bit FNV-1a hash of its virtual host
 * (ServerName and port) and path, the same after a reload (an index in
 * the configuration would not be: a reload that adds or removes an
 * application renumbers the others). Never 0 (a free slot). */
static uint64_t app_key(const server_rec *s, const char *path)
{
    char port[16];
    const char *parts[3];
    uint64_t h = 14695981039346656037ULL;
    size_t i;
    snprintf(port, sizeof port, "%u", (unsigned)s->port);
    parts[0] = s->server_hostname ? s->server_hostname : "";
    parts[1] = port;
    parts[2] = path;
    for (i = 0; i < 3; i++) {
        const unsigned char *c = (const unsigned char *)parts[i];
        for (;; c++) {
            h = (h ^ *c) * 1099511628211ULL; /* the NUL too: a separator */
            if (!*c)
                break;
        }
    }
    return h ? h : 1;
}

/* Gives each application its slot in the shared mapping: the one of its
 * key (an earlier configuration's), else the first free one. Only here,
 * in the parent before the children fork: slots are never freed, so a
 * key's slot comes before the first free one. */
static void assign_slots(apr_pool_t *ptemp, server_rec *main_server)
{
    apr_hash_t *seen = apr_hash_make(ptemp);
    server_rec *s;
    int i, j;
    for (s = next_own_apps(seen, main_server); s; s = next_own_apps(seen, s->next)) {
        const server_conf *sc = ap_get_module_config(s->module_config, &sess_module);
        for (i = 0; i < sc->apps->nelts; i++) {
            dir_conf *d = APR_ARRAY_IDX(sc->apps, i, dir_conf *);
            uint64_t key = app_key(s, d->path);
            for (j = 0; j < APP_SLOTS; j++)
                if (counters->apps[j].key == key || counters->apps[j].key == 0)
                    break;
            if (j == APP_SLOTS) {
                d->slot = -1;
                if (ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG)
                    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                                 "mod_sess: application %s: the shared counters hold %d "
                                 "applications, all taken since Apache started: its /metrics "
                                 "counters are the answering child's (restart Apache, not "
                                 "gracefully, to free them)",
                                 d->path, APP_SLOTS);
                continue;
            }
            counters->apps[j].key = key;
            d->slot = j;
        }
    }
}

/* The counters every child adds to: one mapping for the server's whole
 * life (kept in the process pool, which a restart does not clear), so a
 * graceful restart's new children count on from the old ones' totals, as
 * the old ones, finishing their requests, still count into them. */
static int post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    apr_pool_t *process = s->process->pool;
    void *p = NULL;
    (void)pconf;
    (void)plog;
    apr_pool_userdata_get(&p, COUNTERS_KEY, process);
    if (!p) {
        p = mmap(NULL, sizeof *counters, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
                 0);
        if (p == MAP_FAILED) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, errno, s,
                         "mod_sess: mmap of the counters failed");
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        /* Unmapped when the process ends. */
        apr_pool_userdata_set(p, COUNTERS_KEY, apr_pool_cleanup_null, process);
    }
    counters = p;
    assign_slots(ptemp, s);
    warn_split_sessions(ptemp, s);
    return OK;
}

static void count(long *field)
{
    if (counters)
        __atomic_add_fetch(field, 1, __ATOMIC_RELAXED);
}

/* The detail of this thread's last library failure. */
static const char *last_error(apr_pool_t *p, sess_result hr)
{
    char msg[160], detail[512];
    sess_result last = 0;
    if (sess_error_message(hr, msg, sizeof msg, NULL) < 0)
        msg[0] = '\0';
    if (sess_error_last(&last, detail, sizeof detail, NULL) != SESS_S_OK || last != hr)
        detail[0] = '\0';
    return apr_psprintf(p, "0x%08lX %s%s%s", (unsigned long)(uint32_t)hr, msg,
                        detail[0] ? ": " : "", detail);
}

static apr_status_t release_site(void *scv)
{
    server_conf *sc = scv;
    int i;
    sess_site_release(sc->site);
    sc->site = NULL;
    for (i = 0; i < sc->apps->nelts; i++) {
        sess_app_release(sc->handles[i]); /* Session_OnEnd for what is left */
        sc->handles[i] = NULL;
    }
    return APR_SUCCESS;
}

/* The application's settings that are not its store's. */
static void app_options(const dir_conf *d, sess_app_options *opts)
{
    sess_app_options_init(opts);
    if (d->timeout != UNSET)
        opts->default_timeout_minutes = (uint32_t)d->timeout;
    if (d->lock_timeout != UNSET)
        opts->lock_timeout_ms = (uint32_t)d->lock_timeout;
}

static bool is_lmdb(const dir_conf *d)
{
    return d->store && !strncasecmp(d->store, "lmdb://", 7);
}

/* LMDB: the application's name in the directory. */
static const char *lmdb_name(const dir_conf *d)
{
    return d->store_name ? d->store_name : d->path;
}

/* Redis: the application's key prefix, "<SessionKeyPrefix><path>:" with
 * the path spelled one way only: its bytes other than ASCII letters,
 * digits, '-', '.' and '/' as %XX ('_' and '%' too), then each '/' as '_'.
 * So "sess:apache:_search:" for /search, "_a_b" for /a/b and "_a%5Fb" for
 * /a_b: two paths never share a prefix (nor hold ':', '{' or '}'). */
static const char *redis_prefix(apr_pool_t *p, const dir_conf *d)
{
    static const char hex[] = "0123456789ABCDEF";
    const char *base = d->key_prefix ? d->key_prefix : DEFAULT_KEY_PREFIX;
    size_t n = strlen(base);
    char *out = apr_palloc(p, n + 3 * strlen(d->path) + 2), *o = out + n;
    const unsigned char *c;
    memcpy(out, base, n);
    for (c = (const unsigned char *)d->path; *c; c++) {
        if (*c == '/') {
            *o++ = '_';
        } else if ((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9')
                   || *c == '-' || *c == '.') {
            *o++ = (char)*c;
        } else {
            *o++ = '%';
            *o++ = hex[*c >> 4];
            *o++ = hex[*c & 15];
        }
    }
    *o++ = ':';
    *o = '\0';
    return out;
}

/* What create_app makes an application for. */
typedef enum app_use {
    /* check_config's trial: no store opened, no thread started (no expiry
     * thread; a Redis application as configured, since the library
     * connects only when a request needs Redis; an LMDB application
     * in-process: its directory must not be opened before the fork, and
     * store_problem checks what the library would refuse there). */
    APP_TRIAL,
    /* check_config's forked process trying an LMDB directory
     * (try_lmdb_dirs): the store opened, no expiry thread. */
    APP_PROBE,
    /* A child's, serving requests. */
    APP_SERVE,
} app_use;

/* One application, as its scope configures it, for `use`. */
static sess_result create_app(apr_pool_t *p, const dir_conf *d, app_use use, sess_app **out)
{
    sess_app_options opts;
    sess_redis_options redis;
    sess_lmdb_options lmdb;

    app_options(d, &opts);
    if (use != APP_SERVE)
        opts.expiry_interval_ms = 0;
    if (is_lmdb(d)) {
        if (use == APP_TRIAL)
            return sess_app_create(&opts, out);
        /* One directory for every application, each under its name. */
        sess_lmdb_options_init(&lmdb);
        lmdb.path = d->store + 7; /* "lmdb:///dir" -> "/dir" */
        lmdb.name = lmdb_name(d);
        if (d->lock_ttl != UNSET)
            lmdb.lock_ttl_ms = (uint32_t)d->lock_ttl;
        if (d->map_size)
            lmdb.map_size = d->map_size;
        if (d->durable != UNSET)
            lmdb.durable = d->durable == 1;
        opts.lmdb = &lmdb;
    } else if (d->store) {
        sess_redis_options_init(&redis);
        redis.url = d->store;
        redis.key_prefix = redis_prefix(p, d);
        if (d->lock_ttl != UNSET)
            redis.lock_ttl_ms = (uint32_t)d->lock_ttl;
        opts.redis = &redis;
    }
    return sess_app_create(&opts, out);
}

static sess_result add_app(sess_site *site, const dir_conf *d, const sess_app *app)
{
    sess_web_options web;
    sess_web_options_init(&web);
    if (d->secure != UNSET)
        web.secure = (uint32_t)d->secure;
    if (d->same_site != UNSET)
        web.same_site = (uint32_t)d->same_site;
    if (d->max_age != UNSET)
        web.max_age_seconds = (uint32_t)d->max_age;
    web.cookie_name = d->cookie_name;
    web.cookie_path = d->cookie_path;
    web.cookie_domain = d->cookie_domain;
    web.host_prefix = d->host_prefix == 1;
    web.cookieless = d->cookieless == 1;
    return sess_site_add(site, d->path, app, &web);
}

/* An application and where it is declared, for messages: "/shop (virtual
 * host shop.example, /etc/apache2/sites-enabled/shop.conf line 12)". */
static const char *app_where(apr_pool_t *p, const server_rec *s, const dir_conf *d)
{
    return apr_psprintf(p, "%s (%s %s, %s line %d)", d->path,
                        s->is_virtual ? "virtual host" : "main server",
                        s->server_hostname ? s->server_hostname : "without a name",
                        d->file ? d->file : "?", d->line);
}

/* What sess.h says of the store's options that an in-process trial does not
 * see, and a store's directive given to an application of another store
 * (it would do nothing); NULL if nothing. */
static const char *store_problem(apr_pool_t *p, const dir_conf *d)
{
    if (d->key_prefix && (!d->store || is_lmdb(d)))
        return "SessionKeyPrefix applies to a Redis store (SessionStore redis://host:port/db) "
               "only";
    if (!d->store && d->lock_ttl != UNSET)
        return "SessionStoreLockTTL applies to a Redis or LMDB store (SessionStore "
               "redis://host:port/db or lmdb:///dir) only";
    if (!is_lmdb(d))
        return d->map_size || d->durable != UNSET || d->store_name
                   ? "SessionStoreName, SessionStoreMapSize and SessionStoreDurable apply to "
                     "an LMDB store (SessionStore lmdb:///dir) only"
                   : NULL;
    if (strlen(lmdb_name(d)) > LMDB_NAME_MAX)
        return apr_psprintf(p,
                            "its name in the LMDB directory, \"%s\", is longer than %d bytes: "
                            "set a shorter SessionStoreName",
                            lmdb_name(d), LMDB_NAME_MAX);
    if (d->lock_ttl != UNSET && (d->lock_ttl < LMDB_LOCK_TTL_MIN || d->lock_ttl > LMDB_LOCK_TTL_MAX))
        return apr_psprintf(p, "SessionStoreLockTTL %d is outside LMDB's %d ..= %d ms",
                            d->lock_ttl, LMDB_LOCK_TTL_MIN, LMDB_LOCK_TTL_MAX);
    return NULL;
}

/* Whether two applications' paths are one (as the library compares them:
 * ASCII letters in any case, one trailing '/' aside). */
static bool same_path(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    if (na > 1 && a[na - 1] == '/')
        na--;
    if (nb > 1 && b[nb - 1] == '/')
        nb--;
    return na == nb && strncasecmp(a, b, na) == 0;
}

/* One server's applications as the library takes them, before any child:
 * each a trial application (create_app: no store opened, no thread
 * started before the fork) on a throwaway site with its cookie options,
 * all released here. Logs every application the library refuses; false if
 * any. */
static bool try_server_apps(apr_pool_t *ptemp, const server_rec *s, const server_conf *sc)
{
    sess_site *site = NULL;
    sess_result hr;
    bool ok = true;
    int i;

    if ((hr = sess_site_create(&site)) < 0) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "mod_sess: sess_site_create: %s",
                     last_error(ptemp, hr));
        return false;
    }
    for (i = 0; i < sc->apps->nelts; i++) {
        const dir_conf *d = APR_ARRAY_IDX(sc->apps, i, dir_conf *);
        const char *problem = store_problem(ptemp, d);
        sess_app *app = NULL;
        int j;
        for (j = 0; j < i && !problem; j++) {
            const dir_conf *e = APR_ARRAY_IDX(sc->apps, j, dir_conf *);
            if (same_path(d->path, e->path))
                problem = apr_psprintf(ptemp, "declared twice in this server: it is also %s",
                                       app_where(ptemp, s, e));
        }
        if (!problem) {
            hr = create_app(ptemp, d, APP_TRIAL, &app);
            if (hr >= 0)
                hr = add_app(site, d, app);
            if (hr < 0)
                problem = last_error(ptemp, hr);
            sess_app_release(app); /* the site holds what it added */
        }
        if (problem) {
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "mod_sess: application %s: %s",
                         app_where(ptemp, s, d), problem);
            ok = false;
        }
    }
    sess_site_release(site);
    return ok;
}

/* The store an application's namespace is in: the SessionStore URL as
 * written, or for LMDB the directory (resolved, when it exists). */
static const char *store_of(apr_pool_t *p, const dir_conf *d)
{
    char real[PATH_MAX];
    char *dir;
    size_t n;
    if (!is_lmdb(d))
        return d->store;
    if (realpath(d->store + 7, real))
        return apr_pstrcat(p, "lmdb://", real, NULL);
    dir = apr_pstrdup(p, d->store + 7);
    for (n = strlen(dir); n > 1 && dir[n - 1] == '/'; n--)
        dir[n - 1] = '\0';
    return apr_pstrcat(p, "lmdb://", dir, NULL);
}

/* A store's URL for the error log: a Redis URL's "user:password@" left
 * out, as the library's own messages leave it out. */
static const char *url_for_log(apr_pool_t *p, const char *url)
{
    const char *scheme_end = strstr(url, "://"), *at = strrchr(url, '@');
    if (!scheme_end || !at || at < scheme_end)
        return url;
    return apr_pstrcat(p, apr_pstrndup(p, url, (size_t)(scheme_end - url)), "://..@", at + 1,
                       NULL);
}

typedef struct app_at {
    const server_rec *s;
    const dir_conf *d;
} app_at;

/* Two applications under one namespace of one store (the same Redis key
 * prefix, the same LMDB name) would share their sessions: each would
 * adopt the other's IDs (a session of one virtual host taken up by
 * another's application). Logs each such pair; false if any. */
static bool check_namespaces(apr_pool_t *ptemp, server_rec *main_server)
{
    apr_hash_t *seen = apr_hash_make(ptemp), *spaces = apr_hash_make(ptemp);
    server_rec *s;
    bool ok = true;
    int i;

    for (s = next_own_apps(seen, main_server); s; s = next_own_apps(seen, s->next)) {
        const server_conf *sc = ap_get_module_config(s->module_config, &sess_module);
        for (i = 0; i < sc->apps->nelts; i++) {
            const dir_conf *d = APR_ARRAY_IDX(sc->apps, i, dir_conf *);
            const char *space, *key;
            app_at *first, *here;
            if (!d->store)
                continue; /* in-process: the application's own */
            space = is_lmdb(d) ? lmdb_name(d) : redis_prefix(ptemp, d);
            key = apr_pstrcat(ptemp, store_of(ptemp, d), "\n", space, NULL);
            first = apr_hash_get(spaces, key, APR_HASH_KEY_STRING);
            if (!first) {
                here = apr_palloc(ptemp, sizeof *here);
                here->s = s;
                here->d = d;
                apr_hash_set(spaces, key, APR_HASH_KEY_STRING, here);
                continue;
            }
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                         "mod_sess: applications %s and %s would share their sessions, each "
                         "adopting the other's session IDs: both keep them in %s under the %s "
                         "\"%s\"; give one of them a %s of its own",
                         app_where(ptemp, first->s, first->d), app_where(ptemp, s, d),
                         url_for_log(ptemp, d->store), is_lmdb(d) ? "name" : "key prefix", space,
                         is_lmdb(d) ? "SessionStoreName" : "SessionKeyPrefix");
            ok = false;
        }
    }
    return ok;
}

/* In a process forked for it, as the children's user (ap_unixd_config,
 * when Apache runs as root): the LMDB application `d` created for real,
 * its directory opened as a child will, then released; writes the
 * failure to `fd`. Never returns. */
static void open_lmdb_as_child(apr_pool_t *p, const dir_conf *d, int fd)
{
    sess_app *app = NULL;
    const char *msg = NULL;
    sess_result hr;
    size_t n, off;

    if (geteuid() == 0
        && (setgid(ap_unixd_config.group_id) != 0
            || initgroups(ap_unixd_config.user_name, ap_unixd_config.group_id) != 0
            || setuid(ap_unixd_config.user_id) != 0))
        msg = apr_psprintf(p, "taking the children's user %s: %s", ap_unixd_config.user_name,
                           strerror(errno));
    if (!msg && (hr = create_app(p, d, APP_PROBE, &app)) < 0)
        msg = last_error(p, hr);
    sess_app_release(app);
    for (off = 0, n = msg ? strlen(msg) : 0; off < n;) {
        ssize_t w = write(fd, msg + off, n - off);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    _exit(msg ? 1 : 0);
}

/* Whether every LMDB application's directory opens as the children will
 * open it, tried in a process forked for each (the server's own process
 * must not open one before its children fork: create_app); logs each one
 * that does not, naming the directory and the library's code. So a
 * missing directory, or one the children's user may not write, stops
 * Apache at startup instead of leaving its children answering 500. */
static bool try_lmdb_dirs(apr_pool_t *ptemp, server_rec *main_server)
{
    apr_hash_t *seen = apr_hash_make(ptemp);
    server_rec *s;
    bool ok = true;
    int i;

    for (s = next_own_apps(seen, main_server); s; s = next_own_apps(seen, s->next)) {
        const server_conf *sc = ap_get_module_config(s->module_config, &sess_module);
        for (i = 0; i < sc->apps->nelts; i++) {
            const dir_conf *d = APR_ARRAY_IDX(sc->apps, i, dir_conf *);
            char msg[1024];
            size_t len = 0;
            ssize_t got;
            int fds[2], status = 0;
            pid_t pid;
            if (!is_lmdb(d))
                continue;
            if (pipe(fds) != 0 || (pid = fork()) < 0) {
                ap_log_error(APLOG_MARK, APLOG_ERR, errno, s,
                             "mod_sess: application %s: no process to try its LMDB directory "
                             "%s in",
                             app_where(ptemp, s, d), d->store + 7);
                return false;
            }
            if (pid == 0) {
                close(fds[0]);
                open_lmdb_as_child(ptemp, d, fds[1]);
            }
            close(fds[1]);
            while (len < sizeof msg - 1
                   && ((got = read(fds[0], msg + len, sizeof msg - 1 - len)) > 0
                       || (got < 0 && errno == EINTR)))
                len += got > 0 ? (size_t)got : 0;
            msg[len] = '\0';
            close(fds[0]);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
            if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                continue;
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                         "mod_sess: application %s: its LMDB directory %s cannot be opened by "
                         "the children (user %s): %s",
                         app_where(ptemp, s, d), d->store + 7, ap_unixd_config.user_name,
                         len ? msg : "the trying process failed");
            ok = false;
        }
    }
    return ok;
}

/* An application's setting given in a scope that declares no application
 * (SessionApplication On) would do nothing: settings are not inherited
 * (a SessionStore at server level leaves the <Location> applications
 * in-process; a SessionTimeout in a <Location> under an application
 * leaves the application's). Logs each one, naming the directive and
 * where it is; false if any. */
static bool check_settings(server_rec *main_server)
{
    server_rec *s;
    bool ok = true;
    int i, j;

    for (s = main_server; s; s = s->next) {
        const server_conf *sc = ap_get_module_config(s->module_config, &sess_module);
        for (i = 0; i < sc->settings->nelts; i++) {
            const setting_at *at = &APR_ARRAY_IDX(sc->settings, i, setting_at);
            for (j = 0; j < sc->apps->nelts; j++)
                if (APR_ARRAY_IDX(sc->apps, j, const dir_conf *) == at->d)
                    break;
            if (j < sc->apps->nelts)
                continue;
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                         "mod_sess: %s (%s line %d) is in a scope that declares no application, "
                         "where it would do nothing (an application's settings are not "
                         "inherited): put it in the <Location> that says SessionApplication On "
                         "(or add that there)",
                         at->name, at->file, at->line);
            ok = false;
        }
    }
    return ok;
}

/* Every server's applications, checked before any child exists: in
 * check_config, which runs on every reading of the configuration (the
 * trial one before Apache detaches, a restart's, and `apachectl
 * configtest`'s, which stops after it), so a configuration the library
 * refuses never starts. */
static int check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                        server_rec *main_server)
{
    apr_hash_t *seen = apr_hash_make(ptemp);
    server_rec *s;
    bool ok = true;
    (void)pconf;
    (void)plog;
    ok = check_settings(main_server);
    for (s = next_own_apps(seen, main_server); s; s = next_own_apps(seen, s->next)) {
        const server_conf *sc = ap_get_module_config(s->module_config, &sess_module);
        if (sc->apps->nelts)
            ok &= try_server_apps(ptemp, s, sc);
    }
    if (ok)
        ok = check_namespaces(ptemp, main_server);
    if (ok)
        ok = try_lmdb_dirs(ptemp, main_server);
    return ok ? OK : HTTP_INTERNAL_SERVER_ERROR;
}

/* A server_conf that only borrows another's site (release_site is the
 * owner's): forgets it when the child goes. */
static apr_status_t forget_site(void *scv)
{
    server_conf *sc = scv;
    sc->site = NULL;
    sc->handles = NULL;
    sc->published = NULL;
    return APR_SUCCESS;
}

/* The per-application counters a child adds to its applications' slots:
 * sess_app_counters' fields after sessions_current (a gauge: with the
 * in-process store each child's own sessions, which no sum over children
 * that come and go keeps right). */
static const size_t app_counter_at[APP_COUNTERS] = {
    offsetof(sess_app_counters, sessions_total),
    offsetof(sess_app_counters, sessions_timed_out),
    offsetof(sess_app_counters, sessions_abandoned),
    offsetof(sess_app_counters, lock_waits),
    offsetof(sess_app_counters, lock_timeouts),
    offsetof(sess_app_counters, store_errors),
};

static uint64_t counter_at(const sess_app_counters *c, size_t at)
{
    uint64_t v;
    memcpy(&v, (const char *)c + at, sizeof v);
    return v;
}

/* This child's sites (the servers that built one), which it publishes. */
static apr_array_header_t *own_sites;
/* Publishing is one thread's at a time (the publisher's, a scrape's). */
static pthread_mutex_t publish_lock = PTHREAD_MUTEX_INITIALIZER;
/* The publisher's stop. */
static pthread_mutex_t stop_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t stop_cond = PTHREAD_COND_INITIALIZER;
static bool stopping, publishing;
static pthread_t publisher;
/* How often a child publishes, seconds. */
#define PUBLISH_INTERVAL 1

/* Adds to the shared slots what this child's applications counted since
 * it last did (sess_app_stats_own now, less what it added before): so every
 * child's counts reach /metrics whichever child answers, and no slot goes
 * down. `wait`: for another thread's publishing to end; else, while one
 * runs, nothing (the publisher's next turn, and the child's end: prefork
 * ends a child in its SIGTERM handler, which may have interrupted a
 * scrape holding the lock, and must not wait for it). */
static void publish_counts(bool wait)
{
    int n, i;
    size_t k;
    if (!counters || !own_sites)
        return;
    if (wait)
        pthread_mutex_lock(&publish_lock);
    else if (pthread_mutex_trylock(&publish_lock) != 0)
        return;
    for (n = 0; n < own_sites->nelts; n++) {
        server_conf *sc = APR_ARRAY_IDX(own_sites, n, server_conf *);
        if (!sc->site)
            continue;
        for (i = 0; i < sc->apps->nelts; i++) {
            const dir_conf *d = APR_ARRAY_IDX(sc->apps, i, dir_conf *);
            sess_app_counters now;
            if (d->slot < 0 || !sc->handles[i])
                continue;
            sess_app_stats_init(&now);
            if (sess_app_stats_own(sc->handles[i], &now) < 0)
                continue;
            for (k = 0; k < APP_COUNTERS; k++) {
                uint64_t v = counter_at(&now, app_counter_at[k]);
                uint64_t was = counter_at(&sc->published[i], app_counter_at[k]);
                if (v <= was)
                    continue;
                __atomic_add_fetch(&counters->apps[d->slot].v[k], v - was, __ATOMIC_RELAXED);
                memcpy((char *)&sc->published[i] + app_counter_at[k], &v, sizeof v);
            }
        }
    }
    pthread_mutex_unlock(&publish_lock);
}

/* The publisher: every PUBLISH_INTERVAL, this child's counts (a session's
 * timeout counts in a child that serves nothing then too). */
static void *publish_loop(void *unused)
{
    (void)unused;
    pthread_mutex_lock(&stop_lock);
    while (!stopping) {
        struct timespec at;
        clock_gettime(CLOCK_REALTIME, &at);
        at.tv_sec += PUBLISH_INTERVAL;
        pthread_cond_timedwait(&stop_cond, &stop_lock, &at);
        if (stopping)
            break;
        pthread_mutex_unlock(&stop_lock);
        publish_counts(false);
        pthread_mutex_lock(&stop_lock);
    }
    pthread_mutex_unlock(&stop_lock);
    return NULL;
}

/* The child ends: the publisher stops, and what is left is published
 * before the applications go (a pre-cleanup: before release_site). */
static apr_status_t stop_publisher(void *unused)
{
    (void)unused;
    pthread_mutex_lock(&stop_lock);
    stopping = true;
    pthread_cond_signal(&stop_cond);
    pthread_mutex_unlock(&stop_lock);
    if (publishing)
        pthread_join(publisher, NULL);
    publishing = false;
    publish_counts(false);
    return APR_SUCCESS;
}

static void start_publisher(apr_pool_t *pchild, server_rec *main_server)
{
    int rc;
    sigset_t all, was;
    if (!counters || !own_sites->nelts)
        return;
    apr_pool_pre_cleanup_register(pchild, NULL, stop_publisher);
    /* Signals to the child stay the MPM's threads' (as the library's own
     * threads leave them): the publisher starts with them blocked, but
     * for those its own fault raises. */
    sigfillset(&all);
    sigdelset(&all, SIGSEGV);
    sigdelset(&all, SIGBUS);
    sigdelset(&all, SIGFPE);
    sigdelset(&all, SIGILL);
    sigdelset(&all, SIGABRT);
    pthread_sigmask(SIG_BLOCK, &all, &was);
    rc = pthread_create(&publisher, NULL, publish_loop, NULL);
    pthread_sigmask(SIG_SETMASK, &was, NULL);
    if (rc != 0)
        ap_log_error(APLOG_MARK, APLOG_ERR, rc, main_server,
                     "mod_sess: no thread to publish this child's counters: /metrics shows "
                     "them when this child answers it or ends");
    else
        publishing = true;
}

/* After the fork: each server's site and applications (an application's
 * expiry thread and store connections belong to the process that made
 * them). Servers with the same applications (a virtual host without any of
 * its own: the same server_conf, or a merged one with the same array) share
 * one site: one set of applications, one store, the same sessions. A
 * failure (check_config tried the settings and the LMDB directories: a
 * store that cannot be opened now) leaves those servers without session
 * state (requests in their applications answer 500) and says why in the
 * error log. */
static void child_init(apr_pool_t *pchild, server_rec *main_server)
{
    server_rec *s, *earlier;
    own_sites = apr_array_make(pchild, 4, sizeof(server_conf *));
    for (s = main_server; s; s = s->next) {
        server_conf *sc = ap_get_module_config(s->module_config, &sess_module);
        sess_result hr;
        int i;
        if (sc->site || sc->apps->nelts == 0)
            continue;
        for (earlier = main_server; earlier != s; earlier = earlier->next) {
            server_conf *ec = ap_get_module_config(earlier->module_config, &sess_module);
            if (ec->apps == sc->apps)
                break;
        }
        if (earlier != s) {
            /* Built (or failed) already: the same site, or none. */
            const server_conf *ec = ap_get_module_config(earlier->module_config, &sess_module);
            if (ec != sc) {
                sc->site = ec->site;
                sc->handles = ec->handles;
                sc->published = ec->published;
                apr_pool_cleanup_register(pchild, sc, forget_site, apr_pool_cleanup_null);
            }
            continue;
        }
        sc->handles = apr_pcalloc(pchild, sizeof(sess_app *) * (size_t)sc->apps->nelts);
        sc->published = apr_pcalloc(pchild, sizeof *sc->published * (size_t)sc->apps->nelts);
        if ((hr = sess_site_create(&sc->site)) < 0) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, "mod_sess: sess_site_create: %s",
                         last_error(pchild, hr));
            continue;
        }
        apr_pool_cleanup_register(pchild, sc, release_site, apr_pool_cleanup_null);
        *(server_conf **)apr_array_push(own_sites) = sc;
        for (i = 0; i < sc->apps->nelts; i++) {
            const dir_conf *d = APR_ARRAY_IDX(sc->apps, i, dir_conf *);
            hr = create_app(pchild, d, APP_SERVE, &sc->handles[i]);
            if (hr >= 0)
                hr = add_app(sc->site, d, sc->handles[i]);
            if (hr < 0) {
                ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                             "mod_sess: application %s: %s; no session state in this server",
                             d->path, last_error(pchild, hr));
                release_site(sc);
                break;
            }
        }
    }
    start_publisher(pchild, main_server);
}

/* ------------------------------------------------------------------------ */
/* The unit of work                                                         */

static req_state *state_of(const request_rec *r)
{
    return ap_get_module_config(r->request_config, &sess_module);
}

/* The request's state; for an internal redirect that ended before its
 * fixups (denied, say), the state of the request it came from. */
static req_state *state_in_chain(const request_rec *r)
{
    req_state *st = NULL;
    for (; r && !(st = state_of(r)); r = r->prev)
        ;
    return st;
}

/* The unit of work's state (a subrequest's: its main request's). */
static req_state *unit_state(const request_rec *r)
{
    while (r->main)
        r = r->main;
    return state_in_chain(r);
}

/* mod_sess.h's: NULL for no request (a caller's mistake: it must not
 * crash the child that serves the others). */
static sess_request *sess_ap_request(request_rec *r)
{
    req_state *st = r ? unit_state(r) : NULL;
    return st ? st->req : NULL;
}

/* Whether a handler of the request, or of one it was redirected from (an
 * ErrorDocument's internal redirect has notes of its own), set the note. */
static bool failed_note(const request_rec *r)
{
    for (; r; r = r->prev)
        if (apr_table_get(r->notes, SESS_AP_NOTE_FAILED))
            return true;
    return false;
}

/* Ends the unit of work: commit, or undo if the page failed. The Set-Cookie
 * joins err_headers_out (sent with any status), also with a failure: that
 * of a session the page gave a new ID, which lives on there. */
static sess_result end_request(request_rec *r, req_state *st, bool *cookie_added)
{
    sess_variant cookie;
    sess_result hr;
    bool failed = r->status >= 500 || failed_note(r);
    sess_variant_init(&cookie);
    hr = sess_request_end(st->req, failed, &cookie);
    st->req = NULL;
    if (hr < 0)
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "mod_sess: ending the request: %s",
                      last_error(r->pool, hr));
    *cookie_added = cookie.vt == SESS_VT_BSTR && cookie.v.bstrVal.ptr;
    if (*cookie_added)
        apr_table_add(r->err_headers_out, "Set-Cookie", cookie.v.bstrVal.ptr);
    sess_variant_clear(&cookie);
    return hr;
}

/* A response that never passed the filter: undo and unlock. */
static apr_status_t request_cleanup(void *rv)
{
    request_rec *r = rv;
    req_state *st = state_of(r);
    bool cookie_added;
    if (st && st->req) {
        apr_table_setn(r->notes, SESS_AP_NOTE_FAILED, "1");
        end_request(r, st, &cookie_added);
    }
    return APR_SUCCESS;
}

/* Whether the application at `app_path` (as the library names it) carries
 * its IDs in URLs. */
static bool cookieless_app(const server_conf *sc, const char *app_path)
{
    int i;
    for (i = 0; i < sc->apps->nelts; i++) {
        const dir_conf *d = APR_ARRAY_IDX(sc->apps, i, dir_conf *);
        if (same_path(d->path, app_path))
            return d->cookieless == 1;
    }
    return false;
}

/* An internal redirect's request (an ErrorDocument's, a per-directory
 * RewriteRule's) starts with no notes: it takes mod_sess's from the
 * request it came from (the path as it came, where its ID segment was,
 * the application), unless its own path sets them again below. */
static void carry_notes(request_rec *r)
{
    static const char *const names[] = {SESS_AP_NOTE_URI, NOTE_ID_SEGMENT, SESS_AP_NOTE_APP};
    size_t i;
    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *v = apr_table_get(r->prev->notes, names[i]);
        if (v && !apr_table_get(r->notes, names[i]))
            apr_table_set(r->notes, names[i], v);
    }
}

/* Whether `sent` (a URL path as a client sends it) decodes to `path`, with
 * "%2F" decoded or kept (AllowEncodedSlashes On or NoDecode). */
static bool decodes_to(request_rec *r, const char *sent, const char *path)
{
    int decode_slashes;
    for (decode_slashes = 0; decode_slashes < 2; decode_slashes++) {
        char *copy = apr_pstrdup(r->pool, sent);
        if (ap_unescape_url_keep2f(copy, decode_slashes) == OK && strcmp(copy, path) == 0)
            return true;
    }
    return false;
}

/* Whether `path` holds only what a URL path may hold as it is: RFC 3986's
 * pchar ('%' its escapes) and '/'. */
static bool is_url_path(const char *path)
{
    for (; *path; path++)
        if (!apr_isalnum(*path) && !strchr("-._~!$&'()*+,;=:@/%", *path))
            return false;
    return true;
}

/* The URL path of a redirect to `path`, which is r->uri with one run of
 * bytes (a cookieless segment) taken out: the path as the client sent it
 * (r->parsed_uri.path is decoded in place) with the same bytes taken out,
 * so that its %-encoding is kept (a "%2F" that AllowEncodedSlashes NoDecode
 * leaves in r->uri stays "%2F", an "a%3Fb" does not become "a?b"); if no
 * such cut decodes to `path` again, `path` escaped anew. */
static const char *as_sent_without_segment(request_rec *r, const char *path)
{
    apr_uri_t uri;
    const char *sent, *at;
    size_t p = 0, cut = strlen(r->uri) - strlen(path);
    while (path[p] && path[p] == r->uri[p])
        p++;
    sent = r->unparsed_uri && apr_uri_parse(r->pool, r->unparsed_uri, &uri) == APR_SUCCESS
               ? uri.path
               : NULL;
    if (sent && is_url_path(sent) && cut > 0 && strcmp(r->uri + p + cut, path + p) == 0) {
        const char *seg = apr_pstrndup(r->pool, r->uri + p, cut);
        for (at = strstr(sent, seg); at; at = strstr(at + 1, seg)) {
            const char *to = apr_pstrcat(r->pool, apr_pstrndup(r->pool, sent, (size_t)(at - sent)),
                                         at + cut, NULL);
            if (decodes_to(r, to, path))
                return to;
        }
    }
    return ap_escape_uri(r->pool, path);
}

/* What `fn` (sess_request_path, sess_request_app_path) writes for `req`,
 * at any length, in `p` (request_text_fn: demo_pages.h); NULL on failure. */
static char *pool_text(apr_pool_t *p, const sess_request *req, request_text_fn fn)
{
    size_t need = 0;
    char *buf;
    if (fn(req, NULL, 0, &need) != SESS_E_INSUFFICIENT_BUFFER)
        return NULL;
    buf = apr_palloc(p, need + 1);
    return fn(req, buf, need + 1, NULL) >= 0 ? buf : NULL;
}

/* translate_name, first of all (Apache has decoded and normalised r->uri):
 * takes a cookieless application's "(S(<id>))" segment out of r->uri, so
 * that the <Location> walk (Require, SessionState), the other translate_name
 * hooks (Alias, RewriteRule) and every handler see the path
 * sess_request_path gives (/app/admin for /app/(S(<id>))/admin), not a path
 * no <Location> of the application matches. The library says what goes:
 * a request begun without session state (no store call) and its path. The
 * path as it came goes in the note SESS_AP_NOTE_URI, and where the segment
 * was in NOTE_ID_SEGMENT, for the unit of work (unit_path). */
static int strip_cookieless_id(request_rec *r)
{
    const server_conf *sc = ap_get_module_config(r->server->module_config, &sess_module);
    sess_request_info info;
    sess_request *req;
    size_t at, seg;
    const char *app;
    char *path;

    if (r->prev)
        carry_notes(r);
    if (!sc->site || r->proxyreq || !r->uri || r->uri[0] != '/' || !strstr(r->uri, "(S("))
        return DECLINED;
    sess_request_info_init(&info);
    info.session_use = SESS_USE_OFF;
    info.path = r->uri;
    if (sess_request_begin(sc->site, &info, &req) < 0)
        return DECLINED; /* in no application */
    path = pool_text(r->pool, req, sess_request_path);
    app = path ? pool_text(r->pool, req, sess_request_app_path) : NULL;
    sess_request_end(req, false, NULL);
    if (!app || strcmp(path, r->uri) == 0)
        return DECLINED;
    apr_table_set(r->notes, SESS_AP_NOTE_URI, r->uri);
    apr_table_unset(r->notes, NOTE_ID_SEGMENT); /* one carried from r->prev is not this path's */
    /* The segment right after the application's path and its '/'. */
    at = strcmp(app, "/") == 0 ? 1 : strlen(app) + 1;
    if (at <= strlen(r->uri)) {
        seg = strcspn(r->uri + at, "/");
        if (strncmp(r->uri, path, at) == 0
            && strcmp(r->uri + at + seg + (r->uri[at + seg] == '/'), path + at) == 0)
            apr_table_set(r->notes, NOTE_ID_SEGMENT,
                          apr_psprintf(r->pool, "%" APR_SIZE_T_FMT ":%.*s", at, (int)seg,
                                       r->uri + at));
    }
    if (!apr_table_get(r->notes, NOTE_ID_SEGMENT) && !r->main && !cookieless_app(sc, app)) {
        /* The segment was an enclosing cookieless application's, and the
         * page is a nested cookie application's (a relative link from the
         * outer one's page): its cookie's Path, unless it is /, does not
         * cover this URL, so the client goes to the URL without the
         * segment (method and body kept for all but GET and HEAD). A
         * nested cookieless application finds its own segment in the path
         * as it came (unit_path). */
        const char *to = as_sent_without_segment(r, path);
        if (r->args)
            to = apr_pstrcat(r->pool, to, "?", r->args, NULL);
        apr_table_setn(r->headers_out, "Location", ap_construct_url(r->pool, to, r));
        return r->method_number == M_GET ? HTTP_MOVED_TEMPORARILY : HTTP_TEMPORARY_REDIRECT;
    }
    apr_table_set(r->notes, NOTE_STRIPPED, path);
    r->uri = path;
    return DECLINED;
}

/* Where strip_cookieless_id took this request's ID segment out: the
 * segment, and in `*at` the offset just past the application's path and
 * its '/'; NULL if it took none. */
static const char *id_segment(request_rec *r, size_t *at)
{
    const char *note = apr_table_get(r->notes, NOTE_ID_SEGMENT);
    char *seg;
    if (!note)
        return NULL;
    *at = strtoul(note, &seg, 10);
    return *seg == ':' ? seg + 1 : NULL;
}

/* `path` with the segment strip_cookieless_id took out of this request's
 * path put back where it was, if `path` begins as the request's path did
 * up to there (the application's path and its '/'); otherwise NULL. */
static const char *with_id_segment(request_rec *r, const char *path)
{
    const char *in = apr_table_get(r->notes, SESS_AP_NOTE_URI), *seg;
    size_t at;
    if (!in || !(seg = id_segment(r, &at)) || at > strlen(path) || strncmp(path, in, at) != 0)
        return NULL;
    return apr_pstrcat(r->pool, apr_pstrndup(r->pool, path, at), seg, path[at] ? "/" : "",
                       path + at, NULL);
}

/* The path the unit of work begins with: r->uri, with the segment
 * strip_cookieless_id took out put back where it was, so that the library
 * finds the ID there (and takes the same segment out again:
 * sess_request_path is r->uri). Also after a module rewrote r->uri
 * (mod_rewrite's [PT]), while it still begins with the application's
 * path; otherwise r->uri as it is (no ID). `*with_id`: whether it is one
 * of the first two (the URL's segment in it). */
static const char *unit_path(request_rec *r, bool *with_id)
{
    const char *in = apr_table_get(r->notes, SESS_AP_NOTE_URI);
    const char *stripped = apr_table_get(r->notes, NOTE_STRIPPED), *path;
    *with_id = true;
    if (in && stripped && strcmp(r->uri, stripped) == 0)
        return in; /* as it came: the library takes out every segment again */
    path = with_id_segment(r, r->uri);
    *with_id = path != NULL;
    return path ? path : r->uri;
}

/* The virtual path of the application that serves `path` (a request's
 * path: no query string) on this server (as the library resolves paths:
 * the deepest), or NULL. */
static const char *app_path_of(request_rec *r, const char *path)
{
    const server_conf *sc = ap_get_module_config(r->server->module_config, &sess_module);
    sess_request_info info;
    sess_request *req;
    const char *app;
    if (!sc->site)
        return NULL;
    sess_request_info_init(&info);
    info.session_use = SESS_USE_OFF;
    info.path = path;
    if (sess_request_begin(sc->site, &info, &req) < 0)
        return NULL;
    app = pool_text(r->pool, req, sess_request_app_path);
    sess_request_end(req, false, NULL);
    return app;
}

/* `url` as sess_request_rewrite_url writes it for `req`, or NULL. */
static const char *rewritten_url(request_rec *r, const sess_request *req, const char *url)
{
    size_t need = strlen(url) + 64; /* room for "(S(<id>))/" */
    char *buf = apr_palloc(r->pool, need);
    sess_result hr = sess_request_rewrite_url(req, url, buf, need, &need);
    if (hr == SESS_E_INSUFFICIENT_BUFFER) {
        buf = apr_palloc(r->pool, need + 1);
        hr = sess_request_rewrite_url(req, url, buf, need + 1, NULL);
    }
    return hr >= 0 ? buf : NULL;
}

/* Whether the unit of work `req`, which has no session, looked for one
 * under the ID in the request's URL and found none: it began with session
 * state and a path holding that ID (unit_path), in the application the URL
 * came in under. (A handler's sess_request_acquire on a unit begun with
 * SessionState Off is not seen: the ID is kept then.) */
static bool url_id_is_stale(request_rec *r, const sess_request *req)
{
    const req_state *st = unit_state(r);
    const char *in = apr_table_get(r->notes, SESS_AP_NOTE_URI), *url_app, *app;
    return st && st->looked_up && in && (url_app = app_path_of(r, in)) != NULL
           && (app = pool_text(r->pool, req, sess_request_app_path)) != NULL
           && strcmp(app, url_app) == 0;
}

/* A redirect's Location in `headers`, carrying the session ID as a link
 * in a cookieless application does, when it points into the application
 * whose ID it is, on this server (not into one nested under it). With a
 * unit of work that has a session: as sess_request_rewrite_url writes it
 * (the session's ID now: the new one after regenerate_id; none after
 * Abandon); with one that looked for the URL's ID and found no session,
 * none (url_id_is_stale). Otherwise (a redirect made before the unit of
 * work began, under SessionState Off, or after the unit of work moved to
 * another application): the segment the request's URL came with, put
 * back after the application's path unless one is there. A module that
 * made the Location from r->uri (mod_dir's trailing '/', mod_alias's
 * Redirect, mod_rewrite's [R]) saw the path without the segment, and a
 * handler's plain redirect has none: the client would lose its session. */
static void location_keeps_id(request_rec *r, apr_table_t *headers)
{
    const char *loc = apr_table_get(headers, "Location"), *path = loc, *in, *seg, *out, *bare;
    const char *app;
    sess_request *req = sess_ap_request(r);
    sess_session *s = NULL;
    sess_result hr;
    size_t n, at;
    if (!loc)
        return;
    if (loc[0] != '/') {
        const char *origin = ap_construct_url(r->pool, "/", r); /* scheme://host[:port]/ */
        n = strlen(origin) - 1;
        if (strncasecmp(loc, origin, n) != 0 || loc[n] != '/')
            return; /* another server's, or relative: it keeps the client's segment */
        path = loc + n;
    } else if (loc[1] == '/') {
        return; /* //host/... */
    }
    /* A request path has no query: the library reads a '?' as the path's. */
    bare = apr_pstrndup(r->pool, path, strcspn(path, "?#"));
    hr = req ? sess_request_session(req, 0, &s) : SESS_E_WRONG_STATE;
    if (hr == SESS_S_FALSE && url_id_is_stale(r, req))
        return;
    if (hr == SESS_S_OK) {
        if (!(app = pool_text(r->pool, req, sess_request_app_path))
            || !(out = app_path_of(r, bare)) || strcmp(app, out) != 0)
            return;
        out = rewritten_url(r, req, path);
    } else {
        /* The segment belongs to the application of the path it came in. */
        in = apr_table_get(r->notes, SESS_AP_NOTE_URI);
        seg = id_segment(r, &at);
        if (!in || !seg || !(out = app_path_of(r, in)) || !(in = app_path_of(r, bare))
            || strcmp(in, out) != 0)
            return;
        n = strcspn(path, "?#"); /* the path without query or fragment */
        if (n + 1 == at) /* the application's path itself: "/app", "/app?x" */
            out = apr_pstrcat(r->pool, apr_pstrndup(r->pool, path, n), "/", seg, "/", path + n,
                              NULL);
        else if (n >= at && path[at - 1] == '/' && strncmp(path + at, "(S(", 3) != 0)
            out = apr_pstrcat(r->pool, apr_pstrndup(r->pool, path, at), seg, "/", path + at, NULL);
        else
            return; /* it has a segment there already */
    }
    if (!out || strcmp(out, path) == 0)
        return;
    apr_table_set(headers, "Location",
                  apr_pstrcat(r->pool, apr_pstrndup(r->pool, loc, (size_t)(path - loc)), out, NULL));
}

/* Puts the cookieless ID back in the Location of a response Apache makes
 * itself (location_keeps_id), once the error response's headers are set,
 * before they leave. */
static apr_status_t location_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    location_keeps_id(f->r, f->r->headers_out);
    location_keeps_id(f->r, f->r->err_headers_out);
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, bb);
}

/* A subrequest's failure onto its main request (whose unit of work it
 * used) as the note SESS_AP_NOTE_FAILED, at the subrequest's EOS (its
 * handler is done; mod_include keeps its pool until the main request's
 * ends): its own note, or its status of 500 or more, which undoes as the
 * main request's would (the part of the page it made failed, after it may
 * have changed the session; the page around it, mod_include's, answers
 * 200). A status the handler only returns (ap_run_sub_req's result)
 * reaches the module that ran the subrequest, not this filter. */
static apr_status_t subreq_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *main = f->r->main;
    apr_bucket *e;
    if (!main) {
        /* A main request now (ap_internal_fast_redirect: mod_dir's index). */
        ap_remove_output_filter(f);
        return ap_pass_brigade(f->next, bb);
    }
    for (e = APR_BRIGADE_FIRST(bb); e != APR_BRIGADE_SENTINEL(bb); e = APR_BUCKET_NEXT(e))
        if (APR_BUCKET_IS_EOS(e)
            && (f->r->status >= 500 || apr_table_get(f->r->notes, SESS_AP_NOTE_FAILED))) {
            while (main->main)
                main = main->main;
            apr_table_setn(main->notes, SESS_AP_NOTE_FAILED, "1");
        }
    return ap_pass_brigade(f->next, bb);
}

/* Drops what the filter held of the response (an error response, or an
 * internal redirect's, replaces it). */
static void drop_held(req_state *st)
{
    if (st->held)
        apr_brigade_cleanup(st->held);
    st->held_len = 0;
}

/* Begins the unit of work before any handler runs. */
static int fixups(request_rec *r)
{
    const dir_conf *d = ap_get_module_config(r->per_dir_config, &sess_module);
    const server_conf *sc = ap_get_module_config(r->server->module_config, &sess_module);
    sess_request_info info;
    req_state *st;
    const char *cookie, *app_path;
    sess_result hr;
    bool with_id;

    if (r->main) {
        /* Subrequests use the main request's; a failure a subrequest's
         * handler notes reaches it at the subrequest's EOS. */
        if (unit_state(r))
            ap_add_output_filter(SUBREQ_FILTER_NAME, NULL, r, r->connection);
        return DECLINED;
    }
    if (r->prev && (st = state_in_chain(r->prev)) != NULL) {
        /* An internal redirect carries the unit of work on; its response
         * (an ErrorDocument's, say) replaces what the filter held. */
        ap_set_module_config(r->request_config, &sess_module, st);
        if (st->req) {
            drop_held(st);
            ap_add_output_filter(FILTER_NAME, st, r, r->connection);
        }
        return DECLINED;
    }
    if (d->state == UNSET || !sc->site)
        return sc->apps->nelts && !sc->site && d->state != UNSET ? HTTP_INTERNAL_SERVER_ERROR
                                                                  : DECLINED;
    cookie = apr_table_get(r->headers_in, "Cookie"); /* several: joined with ", " */
    sess_request_info_init(&info);
    info.session_use = (uint32_t)d->state;
    info.path = unit_path(r, &with_id);
    info.cookie_header = cookie;
    info.cookie_header_len = cookie ? strlen(cookie) : 0;
    info.https = strcmp(ap_run_http_scheme(r), "https") == 0;
    st = apr_pcalloc(r->pool, sizeof *st);
    st->looked_up = d->state != SESS_USE_OFF && with_id;
    hr = sess_request_begin(sc->site, &info, &st->req);
    if (hr == SESS_E_NO_APPLICATION)
        return DECLINED; /* not ours */
    if (hr == SESS_E_INVALIDARG) {
        /* The client's path is none the library takes (not UTF-8: /%FF). */
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "mod_sess: a path the library refuses: %s",
                      last_error(r->pool, hr));
        return HTTP_BAD_REQUEST;
    }
    if (hr < 0) {
        if (hr == SESS_E_LOCK_TIMEOUT)
            count(&counters->lock_timeouts);
        else if (hr == SESS_E_STORE_UNAVAILABLE)
            count(&counters->store_errors);
        else
            count(&counters->failures);
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "mod_sess: beginning the request: %s",
                      last_error(r->pool, hr));
        /* Kept without a unit of work: an ErrorDocument's internal redirect
         * carries this on (no session) instead of beginning again (and
         * waiting for the lock a second time). */
        st->req = NULL;
        ap_set_module_config(r->request_config, &sess_module, st);
        return hr == SESS_E_LOCK_TIMEOUT || hr == SESS_E_STORE_UNAVAILABLE
                   ? HTTP_SERVICE_UNAVAILABLE
                   : HTTP_INTERNAL_SERVER_ERROR;
    }
    count(&counters->requests);
    ap_set_module_config(r->request_config, &sess_module, st);
    apr_pool_cleanup_register(r->pool, r, request_cleanup, apr_pool_cleanup_null);
    if ((app_path = pool_text(r->pool, st->req, sess_request_app_path)) != NULL)
        apr_table_setn(r->notes, SESS_AP_NOTE_APP, app_path);
    ap_add_output_filter(FILTER_NAME, st, r, r->connection);
    return DECLINED;
}

/* Adds the Set-Cookie the response needs now (sess_request_set_cookie:
 * before the unit of work ends) to the headers that are about to leave. */
static void set_cookie_early(request_rec *r, req_state *st)
{
    char small[512], *buf = small;
    size_t need = 0;
    sess_result hr = sess_request_set_cookie(st->req, small, sizeof small, &need);
    if (hr == SESS_E_INSUFFICIENT_BUFFER) {
        buf = apr_palloc(r->pool, need + 1);
        hr = sess_request_set_cookie(st->req, buf, need + 1, NULL);
    }
    if (hr == SESS_S_OK)
        apr_table_add(r->err_headers_out, "Set-Cookie", buf);
    else if (hr < 0)
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "mod_sess: the early Set-Cookie: %s",
                      last_error(r->pool, hr));
}

/* Holds the response until its EOS, then ends the unit of work and lets the
 * response go with its Set-Cookie. Each brigade's buckets are set aside
 * once, onto the end of what is held (a response written in many tiny
 * brigades costs their number, not its square). A handler that streams (a
 * FLUSH bucket) or a response past HOLD_MAX in memory lets the headers go
 * at that point with the Set-Cookie known then (sess_request_set_cookie);
 * the unit of work still ends at EOS, and a cookie only known then
 * (Abandon's deleting one, after the headers left) cannot reach the
 * client: the error log says so (the ID is dead in the store anyway: it
 * is never adopted again). */
static apr_status_t commit_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    req_state *st = f->ctx;
    apr_bucket *e;
    apr_off_t len = 0;
    bool eos = false, flush = false, cookie_added;
    sess_result hr;

    if (!st->req) {
        ap_remove_output_filter(f);
        return ap_pass_brigade(f->next, bb);
    }
    for (e = APR_BRIGADE_FIRST(bb); e != APR_BRIGADE_SENTINEL(bb); e = APR_BUCKET_NEXT(e)) {
        eos |= APR_BUCKET_IS_EOS(e);
        flush |= APR_BUCKET_IS_FLUSH(e);
        /* A module failing mid-response (mod_proxy's broken backend): the
         * protocol filter answers with its status, which undoes as a
         * handler's would (r->status is set only then, after the end). */
        if (AP_BUCKET_IS_ERROR(e) && ((ap_bucket_error *)e->data)->status >= 500)
            apr_table_setn(r->notes, SESS_AP_NOTE_FAILED, "1");
    }
    if (!eos && !st->streaming && !flush && apr_brigade_length(bb, 0, &len) == APR_SUCCESS
        && len >= 0 && len <= HOLD_MAX - st->held_len) {
        st->held_len += len;
        return ap_save_brigade(f, &st->held, &bb, r->pool);
    }
    if (st->held) {
        APR_BRIGADE_PREPEND(bb, st->held);
        st->held_len = 0;
    }
    if (!eos) {
        if (!st->streaming) {
            st->streaming = true;
            set_cookie_early(r, st);
        }
        return ap_pass_brigade(f->next, bb);
    }
    ap_remove_output_filter(f);
    if (st->streaming) {
        /* The headers are gone: a cookie end reports now cannot be sent. */
        end_request(r, st, &cookie_added);
        if (cookie_added)
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                          "mod_sess: a Set-Cookie after the streamed headers was not sent");
        return ap_pass_brigade(f->next, bb);
    }
    hr = end_request(r, st, &cookie_added);
    if (hr < 0 && r->status < 400) {
        /* Not committed: the client must not believe it was. */
        apr_brigade_cleanup(bb);
        e = ap_bucket_error_create(hr == SESS_E_LOCK_TIMEOUT || hr == SESS_E_STORE_UNAVAILABLE
                                       ? HTTP_SERVICE_UNAVAILABLE
                                       : HTTP_INTERNAL_SERVER_ERROR,
                                   NULL, r->pool, f->c->bucket_alloc);
        APR_BRIGADE_INSERT_TAIL(bb, e);
        APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(f->c->bucket_alloc));
    }
    return ap_pass_brigade(f->next, bb);
}

/* Apache's own error response (ap_die: a handler that returned a status
 * such as a redirect's 302, a 404 or a 204; an error bucket) starts the
 * response over with the protocol filters only, which would drop
 * SESS_COMMIT: it comes back, so that the unit of work ends at the error
 * response's EOS (committed below 500, its Set-Cookie sent) rather than at
 * the pool's cleanup. What it held of the response before is dropped: the
 * error response replaces it. */
static void insert_error_filter(request_rec *r)
{
    req_state *st = state_in_chain(r);
    if (!r->main && (apr_table_get(r->notes, NOTE_ID_SEGMENT) || (st && st->req)))
        ap_add_output_filter(LOCATION_FILTER_NAME, NULL, r, r->connection);
    if (r->main || !st || !st->req)
        return;
    drop_held(st);
    ap_add_output_filter(FILTER_NAME, st, r, r->connection);
}

/* ------------------------------------------------------------------------ */
/* The demo's pages                                                         */

static const char *request_param(const void *ctx, const char *name)
{
    return apr_table_get((const apr_table_t *)ctx, name);
}

static int readers_now(void)
{
    return counters ? (int)__atomic_load_n(&counters->readers_now, __ATOMIC_RELAXED) : 0;
}

/* Every application path of the request's server, for the pages' links. */
static const char *const *app_paths(request_rec *r, size_t *n)
{
    const server_conf *sc = ap_get_module_config(r->server->module_config, &sess_module);
    const char **paths = apr_palloc(r->pool, sizeof(char *) * (size_t)sc->apps->nelts);
    int i;
    for (i = 0; i < sc->apps->nelts; i++)
        paths[i] = APR_ARRAY_IDX(sc->apps, i, dir_conf *)->path;
    *n = (size_t)sc->apps->nelts;
    return paths;
}

/* The request's sess_app (for /stats), by the application's path (as the
 * library spells it: "/shop" for <Location /shop/>). */
static sess_app *app_of(request_rec *r, const char *app_path)
{
    const server_conf *sc = ap_get_module_config(r->server->module_config, &sess_module);
    int i;
    for (i = 0; i < sc->apps->nelts; i++)
        if (same_path(APR_ARRAY_IDX(sc->apps, i, dir_conf *)->path, app_path))
            return sc->handles[i];
    return NULL;
}

/* An error page in UTF-8, as the demo's. */
static int error_page(request_rec *r, int status, const char *detail)
{
    r->status = status;
    ap_set_content_type(r, "text/html; charset=UTF-8");
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->notes, SESS_AP_NOTE_FAILED, "1");
    ap_rprintf(r,
               "<!DOCTYPE html>\n<html><head><meta charset=\"UTF-8\"><title>%d</title></head>\n"
               "<body>\n<h1>%d</h1>\n<p>%s</p>\n</body></html>\n",
               status, status, ap_escape_html(r->pool, detail ? detail : ""));
    return OK;
}

/* 405 for a page served to GET and HEAD only, whose Allow says so (RFC
 * 9110 15.5.6: the methods the resource supports; Apache's own list is
 * built from r->allowed_methods, which no handler filled: "TRACE"). */
static int not_allowed(request_rec *r)
{
    ap_allow_standard_methods(r, REPLACE_ALLOW, M_GET, -1);
    return HTTP_METHOD_NOT_ALLOWED;
}

static int demo_handler(request_rec *r)
{
    sess_request *req;
    const struct route *route;
    char *app_path = NULL, charset[64] = "UTF-8";
    sess_result rc;
    apr_table_t *args = NULL;
    sbuf body = {NULL, 0, 0, false};
    uint32_t cp = CP_UTF8;
    page pg;
    bool reader;
    int failed;

    if (strcmp(r->handler, "sess-demo") != 0)
        return DECLINED;
    if (r->method_number != M_GET)
        return not_allowed(r);
    if (!(req = sess_ap_request(r)))
        return error_page(r, HTTP_INTERNAL_SERVER_ERROR,
                          "No session state here: SessionState is unset or no "
                          "SessionApplication serves this path.");
    memset(&pg, 0, sizeof pg);
    route = demo_route_find(req, &pg.prefix, &app_path, &rc);
    if (!app_path)
        return error_page(r, HTTP_INTERNAL_SERVER_ERROR, last_error(r->pool, rc));
    pg.app = app_of(r, app_path);
    free(app_path);
    if (!route || !pg.app) {
        free(pg.prefix);
        return error_page(r, HTTP_NOT_FOUND, "No such page in this application.");
    }
    ap_args_to_table(r, &args);
    pg.req = req;
    pg.param = request_param;
    pg.param_ctx = args;
    pg.readers_now = readers_now;
    pg.app_paths = app_paths(r, &pg.app_count);
    pg.status = 200;
    reader = route->use == SESS_USE_READONLY;
    if (reader && counters)
        pg.readers_seen = (int)__atomic_add_fetch(&counters->readers_now, 1, __ATOMIC_RELAXED);
    failed = route->fn(&pg) < 0;
    if (reader && counters)
        __atomic_sub_fetch(&counters->readers_now, 1, __ATOMIC_RELAXED);
    if (!failed && pg.s && sess_codepage(pg.s, NULL, &cp) < 0)
        cp = CP_UTF8;
    if (!failed && (rc = demo_document(&pg, route, cp, &body, charset, sizeof charset)) < 0)
        failed = page_fail(&pg, rc);
    if (failed) {
        if (pg.status >= 500)
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "mod_sess: %s", sb_str(&pg.error));
        error_page(r, pg.status, sb_str(&pg.error));
    } else {
        r->status = pg.status;
        if (pg.location)
            apr_table_set(r->headers_out, "Location", pg.location);
        ap_set_content_type(r, apr_pstrcat(r->pool, "text/html; charset=", charset, NULL));
        apr_table_setn(r->headers_out, "Cache-Control", "no-store");
        ap_set_content_length(r, (apr_off_t)body.len);
        if (!r->header_only)
            ap_rwrite(body.p, (int)body.len, r);
    }
    sb_free(&body);
    sb_free(&pg.out);
    sb_free(&pg.error);
    free(pg.location);
    free(pg.prefix);
    return OK;
}

/* ------------------------------------------------------------------------ */
/* Counters                                                                 */

/* `s` as a Prometheus label value: backslash, quote and newline escaped. */
static const char *label_value(apr_pool_t *p, const char *s)
{
    char *out = apr_palloc(p, 2 * strlen(s) + 1), *o = out;
    for (; *s; s++) {
        if (*s == '\\' || *s == '"' || *s == '\n')
            *o++ = '\\';
        *o++ = *s == '\n' ? 'n' : *s;
    }
    *o = '\0';
    return out;
}

/* sess-metrics: the server's (virtual host's) applications' counters in the
 * Prometheus text format, the demo's series (examples-c/DEMO.md), then
 * what the module counted. The counters are all children's: each child
 * adds what its applications counted to their slots in the shared mapping
 * (publish_counts: every second, when it answers /metrics and when it
 * ends), so they never go down whichever child answers, and a graceful
 * restart's children count on (an application keeps its slot while its
 * virtual host and path stay). sess_sessions is a gauge no child can sum:
 * with the in-process store each child has sessions of its own, and it is
 * the answering child's (its HELP says so); on LMDB or Redis, the store's. */
static int metrics_handler(request_rec *r)
{
    const server_conf *sc = ap_get_module_config(r->server->module_config, &sess_module);
    int napps = sc->site ? sc->apps->nelts : 0, a;
    size_t k;
    sbuf text = {0};
    sess_app_counters *stats = apr_pcalloc(r->pool, sizeof *stats * (size_t)(napps + 1));
    const char **labels = apr_pcalloc(r->pool, sizeof *labels * (size_t)(napps + 1));

    if (strcmp(r->handler, "sess-metrics") != 0)
        return DECLINED;
    if (r->method_number != M_GET)
        return not_allowed(r);
    publish_counts(true); /* this child's, up to now */
    for (a = 0; a < napps; a++) {
        const dir_conf *d = APR_ARRAY_IDX(sc->apps, a, dir_conf *);
        sess_result hr;
        sess_app_stats_init(&stats[a]);
        if ((hr = sess_app_stats(sc->handles[a], &stats[a])) < 0)
            return error_page(r, HTTP_INTERNAL_SERVER_ERROR, last_error(r->pool, hr));
        labels[a] = label_value(r->pool, d->path);
        /* All children's, from the application's slot (without one, all
         * taken, as logged at startup: this child's). */
        if (counters && d->slot >= 0)
            for (k = 0; k < APP_COUNTERS; k++) {
                uint64_t v = __atomic_load_n(&counters->apps[d->slot].v[k], __ATOMIC_RELAXED);
                memcpy((char *)&stats[a] + app_counter_at[k], &v, sizeof v);
            }
    }
    ap_set_content_type(r, "text/plain; version=0.0.4; charset=utf-8");
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    if (r->header_only)
        return OK;
    metrics_text(&text, stats, labels, (size_t)napps,
                 "Sessions stored now: with the in-process store, the answering child's "
                 "(each child has sessions of its own); with LMDB or Redis, the store's.",
                 " (all children)");
    if (text.oom) {
        sb_free(&text);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    ap_rwrite(sb_str(&text), (int)text.len, r);
    sb_free(&text);
    if (counters)
        ap_rprintf(r,
                   "# HELP sess_apache_requests_total Requests that began a unit of work "
                   "(all children).\n"
                   "# TYPE sess_apache_requests_total counter\nsess_apache_requests_total %ld\n"
                   "# HELP sess_apache_unavailable_total Requests answered 503 at their start: "
                   "lock timeout or store down (all children).\n"
                   "# TYPE sess_apache_unavailable_total counter\n"
                   "sess_apache_unavailable_total{cause=\"lock_timeout\"} %ld\n"
                   "sess_apache_unavailable_total{cause=\"store\"} %ld\n"
                   "# HELP sess_apache_failures_total Requests answered 500 at their start: other "
                   "library failures (all children).\n"
                   "# TYPE sess_apache_failures_total counter\nsess_apache_failures_total %ld\n",
                   __atomic_load_n(&counters->requests, __ATOMIC_RELAXED),
                   __atomic_load_n(&counters->lock_timeouts, __ATOMIC_RELAXED),
                   __atomic_load_n(&counters->store_errors, __ATOMIC_RELAXED),
                   __atomic_load_n(&counters->failures, __ATOMIC_RELAXED));
    return OK;
}

/* ------------------------------------------------------------------------ */

static void register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_check_config(check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(child_init, NULL, NULL, APR_HOOK_MIDDLE);
    /* Before mod_rewrite's, mod_alias's, mod_proxy's and core's. */
    ap_hook_translate_name(strip_cookieless_id, NULL, NULL, APR_HOOK_REALLY_FIRST);
    ap_hook_fixups(fixups, NULL, NULL, APR_HOOK_LAST);
    ap_hook_insert_error_filter(insert_error_filter, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(demo_handler, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(metrics_handler, NULL, NULL, APR_HOOK_MIDDLE);
    /* After content filters (mod_deflate's CONTENT_SET + 1), before the
     * protocol filters that send the headers. */
    ap_register_output_filter(FILTER_NAME, commit_filter, NULL, AP_FTYPE_PROTOCOL - 1);
    ap_register_output_filter(LOCATION_FILTER_NAME, location_filter, NULL, AP_FTYPE_CONTENT_SET);
    /* Before SUBREQ_CORE (AP_FTYPE_CONTENT_SET), which drops the EOS. */
    ap_register_output_filter(SUBREQ_FILTER_NAME, subreq_filter, NULL, AP_FTYPE_RESOURCE);
    APR_REGISTER_OPTIONAL_FN(sess_ap_request);
}

module AP_MODULE_DECLARE_DATA sess_module = {
    STANDARD20_MODULE_STUFF,
    create_dir_conf,
    merge_dir_conf,
    create_server_conf,
    merge_server_conf,
    sess_cmds,
    register_hooks,
    AP_MODULE_FLAG_NONE,
};
