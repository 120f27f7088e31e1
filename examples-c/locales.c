/*
 * One value under several LCIDs and code pages: what Session.LCID and
 * Session.CodePage change in a page (seed 004: 1036 French writes dates
 * day/month/year; 932 Japanese, 950 Chinese, 1252 Western).
 *
 * For each locale the session's LCID is set, then the same number, currency
 * amount, date and boolean are read back as text (sess_value_txt, X++'s
 * valueTxt) and parsed back from the locale's own text. Then one line is
 * sent in several code pages (sess_codepage_encode), with the charset a
 * Content-Type header would carry.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"

struct expected {
    uint32_t lcid;
    const char *name;
    const char *number;   /* R8 1234.5 */
    const char *money;    /* CY 1234.5678 */
    const char *date;     /* 1999-12-31 18:30:00 */
};

static const struct expected locales[] = {
    {1033, "en-US", "1234.5", "1234.5678", "12/31/1999 6:30:00 PM"},
    {2057, "en-GB", "1234.5", "1234.5678", "31/12/1999 18:30:00"},
    {1036, "fr-FR", "1234,5", "1234,5678", "31/12/1999 18:30:00"},
    {1031, "de-DE", "1234,5", "1234,5678", "31.12.1999 18:30:00"},
    {1041, "ja-JP", "1234.5", "1234.5678", "1999/12/31 18:30:00"},
    {1028, "zh-TW", "1234.5", "1234.5678", NULL},
    {1049, "ru-RU", "1234,5", "1234,5678", "31.12.1999 18:30:00"},
};

/* Stores the values once; each locale reads them as text. */
static void store_values(sess_session *s)
{
    sess_variant v;
    sess_variant_init(&v);
    v.vt = SESS_VT_R8;
    v.v.dblVal = 1234.5;
    CHECK_HR(sess_value_set(s, "number", &v), SESS_S_OK);
    v.vt = SESS_VT_CY;
    v.v.cyVal = 12345678; /* 1234.5678 */
    CHECK_HR(sess_value_set(s, "money", &v), SESS_S_OK);
    v.vt = SESS_VT_DATE;
    v.v.date = 36525.0 + (18.0 * 60 + 30) / (24 * 60); /* 1999-12-31 18:30 */
    CHECK_HR(sess_value_set(s, "date", &v), SESS_S_OK);
    v.vt = SESS_VT_BOOL;
    v.v.boolVal = SESS_VARIANT_TRUE;
    CHECK_HR(sess_value_set(s, "flag", &v), SESS_S_OK);
}

static void text_of(sess_session *s, const char *name, char *buf, size_t len)
{
    buf[0] = '\0';
    CHECK_HR(sess_value_txt(s, name, NULL, buf, len, NULL), SESS_S_OK);
}

/* The locale's own text for the number parses back to the same value. */
static void parses_back(uint32_t lcid, const char *text, double expected)
{
    sess_variant in, out;
    sess_variant_init(&in);
    sess_variant_init(&out);
    CHECK_HR(sess_variant_set_bstr(&in, text, SIZE_MAX), SESS_S_OK);
    CHECK_HR(sess_variant_change_type(&out, &in, lcid, 0, SESS_VT_R8), SESS_S_OK);
    CHECK(out.vt == SESS_VT_R8 && out.v.dblVal == expected);
    sess_variant_clear(&in);
}

static void under_locales(sess_session *s)
{
    char number[64], money[64], date[64], flag[64];
    size_t i;

    printf("== One value under several LCIDs (Session.LCID, valueTxt)\n");
    for (i = 0; i < sizeof locales / sizeof locales[0]; i++) {
        const struct expected *e = &locales[i];
        uint32_t now = 0;
        CHECK_HR(sess_lcid(s, &e->lcid, &now), SESS_S_OK);
        CHECK(now == e->lcid);
        text_of(s, "number", number, sizeof number);
        text_of(s, "money", money, sizeof money);
        text_of(s, "date", date, sizeof date);
        text_of(s, "flag", flag, sizeof flag);
        printf("  %-5s %5lu  number %-8s currency %-10s date %-24s boolean %s\n", e->name,
               (unsigned long)e->lcid, number, money, date, flag);
        CHECK(strcmp(number, e->number) == 0);
        CHECK(strcmp(money, e->money) == 0);
        if (e->date)
            CHECK(strcmp(date, e->date) == 0);
        parses_back(e->lcid, number, 1234.5);
    }
}

static void in_code_pages(void)
{
    static const uint32_t pages[] = {65001, 1252, 932, 950, 1200};
    static const char line[] = "Caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC"; /* "Café 日本" */
    size_t i, j;

    printf("== One line in several code pages (Session.CodePage)\n");
    for (i = 0; i < sizeof pages / sizeof pages[0]; i++) {
        char out[64], charset[32], back[64];
        size_t n = 0;
        CHECK_HR(sess_codepage_charset(pages[i], charset, sizeof charset, NULL), SESS_S_OK);
        CHECK_HR(sess_codepage_encode(pages[i], line, strlen(line), 0, out, sizeof out, &n),
                 SESS_S_OK);
        printf("  %5lu %-12s %2lu bytes:", (unsigned long)pages[i], charset, (unsigned long)n);
        for (j = 0; j < n; j++)
            printf(" %02X", (unsigned char)out[j]);
        printf("\n");
        CHECK_HR(sess_codepage_decode(pages[i], out, n, back, sizeof back, NULL), SESS_S_OK);
        /* What a code page cannot hold went out as a character reference:
         * 1252 has no 日本, Shift_JIS and Big5 have no é. */
        if (pages[i] == 1252)
            CHECK(strcmp(back, "Caf\xC3\xA9 &#26085;&#26412;") == 0);
        else if (pages[i] == 932 || pages[i] == 950)
            CHECK(strcmp(back, "Caf&#233; \xE6\x97\xA5\xE6\x9C\xAC") == 0);
        else
            CHECK(strcmp(back, line) == 0);
    }
    CHECK_HR(sess_codepage_encode(1361, line, strlen(line), 0, NULL, 0, NULL),
             SESS_E_INVALID_CODEPAGE);
}

int main(void)
{
    sess_app *app = NULL;
    sess_session *s = NULL;

    CHECK_HR(sess_app_create(NULL, &app), SESS_S_OK);
    CHECK_HR(sess_session_create(app, &s), SESS_S_OK);
    store_values(s);
    under_locales(s);
    CHECK_HR(sess_session_close(s), SESS_S_OK);
    sess_app_release(app);
    in_code_pages();
    return check_summary();
}
