/*
 * cycle.c: the request cycle of benches/common/cycle.rs through the C ABI
 * (include/sess.h), for benches/abi_cycle.rs. The bench compiles it with
 * $CC -O2 into a shared object and loads it; its sess_* calls resolve to
 * the bench executable's own copy of the library, so the C and the Rust
 * cycles run the same machine code on the same application.
 */
#include <stddef.h>
#include <stdint.h>

#include "sess.h"

sess_app *c_abi_app_create(uint64_t max_sessions);
int64_t c_abi_run(sess_app *app, const char *stream, size_t stride, size_t start, size_t mask,
                  uint64_t iters);
int64_t c_abi_run_typed(sess_app *app, const char *stream, size_t stride, size_t start,
                        size_t mask, uint64_t iters);

/* An in-process application holding at most max_sessions, with no expiry
 * thread (nothing competes with the timed cycles); NULL on failure. */
sess_app *c_abi_app_create(uint64_t max_sessions)
{
    sess_app_options opts;
    sess_app *app = NULL;

    if (sess_app_options_init(&opts) < 0)
        return NULL;
    opts.expiry_interval_ms = 0;
    opts.max_sessions = max_sessions;
    if (sess_app_create(&opts, &app) < 0)
        return NULL;
    return app;
}

/* A cycle's end: if the reads succeeded (`hr`), writes count + 1 through
 * the initialised variant `v`, which it clears; closes `s`. The count
 * read, or -1 on any failure. */
static int32_t write_and_close(sess_session *s, sess_variant *v, sess_result hr, int32_t count)
{
    if (hr >= 0)
        hr = sess_variant_set_i4(v, count + 1);
    if (hr >= 0)
        hr = sess_value_set(s, "count", v);
    sess_variant_clear(v);
    if (sess_session_close(s) < 0 || hr < 0)
        return -1;
    return count;
}

/* One cycle on the session `id`: open it exclusively, read "user", "count"
 * and "cart" (each a copy the caller owns, as sess_value_get gives), write
 * count + 1, close. The count read, or -1 on any failure. */
static int32_t cycle(sess_app *app, const char *id)
{
    sess_session *s = NULL;
    sess_variant v;
    int32_t count = -1;
    sess_result hr;

    if (sess_session_open(app, id, 0, &s) < 0)
        return -1;
    sess_variant_init(&v);
    hr = sess_value_get(s, "user", &v);
    if (hr >= 0)
        hr = sess_value_get(s, "count", &v); /* clears the string first */
    if (hr >= 0)
        hr = sess_variant_get_i4(&v, &count);
    if (hr >= 0)
        hr = sess_value_get(s, "cart", &v);
    return write_and_close(s, &v, hr, count);
}

/* The same cycle without variants: "user" lent by sess_value_borrow_bstr,
 * "count" and "cart" read by the typed getters (as the Rust cycle borrows
 * each value), count + 1 stored by sess_value_set_i4: the Rust cycle's 6
 * calls. The count read, or -1. */
static int32_t cycle_typed(sess_app *app, const char *id)
{
    sess_session *s = NULL;
    const char *user = NULL;
    size_t user_len = 0;
    int32_t count = -1;
    double cart = 0;
    sess_result hr;

    if (sess_session_open(app, id, 0, &s) < 0)
        return -1;
    hr = sess_value_borrow_bstr(s, "user", &user, &user_len);
    if (hr >= 0)
        hr = sess_value_get_i4(s, "count", &count);
    if (hr >= 0)
        hr = sess_value_get_r8(s, "cart", &cart);
    if (hr >= 0)
        hr = sess_value_set_i4(s, "count", count + 1);
    if (sess_session_close(s) < 0 || hr < 0)
        return -1;
    return count;
}

/* Runs `iters` cycles of `one` on the IDs in `stream` (NUL-terminated
 * texts `stride` bytes apart), from entry `start` on, wrapping with `mask`
 * (the entry count less one, a power of two): the sum of the counts read,
 * or -1 at the first failure. Inlined into each caller with `one` known. */
static inline int64_t run(int32_t (*one)(sess_app *, const char *), sess_app *app,
                          const char *stream, size_t stride, size_t start, size_t mask,
                          uint64_t iters)
{
    int64_t sum = 0;
    size_t i = start;
    uint64_t n;

    for (n = 0; n < iters; n++) {
        int32_t count = one(app, stream + i * stride);
        if (count < 0)
            return -1;
        sum += count;
        i = (i + 1) & mask;
    }
    return sum;
}

/* The copying cycle `iters` times (see run). */
int64_t c_abi_run(sess_app *app, const char *stream, size_t stride, size_t start, size_t mask,
                  uint64_t iters)
{
    return run(cycle, app, stream, stride, start, mask, iters);
}

/* The cycle without copies `iters` times (see run). */
int64_t c_abi_run_typed(sess_app *app, const char *stream, size_t stride, size_t start,
                        size_t mask, uint64_t iters)
{
    return run(cycle_typed, app, stream, stride, start, mask, iters);
}
