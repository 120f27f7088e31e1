/*
 * check.h: the tiny test helpers the C examples share.
 *
 *   CHECK(cond)              the condition must hold
 *   CHECK_HR(expr, code)     expr must return exactly `code`; when `code` is a
 *                            failure, sess_error_last() must also report that
 *                            code with a non-empty detail
 *   return check_summary();  at the end of main: 0 if every check passed
 *
 * A failed check prints file:line, the expression, the code it got (with its
 * message) and this thread's last-error detail, and is counted; the program
 * carries on so one run shows every failure.
 *
 * Plus two helpers for printing values: show() writes a variant as text and
 * bstr_is() compares a VT_BSTR with a C string.
 */
#ifndef EXAMPLES_CHECK_H
#define EXAMPLES_CHECK_H

/* POSIX (threads, clocks) under -std=c99: include this header first. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "sess.h"

/* Failed checks so far (the checks may run on several threads). */
static volatile int check_failures;

/* Prints the message for `code` (e.g. "invalid index (0x8002000B)"). */
static inline void check_print_code(const char *label, sess_result code)
{
    char msg[160];
    if (sess_error_message(code, msg, sizeof msg, NULL) < 0)
        snprintf(msg, sizeof msg, "0x%08lX", (unsigned long)(uint32_t)code);
    fprintf(stderr, "    %s %s\n", label, msg);
}

/* Prints this thread's last failure: code and detail. */
static inline void check_print_last_error(void)
{
    char detail[512];
    sess_result code = 0;
    if (sess_error_last(&code, detail, sizeof detail, NULL) == SESS_S_OK)
        fprintf(stderr, "    last error 0x%08lX: %s\n", (unsigned long)(uint32_t)code, detail);
    else
        fprintf(stderr, "    (no last error on this thread)\n");
}

/* Counts a failure; flushes stdout so the report lands in order. */
static inline void check_failed(void)
{
    check_failures++;
    fflush(stdout);
}

static inline int check_true(int ok, const char *expr, const char *file, int line)
{
    if (!ok) {
        check_failed();
        fprintf(stderr, "%s:%d: CHECK failed: %s\n", file, line, expr);
    }
    return ok;
}

static inline int check_hr(sess_result got, sess_result expected, const char *expr,
                           const char *expected_text, const char *file, int line)
{
    sess_result last = 0;
    char detail[512] = "";
    int ok = got == expected;
    /* A failure must also be this thread's last error, with some detail. */
    if (ok && expected < 0) {
        ok = sess_error_last(&last, detail, sizeof detail, NULL) == SESS_S_OK
             && last == expected && detail[0] != '\0';
        if (!ok) {
            check_failed();
            fprintf(stderr, "%s:%d: CHECK_HR: %s failed as expected, but sess_error_last "
                            "gives code 0x%08lX and detail \"%s\"\n",
                    file, line, expr, (unsigned long)(uint32_t)last, detail);
        }
        return ok;
    }
    if (!ok) {
        check_failed();
        fprintf(stderr, "%s:%d: CHECK_HR failed: %s\n", file, line, expr);
        check_print_code("got     ", got);
        check_print_code("expected", expected);
        fprintf(stderr, "    (%s)\n", expected_text);
        if (got < 0)
            check_print_last_error();
    }
    return ok;
}

#define CHECK(cond) check_true((cond) ? 1 : 0, #cond, __FILE__, __LINE__)
#define CHECK_HR(expr, expected) check_hr((expr), (expected), #expr, #expected, __FILE__, __LINE__)

/* The program's exit status: 0 if every check passed. */
static inline int check_summary(void)
{
    fflush(stdout);
    if (check_failures) {
        fprintf(stderr, "%d check(s) FAILED\n", check_failures);
        return 1;
    }
    printf("all checks passed\n");
    return 0;
}

/* Whether `v` is a VT_BSTR holding exactly `text`. */
static inline int bstr_is(const sess_variant *v, const char *text)
{
    size_t n = strlen(text);
    if (v->vt != SESS_VT_BSTR || v->v.bstrVal.len != n)
        return 0;
    return n == 0 || (v->v.bstrVal.ptr != NULL && memcmp(v->v.bstrVal.ptr, text, n) == 0);
}

/*
 * Writes `v` as text to buf (en-US, as sess_variant_change_type makes it;
 * strings in quotes, arrays as {a, b}, objects as <object>) and returns buf.
 */
static inline const char *show(const sess_variant *v, char *buf, size_t len)
{
    sess_variant text;
    if (len == 0)
        return buf;
    buf[0] = '\0';
    if (v->vt == (SESS_VT_ARRAY | SESS_VT_VARIANT)) {
        size_t n = 0, i, used;
        sess_array_length(v->v.parray, &n);
        snprintf(buf, len, "{");
        for (i = 0; i < n; i++) {
            char item[256];
            sess_variant e;
            sess_variant_init(&e);
            sess_array_get(v->v.parray, i, &e);
            used = strlen(buf);
            snprintf(buf + used, len - used, "%s%s", i ? ", " : "", show(&e, item, sizeof item));
            sess_variant_clear(&e);
        }
        used = strlen(buf);
        snprintf(buf + used, len - used, "}");
        return buf;
    }
    switch (v->vt) {
    case SESS_VT_EMPTY: snprintf(buf, len, "Empty"); return buf;
    case SESS_VT_NULL: snprintf(buf, len, "Null"); return buf;
    case SESS_VT_UNKNOWN:
    case SESS_VT_DISPATCH: snprintf(buf, len, "<object>"); return buf;
    case SESS_VT_ERROR:
        snprintf(buf, len, "Error 0x%08lX", (unsigned long)(uint32_t)v->v.scode);
        return buf;
    case SESS_VT_BSTR:
        snprintf(buf, len, "\"%s\"", v->v.bstrVal.ptr ? v->v.bstrVal.ptr : "");
        return buf;
    default: break;
    }
    sess_variant_init(&text);
    if (sess_variant_change_type(&text, v, 0x0409, SESS_VARIANT_ALPHABOOL, SESS_VT_BSTR) == SESS_S_OK)
        snprintf(buf, len, "%s", text.v.bstrVal.ptr ? text.v.bstrVal.ptr : "");
    else
        snprintf(buf, len, "<vt %u>", (unsigned)v->vt);
    sess_variant_clear(&text);
    return buf;
}

#endif /* EXAMPLES_CHECK_H */
