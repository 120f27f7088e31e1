/*
 * seed_properties.c: the ASP reference's Timeout, LCID and CodePage examples.
 *
 *   Session.Timeout = 5
 *   intOrigLCID = Session.LCID : Session.LCID = 1036 ... Session.LCID = intOrigLCID
 *   uintOrigCodePage = Session.CodePage : Session.CodePage = 950 ... restore
 *
 * Each property function takes an optional new value (NULL: only read) and
 * an optional out (the value in force afterwards). A bad value is refused
 * with a clear error and the property keeps its value, where ASP raised
 * ASP 0219 (LCID) or ASP 0204 (CodePage).
 *
 * Unlike the reference's note that Timeout "affects all user sessions",
 * each session here has its own Timeout.
 */
#include "check.h"

static void timeout_example(sess_app *app, uint32_t max_minutes, char *id, size_t id_len)
{
    sess_session *s = NULL, *other = NULL;
    int32_t minutes = 0, bad;

    printf("Timeout\n");
    CHECK_HR(sess_session_create(app, &s), SESS_S_OK);
    CHECK_HR(sess_timeout(s, NULL, &minutes), SESS_S_OK);
    CHECK(minutes == 20);
    printf("  default: %ld minutes\n", (long)minutes);

    /* Session.Timeout = 5 */
    minutes = 5;
    CHECK_HR(sess_timeout(s, &minutes, NULL), SESS_S_OK);
    minutes = 0;
    CHECK_HR(sess_timeout(s, NULL, &minutes), SESS_S_OK);
    CHECK(minutes == 5);
    printf("  Session.Timeout = 5: now %ld minutes\n", (long)minutes);

    /* 0, negative and above the application's maximum are refused. */
    bad = 0;
    minutes = -7;
    CHECK_HR(sess_timeout(s, &bad, &minutes), SESS_E_INVALID_TIMEOUT);
    CHECK(minutes == -7); /* the out is written only on success */
    bad = -1;
    CHECK_HR(sess_timeout(s, &bad, NULL), SESS_E_INVALID_TIMEOUT);
    bad = (int32_t)max_minutes + 1;
    CHECK_HR(sess_timeout(s, &bad, NULL), SESS_E_INVALID_TIMEOUT);
    CHECK_HR(sess_timeout(s, NULL, &minutes), SESS_S_OK);
    CHECK(minutes == 5);
    printf("  Timeout = 0, -1, %ld: SESS_E_INVALID_TIMEOUT, still %ld\n", (long)bad, (long)minutes);

    /* The maximum itself is fine (the default maximum is a year). */
    bad = (int32_t)max_minutes;
    CHECK_HR(sess_timeout(s, &bad, &minutes), SESS_S_OK);
    CHECK(minutes == (int32_t)max_minutes);
    minutes = 5;
    CHECK_HR(sess_timeout(s, &minutes, NULL), SESS_S_OK);

    /* Timeout is the session's own: another session keeps the default. */
    CHECK_HR(sess_session_create(app, &other), SESS_S_OK);
    CHECK_HR(sess_timeout(other, NULL, &minutes), SESS_S_OK);
    CHECK(minutes == 20);
    printf("  another session still has %ld minutes\n", (long)minutes);
    CHECK_HR(sess_session_close(other), SESS_S_OK);

    CHECK_HR(sess_session_id(s, id, id_len, NULL), SESS_S_OK);
    CHECK_HR(sess_session_close(s), SESS_S_OK);
}

/* 2024-01-15 12:00 as text under `lcid` (into buf); it must read back as
 * the same date under the same LCID. */
static const char *date_text(uint32_t lcid, char *buf, size_t len)
{
    sess_variant date, text, back;
    sess_variant_init(&date);
    sess_variant_init(&text);
    sess_variant_init(&back);
    date.vt = SESS_VT_DATE;
    date.v.date = 45306.5;
    buf[0] = '\0';
    if (CHECK_HR(sess_variant_change_type(&text, &date, lcid, 0, SESS_VT_BSTR), SESS_S_OK)) {
        snprintf(buf, len, "%s", text.v.bstrVal.ptr ? text.v.bstrVal.ptr : "");
        CHECK_HR(sess_variant_change_type(&back, &text, lcid, 0, SESS_VT_DATE), SESS_S_OK);
        CHECK(back.vt == SESS_VT_DATE && back.v.date == 45306.5);
    }
    sess_variant_clear(&text);
    return buf;
}

