/*
 * server_demo.c: the demo web app (see DEMO.md), a small HTTP/1.1 server on
 * POSIX sockets serving seed 004's ASP pages through libsess's request API.
 *
 *   PORT=8080 ./build/server_demo      (make -C examples-c run-demo)
 *
 * Three applications share one sess_site: "/" (cookie ASPSESSIONID), the
 * nested "/search" (cookie ASPSESSIONID_search, Path=/ too) and
 * "/cookieless" (the ID travels in the URL as /cookieless/(S(<id>))/...).
 * Every route exists in each of them: the route is the request path minus
 * the application's path, both as the library reports them.
 *
 * One request is one unit of work:
 *
 *   sess_request_begin   application by path, session by cookie or URL,
 *                        the session's lock (shared for read-only pages)
 *   sess_request_session the page's session (created lazily when it writes)
 *   ...the page...       values, properties, Abandon, links through
 *                        sess_request_rewrite_url
 *   sess_request_end     commit (or undo, if the page failed), Abandon and
 *                        Session_OnEnd, unlock; the Set-Cookie to send
 *
 * The server: a thread per connection (detached, at most MAX_CONNECTIONS,
 * at most MAX_PER_CLIENT from one address: 429), keep-alive, GET and HEAD
 * only, a header section of at most 8 KiB (431; 414 when the request line
 * alone is longer) arriving within
 * HEAD_TIMEOUT_MS of its first byte (408: a client dribbling a line every
 * few seconds cannot hold its connection open indefinitely),
 * malformed requests 400; after an error response the connection closes and
 * the server carries on. SIGINT/SIGTERM stop accepting, end the open
 * connections and release the site and the applications.
 *
 * Session IDs are credentials: this demo shows them in pages because that is
 * what it demonstrates; a real application never would.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "demo_pages.h"
#include "sess.h"

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* SIGPIPE is ignored anyway */
#endif

#define MAX_HEAD 8192            /* request line + headers, bytes (else 431 or 414) */
#define MAX_BODY (1024 * 1024)   /* a GET body we are willing to skip (else 413) */
#define MAX_PARAMS 32            /* query parameters kept */
#ifndef MAX_CONNECTIONS
#define MAX_CONNECTIONS 128      /* connections served at once (else 503) */
#endif
#ifndef MAX_PER_CLIENT
#define MAX_PER_CLIENT 16        /* connections from one address (else 429) */
#endif
#define IDLE_TIMEOUT_S 15        /* a keep-alive connection's idle limit */
#define HEAD_TIMEOUT_MS 10000    /* a header section's whole arrival (else 408) */
#define LOCK_TIMEOUT_MS 5000     /* the applications' lock_timeout_ms */
#define SHUTDOWN_WAIT_S 8        /* how long SIGTERM waits for connections */

/* ------------------------------------------------------------------------ */
/* The server's state                                                       */

typedef struct application {
    const char *path; /* as added: "/", "/search", "/cookieless" */
    bool cookieless;
    sess_app *app;
} application;

static struct {
    sess_site *site;
    application apps[3];
    int listen_fd;

    pthread_mutex_t lock; /* guards everything below */
    pthread_cond_t idle;  /* signalled when `active` drops */
    int active;           /* connection threads running */
    int fds[MAX_CONNECTIONS];
    struct in_addr peers[MAX_CONNECTIONS]; /* each slot's client address */
    int readers_now;      /* read-only requests in progress */
} srv = {NULL, {{"/", false, NULL}, {"/search", false, NULL}, {"/cookieless", true, NULL}},
         -1, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, {0}, {{0}}, 0};

static volatile sig_atomic_t stopping;

static void on_stop_signal(int sig)
{
    (void)sig;
    stopping = 1;
}

/* A read-only request starts: the number in progress now. */
static int readers_enter(void)
{
    int n;
    pthread_mutex_lock(&srv.lock);
    n = ++srv.readers_now;
    pthread_mutex_unlock(&srv.lock);
    return n;
}

static int readers_current(void)
{
    int n;
    pthread_mutex_lock(&srv.lock);
    n = srv.readers_now;
    pthread_mutex_unlock(&srv.lock);
    return n;
}

static void readers_leave(void)
{
    pthread_mutex_lock(&srv.lock);
    srv.readers_now--;
    pthread_mutex_unlock(&srv.lock);
}

/* ------------------------------------------------------------------------ */
/* HTTP requests                                                            */

typedef struct http_req {
    bool head;              /* HEAD: no body in the response, an error's neither */
    bool keep_alive;
    bool http10;            /* HTTP/1.0 (keep-alive only when asked for) */
    bool expect_continue;   /* HTTP/1.1 with Expect: 100-continue */
    char *path;             /* percent-decoded, dot segments removed */
    size_t nparams;         /* the query, decoded */
    char *pname[MAX_PARAMS];
    char *pvalue[MAX_PARAMS];
    sbuf cookie;            /* every Cookie header, joined with "; " */
    bool has_cookie;
    uint64_t content_length;
} http_req;

