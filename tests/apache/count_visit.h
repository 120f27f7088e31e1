/*
 * count_visit.h: the counter page's one step (count = count + 1), shared by
 * the Apache modules that call mod_sess's API: tests/apache/mod_stream_test.c
 * and benches/apache/mod_counter_bench.c.
 */
#ifndef COUNT_VISIT_H
#define COUNT_VISIT_H

#include "sess.h"

/* Adds 1 to the session's "count" (missing: 0; text converted as en-US)
 * and stores it as an 8-byte integer; *count receives the new value (0
 * if it could not be read). The first failure's code, or >= 0. */
static sess_result count_visit(sess_session *s, long long *count)
{
    sess_variant v;
    sess_result hr;

    *count = 0;
    sess_variant_init(&v);
    hr = sess_value_get(s, "count", &v);
    if (hr >= 0 && v.vt != SESS_VT_EMPTY)
        hr = sess_variant_change_type(&v, &v, 0x0409, 0, SESS_VT_I8);
    if (hr >= 0 && v.vt == SESS_VT_I8)
        *count = v.v.llVal;
    if (hr >= 0)
        hr = sess_variant_set_i8(&v, ++*count);
    if (hr >= 0)
        hr = sess_value_set(s, "count", &v);
    sess_variant_clear(&v);
    return hr;
}

#endif