/* The seed: "dates would be formatted using the Day/Month/Year format". */
static void show_french_date(uint32_t lcid)
{
    char french[64], english[64];
    printf("  2024-01-15 12:00 under LCID %lu: \"%s\"\n", (unsigned long)lcid,
           date_text(lcid, french, sizeof french));
    if (strcmp(french, date_text(0x0409, english, sizeof english)) == 0)
        printf("  (note: this libsess has no French locale data yet; en-US text is used)\n");
}

static void lcid_example(sess_app *app, const char *id)
{
    sess_session *s = NULL;
    uint32_t intOrigLCID = 0, intFrenchLCID = 1036, lcid = 0, bad;

    printf("LCID\n");
    CHECK_HR(sess_session_open(app, id, 0, &s), SESS_S_OK);
    /* intOrigLCID = Session.LCID */
    CHECK_HR(sess_lcid(s, NULL, &intOrigLCID), SESS_S_OK);
    CHECK(intOrigLCID == 1033);
    printf("  intOrigLCID = %lu (en-US)\n", (unsigned long)intOrigLCID);

    /* Session.LCID = intFrenchLCID */
    CHECK_HR(sess_lcid(s, &intFrenchLCID, &lcid), SESS_S_OK);
    CHECK(lcid == 1036);
    printf("  Session.LCID = 1036 (French): now %lu\n", (unsigned long)lcid);
    show_french_date(lcid);

    /* An LCID Windows does not define: ASP 0219, here SESS_E_INVALID_LCID. */
    bad = 0xABCD;
    CHECK_HR(sess_lcid(s, &bad, &lcid), SESS_E_INVALID_LCID);
    bad = 0x0C00;
    CHECK_HR(sess_lcid(s, &bad, NULL), SESS_E_INVALID_LCID);
    CHECK_HR(sess_lcid(s, NULL, &lcid), SESS_S_OK);
    CHECK(lcid == 1036);
    printf("  Session.LCID = 0xABCD: SESS_E_INVALID_LCID, still %lu\n", (unsigned long)lcid);

    /* Session.LCID = intOrigLCID */
    CHECK_HR(sess_lcid(s, &intOrigLCID, &lcid), SESS_S_OK);
    CHECK(lcid == 1033);
    printf("  Session.LCID = intOrigLCID: back to %lu\n", (unsigned long)lcid);
    CHECK_HR(sess_session_close(s), SESS_S_OK);
}

/*
 * What CodePage is for: "the text sent to the browser uses the Chinese
 * character set". The page's UTF-8 text is encoded in the session's code
 * page, and the Content-Type header names its charset.
 */
static void send_text(sess_session *s, const char *charset, const char *bytes, size_t n)
{
    static const char text[] = "\xE4\xB8\xAD\xE6\x96\x87"; /* "Chinese", in Chinese */
    uint32_t cp = 0;
    char name[32] = "", out[64];
    size_t len = 0, i;
    CHECK_HR(sess_codepage(s, NULL, &cp), SESS_S_OK);
    CHECK_HR(sess_codepage_charset(cp, name, sizeof name, NULL), SESS_S_OK);
    CHECK(strcmp(name, charset) == 0);
    CHECK_HR(sess_codepage_encode(cp, text, sizeof text - 1, 0, out, sizeof out, &len), SESS_S_OK);
    CHECK(len == n && memcmp(out, bytes, n) == 0);
    printf("    Content-Type: text/html; charset=%s -- \"%s\" is sent as", name, text);
    for (i = 0; i < len && i < sizeof out; i++)
        printf(" %02X", (unsigned char)out[i]);
    printf("\n");
}