static void http_req_free(http_req *hr)
{
    size_t i;
    free(hr->path);
    for (i = 0; i < hr->nparams; i++) {
        free(hr->pname[i]);
        free(hr->pvalue[i]);
    }
    sb_free(&hr->cookie);
    memset(hr, 0, sizeof *hr);
}

static const char *param(const http_req *hr, const char *name)
{
    size_t i;
    for (i = 0; i < hr->nparams; i++)
        if (strcmp(hr->pname[i], name) == 0)
            return hr->pvalue[i];
    return NULL;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Whether s[0..n) is well-formed UTF-8 (no overlongs, surrogates or values
 * past U+10FFFF). */
static bool utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len, k;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            len = 2, cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3, cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4, cp = c & 0x07;
        } else {
            return false;
        }
        if (n - i < len)
            return false;
        for (k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF
            || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += len;
    }
    return true;
}

/* Percent-decodes s[0..n) into a new string in *out ('+' is a space when
 * `plus`, as in query strings). 0 on success; 400 for a bad escape, a NUL
 * or invalid UTF-8; 500 when out of memory. */
static int pct_decode(const char *s, size_t n, bool plus, char **out)
{
    char *d = malloc(n + 1);
    size_t i, j = 0;
    if (!d)
        return 500;
    for (i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            int hi, lo;
            if (n - i < 3 || (hi = hex_value(s[i + 1])) < 0 || (lo = hex_value(s[i + 2])) < 0) {
                free(d);
                return 400;
            }
            c = (char)(hi * 16 + lo);
            i += 2;
        } else if (c == '+' && plus) {
            c = ' ';
        }
        if (c == '\0') {
            free(d);
            return 400;
        }
        d[j++] = c;
    }
    d[j] = '\0';
    if (!utf8_valid((const unsigned char *)d, j)) {
        free(d);
        return 400;
    }
    *out = d;
    return 0;
}

/* Removes empty, "." and ".." segments from an absolute path, in place, as
 * a server maps a path to a resource ("/search/../x" is "/x"); a trailing
 * "/" is kept. */
static void normalize_path(char *path)
{
    char *in = path, *out = path;
    bool trailing = false;
    while (*in) {
        char *seg, *end;
        size_t n;
        while (*in == '/')
            in++;
        if (!*in) {
            trailing = true;
            break;
        }
        seg = in;
        end = strchr(seg, '/');
        if (!end)
            end = seg + strlen(seg);
        n = (size_t)(end - seg);
        in = end;
        trailing = false;
        if (n == 1 && seg[0] == '.') {
            trailing = true;
        } else if (n == 2 && seg[0] == '.' && seg[1] == '.') {
            while (out > path && *--out != '/')
                ;
            trailing = true;
        } else {
            *out++ = '/';
            memmove(out, seg, n);
            out += n;
        }
    }
    if (out == path || trailing)
        *out++ = '/';
    *out = '\0';
}

static bool is_tchar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
           || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Whether the comma-separated header value `v` lists `token`. */
static bool has_token(const char *v, const char *token)
{
    size_t n = strlen(token);
    while (*v) {
        const char *end;
        size_t len;
        while (*v == ' ' || *v == '\t' || *v == ',')
            v++;
        end = v;
        while (*end && *end != ',')
            end++;
        len = (size_t)(end - v);
        while (len && (v[len - 1] == ' ' || v[len - 1] == '\t'))
            len--;
        if (len == n && strncasecmp(v, token, n) == 0)
            return true;
        v = end;
    }
    return false;
}

/* Whether c may appear in a host name (RFC 3986 3.2.2: unreserved or
 * sub-delims; '%' starts a percent-encoded byte). */
static bool is_host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
           || (c != '\0' && strchr("-._~!$&'()*+,;=%", c) != NULL);
}

/* Whether s[0..n) is uri-host [ ":" port ] (RFC 9112 3.2, RFC 3986 3.2.2):
 * a name or IPv4 address, or an IP literal in brackets, then digits after
 * a ':'. Empty is valid (a Host header may be). */
