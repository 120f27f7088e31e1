/*
 * Values as Windows' oleaut32 converts them (VariantChangeTypeEx): a
 * VARIANT_BOOL is the SHORT it stores, currency's limits, and dates read
 * with VarDateFromStr's grammar.
 */
#include <stdio.h>

#include "check.h"

/* Converts a VT_BOOL holding `stored` to `vt` into *out. */
static void bool_to(int16_t stored, sess_vartype vt, sess_variant *out)
{
    sess_variant b;
    sess_variant_init(&b);
    b.vt = SESS_VT_BOOL;
    b.v.boolVal = stored;
    CHECK_HR(sess_variant_change_type(out, &b, 0x0409, 0, vt), SESS_S_OK);
}

/* Reads `text` as a date under `lcid`. */
static sess_result date_of(const char *text, uint32_t lcid, double *out)
{
    sess_variant s, d;
    sess_result hr;
    sess_variant_init(&s);
    sess_variant_init(&d);
    CHECK_HR(sess_variant_set_bstr(&s, text, SIZE_MAX), SESS_S_OK);
    hr = sess_variant_change_type(&d, &s, lcid, 0, SESS_VT_DATE);
    if (hr == SESS_S_OK)
        *out = d.v.date;
    sess_variant_clear(&s);
    sess_variant_clear(&d);
    return hr;
}

int main(void)
{
    sess_variant v, copy, i8;
    double date = 0;
    sess_variant_init(&v);
    sess_variant_init(&copy);
    sess_variant_init(&i8);

    printf("VARIANT_BOOL is a SHORT\n");
    bool_to(1, SESS_VT_I4, &v);
    CHECK(v.vt == SESS_VT_I4 && v.v.lVal == 1);
    bool_to(1, SESS_VT_BSTR, &v);
    CHECK(bstr_is(&v, "1"));
    sess_variant_clear(&v);
    bool_to(SESS_VARIANT_TRUE, SESS_VT_BSTR, &v);
    CHECK(bstr_is(&v, "-1"));
    sess_variant_clear(&v);
    bool_to(128, SESS_VT_I1, &v);
    CHECK(v.v.cVal == -128);
    bool_to(256, SESS_VT_UI1, &v);
    CHECK(v.v.bVal == 0);
    bool_to(SESS_VARIANT_TRUE, SESS_VT_UI1, &v);
    CHECK(v.v.bVal == 255);
    /* A copy keeps the stored value. */
    v.vt = SESS_VT_BOOL;
    v.v.boolVal = 1;
    CHECK_HR(sess_variant_copy(&copy, &v), SESS_S_OK);
    CHECK(copy.vt == SESS_VT_BOOL && copy.v.boolVal == 1);
    printf("  TRUE stored as 1 -> I4 1, BSTR \"1\"; 128 -> I1 -128; 256 -> UI1 0\n");

    printf("Currency limits\n");
    i8.vt = SESS_VT_I8;
    i8.v.llVal = 922337203685477LL;
    CHECK_HR(sess_variant_change_type(&v, &i8, 0x0409, 0, SESS_VT_CY), SESS_DISP_E_OVERFLOW);
    i8.v.llVal = 922337203685476LL;
    CHECK_HR(sess_variant_change_type(&v, &i8, 0x0409, 0, SESS_VT_CY), SESS_S_OK);
    CHECK(v.vt == SESS_VT_CY && v.v.cyVal == 9223372036854760000LL);
    printf("  I8 922337203685477 -> CY overflows, as VarCyFromI8 does\n");

    printf("VarDateFromStr\n");
    CHECK_HR(date_of("02.13.1970", 0x0407, &date), SESS_S_OK);
    CHECK(date == 25612.0);
    CHECK_HR(date_of("2 Jan 1970", 0x0409, &date), SESS_S_OK);
    CHECK(date == 25570.0);
    CHECK_HR(date_of("2.5", 0x0409, &date), SESS_S_OK);
    CHECK(date > 0.0868 && date < 0.0869);
    CHECK_HR(date_of("1 2 3 4", 0x0409, &date), SESS_DISP_E_TYPEMISMATCH);
    printf("  de-DE 02.13.1970 = 1970-02-13; 2.5 = 2:05\n");

    sess_variant_clear(&v);
    sess_variant_clear(&copy);
    return check_summary();
}