static void codepage_example(sess_app *app, const char *id)
{
    sess_session *s = NULL;
    uint32_t uintOrigCodePage = 0, uintChineseCodePage = 950, cp = 0, bad;
    uint32_t american = 1252, japanese = 932;

    printf("CodePage\n");
    CHECK_HR(sess_session_open(app, id, 0, &s), SESS_S_OK);
    CHECK_HR(sess_codepage(s, NULL, &cp), SESS_S_OK);
    CHECK(cp == 65001); /* libsess's default is UTF-8 */
    /* "Assume that the original code page setting is 1252". */
    CHECK_HR(sess_codepage(s, &american, NULL), SESS_S_OK);

    /* uintOrigCodePage = Session.CodePage */
    CHECK_HR(sess_codepage(s, NULL, &uintOrigCodePage), SESS_S_OK);
    CHECK(uintOrigCodePage == 1252);
    printf("  uintOrigCodePage = %lu (American English)\n", (unsigned long)uintOrigCodePage);
    /* What 1252 cannot hold is written as HTML character references. */
    send_text(s, "windows-1252", "&#20013;&#25991;", 16);

    /* Session.CodePage = uintChineseCodePage */
    CHECK_HR(sess_codepage(s, &uintChineseCodePage, &cp), SESS_S_OK);
    CHECK(cp == 950);
    printf("  Session.CodePage = 950 (Chinese): now %lu\n", (unsigned long)cp);
    send_text(s, "Big5", "\xA4\xA4\xA4\xE5", 4);

    /* A code page nothing can encode: ASP 0204, here SESS_E_INVALID_CODEPAGE. */
    bad = 1;
    CHECK_HR(sess_codepage(s, &bad, &cp), SESS_E_INVALID_CODEPAGE);
    bad = 70000;
    CHECK_HR(sess_codepage(s, &bad, NULL), SESS_E_INVALID_CODEPAGE);
    CHECK_HR(sess_codepage(s, NULL, &cp), SESS_S_OK);
    CHECK(cp == 950);
    printf("  Session.CodePage = 1: SESS_E_INVALID_CODEPAGE, still %lu\n", (unsigned long)cp);

    CHECK_HR(sess_codepage(s, &japanese, &cp), SESS_S_OK);
    CHECK(cp == 932);
    printf("  Session.CodePage = 932 (Japanese Kanji): now %lu\n", (unsigned long)cp);
    send_text(s, "Shift_JIS", "\x92\x86\x95\xB6", 4);

    /* Session.CodePage = uintOrigCodePage */
    CHECK_HR(sess_codepage(s, &uintOrigCodePage, &cp), SESS_S_OK);
    CHECK(cp == 1252);
    printf("  Session.CodePage = uintOrigCodePage: back to %lu\n", (unsigned long)cp);
    CHECK_HR(sess_session_close(s), SESS_S_OK);
}

/* The properties are kept with the session from one request to the next. */
static void properties_persist(sess_app *app, const char *id)
{
    sess_session *s = NULL;
    int32_t minutes = 0;
    uint32_t lcid = 0, cp = 0;
    CHECK_HR(sess_session_open(app, id, SESS_OPEN_READONLY, &s), SESS_S_OK);
    CHECK_HR(sess_timeout(s, NULL, &minutes), SESS_S_OK);
    CHECK_HR(sess_lcid(s, NULL, &lcid), SESS_S_OK);
    CHECK_HR(sess_codepage(s, NULL, &cp), SESS_S_OK);
    CHECK(minutes == 5 && lcid == 1033 && cp == 1252);
    printf("Next request: Timeout %ld, LCID %lu, CodePage %lu\n", (long)minutes,
           (unsigned long)lcid, (unsigned long)cp);
    CHECK_HR(sess_session_close(s), SESS_S_OK);
}

int main(void)
{
    sess_app_options opts;
    sess_app *app = NULL;
    char id[SESS_ID_LEN + 1];

    CHECK_HR(sess_app_options_init(&opts), SESS_S_OK);
    CHECK_HR(sess_app_create(&opts, &app), SESS_S_OK);
    timeout_example(app, opts.max_timeout_minutes, id, sizeof id);
    lcid_example(app, id);
    codepage_example(app, id);
    properties_persist(app, id);
    sess_app_release(app);
    return check_summary();
}