static bool valid_host(const char *s, size_t n)
{
    size_t i = 0;
    if (n && s[0] == '[') {
        for (i = 1; i < n && s[i] != ']'; i++)
            if (s[i] != ':' && !is_host_char(s[i]))
                return false;
        if (i == 1 || i == n)
            return false;
        i++;
    } else {
        for (; i < n && s[i] != ':'; i++)
            if (!is_host_char(s[i])
                || (s[i] == '%' && (n - i < 3 || hex_value(s[i + 1]) < 0
                                    || hex_value(s[i + 2]) < 0)))
                return false;
    }
    if (i < n && s[i++] != ':')
        return false;
    for (; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* The request target: path (decoded, normalised) and query parameters.
 * The absolute form ("http://host/path?query"), which a server accepts too
 * (RFC 9112 3.2.2), stands for its path and query; its empty path for "/". */
static int parse_target(const char *target, http_req *hr)
{
    size_t path_len;
    const char *q;
    int rc;

    if (strncasecmp(target, "http://", 7) == 0 || strncasecmp(target, "https://", 8) == 0) {
        const char *authority = strstr(target, "//") + 2;
        size_t n = strcspn(authority, "/?#");
        if (strcspn(authority, ":/?#") == 0 || !valid_host(authority, n))
            return 400; /* no host, or user information (RFC 9110 4.2.1, 4.2.4) */
        target = authority + n;
    } else if (target[0] != '/') {
        return 400;
    }
    path_len = strcspn(target, "?#");
    rc = path_len ? pct_decode(target, path_len, false, &hr->path)
                  : pct_decode("/", 1, false, &hr->path);
    if (rc != 0)
        return rc;
    normalize_path(hr->path);
    if (target[path_len] != '?')
        return 0;
    q = target + path_len + 1;
    while (*q && *q != '#') {
        size_t n = strcspn(q, "&#");
        const char *eq = memchr(q, '=', n);
        size_t name_len = eq ? (size_t)(eq - q) : n;
        char *name = NULL, *value = NULL;
        if (n) {
            if ((rc = pct_decode(q, name_len, true, &name)) != 0)
                return rc;
            rc = eq ? pct_decode(eq + 1, n - name_len - 1, true, &value)
                    : pct_decode("", 0, true, &value);
            if (rc != 0) {
                free(name);
                return rc;
            }
            if (hr->nparams < MAX_PARAMS) {
                hr->pname[hr->nparams] = name;
                hr->pvalue[hr->nparams++] = value;
            } else {
                free(name);
                free(value);
            }
        }
        q += n;
        if (*q == '&')
            q++;
    }
    return 0;
}

/* Parses the request line and headers in buf[0..len) (modified in place).
 * 0 on success, else the status to answer with. */
static int parse_head(char *buf, size_t len, http_req *hr)
{
    char *line = buf, *end = buf + len, *nl;
    bool first = true, conn_close = false, conn_keep = false, cl_seen = false, expect = false;
    int minor = 1, hosts = 0;

    while (line < end && (nl = memchr(line, '\n', (size_t)(end - line))) != NULL) {
        char *eol = nl;
        size_t n;
        if (eol > line && eol[-1] == '\r')
            eol--;
        *eol = '\0';
        n = (size_t)(eol - line);
        if (memchr(line, '\r', n) || strlen(line) != n) /* a stray CR or a NUL */
            return 400;
        if (first) {
            /* method SP request-target SP HTTP-version */
            char *sp1 = strchr(line, ' '), *sp2, *m;
            int rc;
            first = false;
            if (!sp1 || sp1 == line || !(sp2 = strchr(sp1 + 1, ' ')) || sp2 == sp1 + 1
                || strchr(sp2 + 1, ' '))
                return 400;
            *sp1 = *sp2 = '\0';
            for (m = line; *m; m++)
                if (!is_tchar(*m))
                    return 400;
            for (m = sp1 + 1; *m; m++)
                if ((unsigned char)*m <= 0x20 || *m == 0x7F)
                    return 400;
            if (strcmp(sp2 + 1, "HTTP/1.1") == 0)
                minor = 1;
            else if (strcmp(sp2 + 1, "HTTP/1.0") == 0)
                minor = 0;
            else if (strncmp(sp2 + 1, "HTTP/", 5) == 0 && strlen(sp2 + 1) == 8
                     && sp2[6] >= '0' && sp2[6] <= '9' && sp2[7] == '.' && sp2[8] >= '0'
                     && sp2[8] <= '9')
                return 505;
            else
                return 400;
            if (strcmp(line, "GET") == 0)
                hr->head = false;
            else if (strcmp(line, "HEAD") == 0)
                hr->head = true;
            else
                return 405;
            if ((rc = parse_target(sp1 + 1, hr)) != 0)
                return rc;
        } else if (n == 0) {
            break; /* the end of the header section */
        } else {
            /* field-name ":" OWS field-value OWS; no obsolete line folding */
            char *colon = strchr(line, ':'), *v, *ve, *m;
            if (!colon || colon == line)
                return 400;
            *colon = '\0';
            for (m = line; *m; m++)
                if (!is_tchar(*m))
                    return 400;
            v = colon + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            ve = v + strlen(v);
            while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
                *--ve = '\0';
            if (strcasecmp(line, "Host") == 0) {
                if (++hosts > 1 || !valid_host(v, strlen(v)))
                    return 400;
            } else if (strcasecmp(line, "Cookie") == 0) {
                if (hr->has_cookie)
                    sb_puts(&hr->cookie, "; ");
                sb_puts(&hr->cookie, v);
                hr->has_cookie = true;
            } else if (strcasecmp(line, "Connection") == 0) {
                conn_close |= has_token(v, "close");
                conn_keep |= has_token(v, "keep-alive");
            } else if (strcasecmp(line, "Content-Length") == 0) {
                uint64_t cl = 0;
                if (!*v)
                    return 400;
                for (m = v; *m; m++) {
                    if (*m < '0' || *m > '9' || cl > UINT64_MAX / 20)
                        return 400;
                    cl = cl * 10 + (uint64_t)(*m - '0');
                }
                if (cl_seen && cl != hr->content_length)
                    return 400;
                cl_seen = true;
                hr->content_length = cl;
            } else if (strcasecmp(line, "Expect") == 0) {
                expect |= has_token(v, "100-continue");
            } else if (strcasecmp(line, "Transfer-Encoding") == 0) {
                return 400; /* no request bodies here, chunked or otherwise */
            }
        }
        line = nl + 1;
    }
    if (first || (minor == 1 && hosts == 0)) /* HTTP/1.1 names its Host (RFC 9112 3.2) */
        return 400;
    if (hr->cookie.oom)
        return 500;
    if (hr->content_length > MAX_BODY)
        return 413;
    hr->http10 = minor == 0;
    hr->expect_continue = expect && minor == 1; /* HTTP/1.0: ignored (RFC 9110 10.1.1) */
    hr->keep_alive = minor == 1 ? !conn_close : conn_keep && !conn_close;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Responses                                                                */

typedef struct response {
    int status;
    sbuf body;         /* the bytes to send, already in `charset` */
    char charset[64];
    char *set_cookie;  /* owned; NULL for none */
    char *location;    /* owned; NULL for none */
    const char *content_type; /* static; NULL for text/html */
    bool close;        /* close the connection after this response */
} response;

static void response_free(response *res)
{
    sb_free(&res->body);
    free(res->set_cookie);
    free(res->location);
    res->set_cookie = res->location = NULL;
}

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 302: return "Found";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 429: return "Too Many Requests";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

/* An error page, in UTF-8, with an optional detail line. */
static void error_page(response *res, int status, const char *detail)
{
    sb_free(&res->body);
    res->status = status;
    snprintf(res->charset, sizeof res->charset, "UTF-8");
    sb_printf(&res->body, "<!DOCTYPE html>\n<html><head><meta charset=\"UTF-8\">"
                          "<title>%d %s</title></head>\n<body>\n<h1>%d %s</h1>\n",
              status, reason(status), status, reason(status));
    if (detail && *detail) {
        sb_puts(&res->body, "<p>");
        sb_html(&res->body, detail);
        sb_puts(&res->body, "</p>\n");
    }
    sb_puts(&res->body, "</body></html>\n");
    res->close = true;
}

static bool send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

static bool send_response(int fd, const response *res, bool head, bool http10)
{
    sbuf out = {NULL, 0, 0, false};
    char date[64];
    time_t now = time(NULL);
    struct tm tm;
    bool ok;

    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    sb_printf(&out, "HTTP/1.1 %d %s\r\nDate: %s\r\nServer: libsess-demo/%s\r\n", res->status,
              reason(res->status), date, sess_version());
    if (res->content_type)
        sb_printf(&out, "Content-Type: %s\r\nContent-Length: %zu\r\n", res->content_type,
                  res->body.len);
    else
        sb_printf(&out, "Content-Type: text/html; charset=%s\r\nContent-Length: %zu\r\n",
                  res->charset[0] ? res->charset : "UTF-8", res->body.len);
    sb_puts(&out, "Cache-Control: no-store\r\n");
    if (res->location)
        sb_printf(&out, "Location: %s\r\n", res->location);
    if (res->set_cookie)
        sb_printf(&out, "Set-Cookie: %s\r\n", res->set_cookie);
    if (res->status == 405)
        sb_puts(&out, "Allow: GET, HEAD\r\n");
    if (res->close)
        sb_puts(&out, "Connection: close\r\n");
    else if (http10)
        sb_puts(&out, "Connection: keep-alive\r\n");
    sb_puts(&out, "\r\n");
    if (!head && res->body.len)
        sb_put(&out, res->body.p, res->body.len);
    ok = !out.oom && send_all(fd, out.p, out.len);
    sb_free(&out);
    return ok;
}

/* ------------------------------------------------------------------------ */
/* Serving a page (demo_pages.h)                                             */

static void error_from_library(response *res, sess_result hr)
{
    page pg;
    memset(&pg, 0, sizeof pg);
    page_fail(&pg, hr);
    error_page(res, pg.status, sb_str(&pg.error));
    sb_free(&pg.error);
}

/* A query parameter of the request (demo_page's param). */
static const char *request_param(const void *ctx, const char *name)
{
    return param((const http_req *)ctx, name);
}

/* Finds the route: the request's application and its path in it (*prefix:
 * demo_route_find's). NULL for an unknown route (404) or a failure (res is
 * then filled). */
static const struct route *find_route(sess_request *req, response *res, char **prefix,
                                      sess_app **app)
{
    sess_result rc;
    char *app_path = NULL;
    const struct route *found;
    size_t i;

    /* Which application and which route: the request (begun with session
     * state off, so it holds no lock yet) tells the application's path and
     * the path without any cookieless ID segment. */
    found = demo_route_find(req, prefix, &app_path, &rc);
    if (!app_path) {
        error_from_library(res, rc);
        return NULL;
    }
    *app = NULL;
    for (i = 0; i < sizeof srv.apps / sizeof srv.apps[0]; i++)
        if (strcmp(srv.apps[i].path, app_path) == 0)
            *app = srv.apps[i].app;
    free(app_path);
    if (!found || !*app) {
        error_page(res, 404, "No such page in this application.");
        return NULL;
    }
    return found;
}

/* GET /metrics: every application's counters (sess_app_stats) in the
 * Prometheus text format, one series per application path. Served by the
 * server itself, outside the applications: no session, no cookie. */
static void metrics(response *res)
{
    enum { APPS = sizeof srv.apps / sizeof srv.apps[0] };
    sess_app_counters stats[APPS];
    const char *labels[APPS];
    size_t a;
    sess_result rc;

    for (a = 0; a < APPS; a++) {
        sess_app_stats_init(&stats[a]);
        rc = sess_app_stats(srv.apps[a].app, &stats[a]);
        if (rc < 0) {
            error_from_library(res, rc);
            return;
        }
        labels[a] = srv.apps[a].path;
    }
    res->status = 200;
    res->content_type = "text/plain; version=0.0.4; charset=utf-8";
    metrics_text(&res->body, stats, labels, APPS, NULL, "");
    if (res->body.oom) {
        res->content_type = NULL;
        error_page(res, 500, "out of memory");
    }
}

/* Runs one request: the application, the route, the session, the page. */
static void serve(const http_req *hr, response *res)
{
    static const char *const app_paths[] = {"/", "/search", "/cookieless"};
    page pg;
    const struct route *route;
    sess_request_info info;
    sess_variant cookie;
    sess_result rc;
    uint32_t cp = CP_UTF8;
    bool reader;
    int failed;

    if (strcmp(hr->path, "/metrics") == 0) {
        metrics(res);
        return;
    }
    memset(&pg, 0, sizeof pg);
    pg.param = request_param;
    pg.param_ctx = hr;
    pg.readers_now = readers_current;
    pg.app_paths = app_paths;
    pg.app_count = sizeof app_paths / sizeof app_paths[0];
    pg.status = 200;
    /* Begin with session state off (no lock), route, then take the
     * session as the page needs it. */
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    info.session_use = SESS_USE_OFF;
    info.path = hr->path;
    info.cookie_header = hr->has_cookie ? hr->cookie.p : NULL;
    info.cookie_header_len = hr->has_cookie ? hr->cookie.len : 0;
    info.https = false;
    rc = sess_request_begin(srv.site, &info, &pg.req);
    if (rc < 0) {
        error_from_library(res, rc);
        return;
    }
    route = find_route(pg.req, res, &pg.prefix, &pg.app);
    if (route && route->use != SESS_USE_OFF)
        rc = sess_request_acquire(pg.req, route->use);
    if (!route || rc < 0) {
        if (route)
            error_from_library(res, rc); /* 503 for SESS_E_LOCK_TIMEOUT */
        sess_request_end(pg.req, true, NULL);
        pg.req = NULL;
        free(pg.prefix);
        return;
    }
    reader = route->use == SESS_USE_READONLY;
    if (reader)
        pg.readers_seen = readers_enter();
    failed = route->fn(&pg) < 0;
    if (reader)
        readers_leave();
    if (!failed && pg.s && sess_codepage(pg.s, NULL, &cp) < 0)
        cp = CP_UTF8;
    /* The page in the session's code page (Session.CodePage); its links
     * are rewritten while the request is open. */
    if (!failed && (rc = demo_document(&pg, route, cp, &res->body, res->charset,
                                       sizeof res->charset)) < 0)
        failed = page_fail(&pg, rc);

    /* The unit of work ends: saved, or undone if the page failed. */
    sess_variant_init(&cookie);
    rc = sess_request_end(pg.req, failed != 0, &cookie);
    pg.req = NULL;
    if (cookie.vt == SESS_VT_BSTR && cookie.v.bstrVal.ptr)
        res->set_cookie = strdup(cookie.v.bstrVal.ptr);
    sess_variant_clear(&cookie);
    if (rc < 0 && !failed)
        failed = page_fail(&pg, rc);

    if (failed) {
        error_page(res, pg.status, sb_str(&pg.error));
    } else {
        res->status = pg.status;
        res->location = pg.location;
        pg.location = NULL;
    }
    sb_free(&pg.out);
    sb_free(&pg.error);
    free(pg.location);
    free(pg.prefix);
}

/* ------------------------------------------------------------------------ */
/* Connections                                                              */

typedef struct conn {
    int fd;
    int slot;
    size_t len;             /* bytes in buf */
    char buf[MAX_HEAD + 1];
} conn;

/* The end of the header section in buf[0..len) (after its blank line), or
 * 0 if it is not all there yet. Bare LF line ends are accepted. */
static size_t head_end(const char *buf, size_t len)
{
    size_t i;
    for (i = 0; i < len; i++) {
        if (buf[i] != '\n')
            continue;
        if (i + 1 < len && buf[i + 1] == '\n')
            return i + 2;
        if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
            return i + 3;
    }
    return 0;
}

/* Milliseconds since `start` (CLOCK_MONOTONIC). */
static long elapsed_ms(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long)(now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

/* Reads until a whole header section is buffered. Returns its length; 0 at
 * a clean end (EOF or idle timeout between requests); -1 when the
 * connection broke mid-request; -431 when the section exceeds MAX_HEAD,
 * -414 when its request line alone does (RFC 9112 3);
 * -408 when it is not all there HEAD_TIMEOUT_MS after its first byte (the
 * receive timeout restarts with every byte: this deadline does not). */
static long read_head(conn *c)
{
    struct timespec first_byte;
    bool started = false;

    for (;;) {
        size_t skip = 0, end;
        ssize_t n;
        /* Empty lines before a request line are ignored (RFC 9112 2.2). */
        while (skip < c->len && (c->buf[skip] == '\r' || c->buf[skip] == '\n'))
            skip++;
        if (skip) {
            memmove(c->buf, c->buf + skip, c->len - skip);
            c->len -= skip;
        }
        if ((end = head_end(c->buf, c->len)) != 0)
            return (long)end;
        if (c->len >= MAX_HEAD)
            return memchr(c->buf, '\n', c->len) ? -431 : -414;
        if (c->len > 0) {
            struct pollfd pfd;
            long left;
            int ready;
            if (!started) {
                clock_gettime(CLOCK_MONOTONIC, &first_byte);
                started = true;
            }
            left = HEAD_TIMEOUT_MS - elapsed_ms(&first_byte);
            if (left <= 0)
                return -408;
            pfd.fd = c->fd;
            pfd.events = POLLIN;
            pfd.revents = 0;
            ready = poll(&pfd, 1, (int)left);
            if (ready < 0 && errno == EINTR)
                continue;
            if (ready == 0)
                return -408;
        }
        n = recv(c->fd, c->buf + c->len, MAX_HEAD - c->len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return c->len == 0 ? 0 : -1;
        c->len += (size_t)n;
    }
}

/* Skips the request's body (GET may carry one; it means nothing). A client
 * waiting for 100 (Continue) before sending it is sent one, unless the body
 * is already here (RFC 9110 10.1.1). */
static bool skip_body(conn *c, const http_req *hr)
{
    static const char go_on[] = "HTTP/1.1 100 Continue\r\n\r\n";
    char scratch[4096];
    uint64_t n = hr->content_length;
    size_t take = c->len < n ? c->len : (size_t)n;
    if (hr->expect_continue && take < n && !send_all(c->fd, go_on, sizeof go_on - 1))
        return false;
    memmove(c->buf, c->buf + take, c->len - take);
    c->len -= take;
    n -= take;
    while (n) {
        ssize_t r = recv(c->fd, scratch, n < sizeof scratch ? (size_t)n : sizeof scratch, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        n -= (uint64_t)r;
    }
    return true;
}

/* Closes after an error response without losing it to a reset: stop
 * sending, then read (and drop) what the client still sends, briefly. */
static void lingering_close(int fd)
{
    struct timeval tv = {0, 500000};
    char scratch[4096];
    size_t total = 0;
    shutdown(fd, SHUT_WR);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    while (total < 256 * 1024) {
        ssize_t r = recv(fd, scratch, sizeof scratch, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        total += (size_t)r;
    }
}

static void *connection_main(void *arg)
{
    conn *c = (conn *)arg;
    bool linger = false;

    while (!stopping) {
        http_req hr;
        response res;
        long head = read_head(c);
        int status;
        bool done;

        if (head == 0 || head == -1)
            break;
        memset(&hr, 0, sizeof hr);
        memset(&res, 0, sizeof res);
        if (head == -431 || head == -414 || head == -408) {
            status = (int)-head;
        } else {
            status = parse_head(c->buf, (size_t)head, &hr);
            memmove(c->buf, c->buf + head, c->len - (size_t)head);
            c->len -= (size_t)head;
            if (status == 0 && hr.content_length && !skip_body(c, &hr)) {
                http_req_free(&hr);
                break;
            }
        }
        if (status == 431)
            error_page(&res, 431, "The request's header section is over 8 KiB.");
        else if (status == 414)
            error_page(&res, 414, "The request line is over 8 KiB.");
        else if (status == 408)
            error_page(&res, 408, "The request's header section took too long to arrive.");
        else if (status == 405)
            error_page(&res, 405, "Only GET and HEAD are served here.");
        else if (status == 505)
            error_page(&res, 505, "Only HTTP/1.0 and HTTP/1.1 are served here.");
        else if (status == 413)
            error_page(&res, 413, "A GET request has no business with a body this large.");
        else if (status == 400)
            error_page(&res, 400, "Malformed request (request line, headers, "
                                  "percent-encoding, or a NUL in the path).");
        else if (status != 0)
            error_page(&res, status, NULL);
        else
            serve(&hr, &res);
        if (status == 0 && !hr.keep_alive)
            res.close = true;
        if (res.status >= 400)
            res.close = true;
        done = !send_response(c->fd, &res, hr.head, hr.http10) || res.close;
        linger = res.close && res.status >= 400;
        http_req_free(&hr);
        response_free(&res);
        if (done)
            break;
    }
    if (linger)
        lingering_close(c->fd);

    /* Unregister and close under the lock, so shutdown() from main never
     * reaches a reused descriptor; the last thing this thread does. */
    pthread_mutex_lock(&srv.lock);
    srv.fds[c->slot] = -1;
    close(c->fd);
    srv.active--;
    pthread_cond_broadcast(&srv.idle);
    pthread_mutex_unlock(&srv.lock);
    free(c);
    return NULL;
}

/* Registers a connection from `peer`: its slot, or -503 when
 * MAX_CONNECTIONS are open, -429 when MAX_PER_CLIENT are open from `peer`. */
static int register_connection(int fd, struct in_addr peer)
{
    int i, slot = -503, same = 0;
    pthread_mutex_lock(&srv.lock);
    for (i = 0; i < MAX_CONNECTIONS; i++) {
        if (srv.fds[i] < 0)
            slot = slot < 0 ? i : slot;
        else if (srv.peers[i].s_addr == peer.s_addr)
            same++;
    }
    if (same >= MAX_PER_CLIENT)
        slot = -429;
    if (slot >= 0) {
        srv.fds[slot] = fd;
        srv.peers[slot] = peer;
        srv.active++;
    }
    pthread_mutex_unlock(&srv.lock);
    return slot;
}

static void unregister_connection(int slot)
{
    pthread_mutex_lock(&srv.lock);
    srv.fds[slot] = -1;
    srv.active--;
    pthread_cond_broadcast(&srv.idle);
    pthread_mutex_unlock(&srv.lock);
}

static void accept_connection(int fd, struct in_addr peer, const pthread_attr_t *attr,
                              const sigset_t *stop_signals)
{
    static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                               "Connection: close\r\nRetry-After: 1\r\n\r\n";
    static const char too_many[] = "HTTP/1.1 429 Too Many Requests\r\nContent-Length: 0\r\n"
                                   "Connection: close\r\nRetry-After: 1\r\n\r\n";
    struct timeval tv = {IDLE_TIMEOUT_S, 0};
    sigset_t old;
    pthread_t thread;
    conn *c;
    int slot = register_connection(fd, peer);

    if (slot == -429) {
        send(fd, too_many, sizeof too_many - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        close(fd);
        return;
    }
    if (slot < 0) {
        send(fd, busy, sizeof busy - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        close(fd);
        return;
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    c = malloc(sizeof *c);
    if (c) {
        c->fd = fd;
        c->slot = slot;
        c->len = 0;
        /* The thread starts with SIGINT/SIGTERM blocked: they go to main. */
        pthread_sigmask(SIG_BLOCK, stop_signals, &old);
        if (pthread_create(&thread, attr, connection_main, c) == 0) {
            pthread_sigmask(SIG_SETMASK, &old, NULL);
            return;
        }
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        free(c);
    }
    send(fd, busy, sizeof busy - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    pthread_mutex_lock(&srv.lock);
    close(fd);
    pthread_mutex_unlock(&srv.lock);
    unregister_connection(slot);
}

/* ------------------------------------------------------------------------ */
/* Start and stop                                                           */

static int fail_setup(const char *what, sess_result hr)
{
    char detail[512] = "";
    sess_error_last(NULL, detail, sizeof detail, NULL);
    fprintf(stderr, "server_demo: %s failed (0x%08lX): %s\n", what,
            (unsigned long)(uint32_t)hr, detail);
    return 1;
}

/* The site: three applications, each with its own sess_app. With
 * SESS_STORE set to a redis:// URL, sessions live in Redis, so several demo
 * processes (on several ports) form a web farm; SESS_KEY_PREFIX (default
 * "sess:demo:") starts every application's key prefix. With SESS_STORE set
 * to lmdb:///absolute/dir, sessions live in that directory, shared by every
 * demo process of the machine and kept across restarts; each application
 * is named by its path there. */
static int setup_site(void)
{
    sess_app_options opts;
    sess_redis_options redis;
    sess_lmdb_options lmdb;
    sess_web_options web;
    sess_result hr;
    const char *store = getenv("SESS_STORE");
    const char *base = getenv("SESS_KEY_PREFIX");
    char prefix[256];
    size_t i, j;

    if (!base)
        base = "sess:demo:";
    if ((hr = sess_site_create(&srv.site)) < 0)
        return fail_setup("sess_site_create", hr);
    for (i = 0; i < sizeof srv.apps / sizeof srv.apps[0]; i++) {
        sess_app_options_init(&opts);
        opts.lock_timeout_ms = LOCK_TIMEOUT_MS;
        if (store && strncmp(store, "lmdb://", 7) == 0) {
            sess_lmdb_options_init(&lmdb);
            lmdb.path = store + 7; /* "lmdb:///dir" -> "/dir" */
            lmdb.name = srv.apps[i].path;
            opts.lmdb = &lmdb;
        } else if (store && *store) {
            /* One key prefix per application: "<base><path>:", with the
             * path's '/' spelled '_' ("sess:demo:_search:"). */
            snprintf(prefix, sizeof prefix, "%s%s:", base, srv.apps[i].path);
            for (j = strlen(base); prefix[j]; j++)
                if (prefix[j] == '/')
                    prefix[j] = '_';
            sess_redis_options_init(&redis);
            redis.url = store;
            redis.key_prefix = prefix;
            opts.redis = &redis;
        }
        if ((hr = sess_app_create(&opts, &srv.apps[i].app)) < 0)
            return fail_setup("sess_app_create", hr);
        sess_web_options_init(&web);
        web.cookieless = srv.apps[i].cookieless;
        if ((hr = sess_site_add(srv.site, srv.apps[i].path, srv.apps[i].app, &web)) < 0)
            return fail_setup("sess_site_add", hr);
    }
    return 0;
}

static void release_site(void)
{
    size_t i;
    sess_site_release(srv.site);
    srv.site = NULL;
    for (i = 0; i < sizeof srv.apps / sizeof srv.apps[0]; i++) {
        sess_app_release(srv.apps[i].app); /* Session_OnEnd for what is left */
        srv.apps[i].app = NULL;
    }
}

static int listen_on(unsigned port)
{
    struct sockaddr_in addr;
    socklen_t len = sizeof addr;
    int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0) {
        perror("server_demo: socket");
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, 128) < 0
        || getsockname(fd, (struct sockaddr *)&addr, &len) < 0) {
        perror("server_demo: bind/listen");
        close(fd);
        return -1;
    }
    printf("listening on http://127.0.0.1:%u/\n", (unsigned)ntohs(addr.sin_port));
    fflush(stdout);
    return fd;
}

int main(void)
{
    const char *port_text = getenv("PORT");
    uint32_t port = 8080;
    struct sigaction sa;
    sigset_t stop_signals;
    pthread_attr_t attr;
    struct timespec deadline;
    int i, left;

    if (port_text && *port_text && (!parse_u32(port_text, &port) || port > 65535)) {
        fprintf(stderr, "server_demo: PORT must be a number from 0 to 65535\n");
        return 2;
    }
    for (i = 0; i < MAX_CONNECTIONS; i++)
        srv.fds[i] = -1;

    /* SIGPIPE: a client that goes away is an error from send(), not death.
     * SIGINT/SIGTERM: blocked in every other thread (the library's expiry
     * threads and the connections), so they reach main's poll(). */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGPIPE, &sa, NULL);
    sa.sa_handler = on_stop_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);

    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    if (setup_site() != 0) {
        release_site();
        return 1;
    }
    pthread_sigmask(SIG_UNBLOCK, &stop_signals, NULL);
    if ((srv.listen_fd = listen_on((unsigned)port)) < 0) {
        release_site();
        return 1;
    }
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 1024 * 1024);

    while (!stopping) {
        struct pollfd pfd;
        struct sockaddr_in peer;
        socklen_t peer_len = sizeof peer;
        int fd;
        pfd.fd = srv.listen_fd;
        pfd.events = POLLIN;
        pfd.revents = 0;
        if (poll(&pfd, 1, 500) <= 0)
            continue;
        fd = accept(srv.listen_fd, (struct sockaddr *)&peer, &peer_len);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                sleep_ms(50); /* out of descriptors: let connections finish */
            continue;
        }
        accept_connection(fd, peer.sin_addr, &attr, &stop_signals);
    }

    /* Stop: no new connections; wake the idle ones (their reads see EOF);
     * wait for them, then release the site and the applications. */
    close(srv.listen_fd);
    pthread_attr_destroy(&attr);
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += SHUTDOWN_WAIT_S;
    pthread_mutex_lock(&srv.lock);
    for (i = 0; i < MAX_CONNECTIONS; i++)
        if (srv.fds[i] >= 0)
            shutdown(srv.fds[i], SHUT_RD); /* in-flight responses still go out */
    while (srv.active > 0)
        if (pthread_cond_timedwait(&srv.idle, &srv.lock, &deadline) == ETIMEDOUT)
            break;
    left = srv.active;
    pthread_mutex_unlock(&srv.lock);
    if (left) {
        fprintf(stderr, "server_demo: %d connection(s) still busy; exiting without cleanup\n",
                left);
        return 1;
    }
    release_site();
    fprintf(stderr, "server_demo: stopped\n");
    return 0;
}
