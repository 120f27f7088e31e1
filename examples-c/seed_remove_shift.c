/*
 * seed_remove_shift.c: the ASP reference's warning about indexes.
 *
 *   Session("strFirstName") = "Arthur"
 *   Session("strMiddleName") = "Keyton"
 *   Session("strLastName") = "Weissinger"
 *   Session.Contents.Remove("strMiddleName")
 *   strFirst = Session(1)       ' Initializes to "Arthur"
 *   strMiddle = Session(2)      ' Initializes to "Weissinger"
 *   strLast = Session(3)        ' Initializes to Undefined.
 *
 * Remove shifts the later items down one index. Where ASP silently gives an
 * undefined value for the old third index, libsess says
 * SESS_DISP_E_BADINDEX and leaves the output alone. (C indexes are 0-based:
 * ASP's Session(1) is index 0.)
 */
#include "check.h"

static void set_text(sess_session *s, const char *name, const char *text)
{
    sess_variant v;
    sess_variant_init(&v);
    CHECK_HR(sess_variant_set_bstr(&v, text, SIZE_MAX), SESS_S_OK);
    CHECK_HR(sess_value_set(s, name, &v), SESS_S_OK);
    printf("Session(\"%s\") = \"%s\"\n", name, text);
    sess_variant_clear(&v);
}

/* Prints Session(index) (0-based) and checks it is `expected`. */
static void expect_at(sess_session *s, size_t index, const char *expected)
{
    sess_variant v;
    char text[64];
    sess_variant_init(&v);
    CHECK_HR(sess_contents_get_at(s, index, &v), SESS_S_OK);
    CHECK(bstr_is(&v, expected));
    printf("  index %zu (ASP's Session(%zu)) = %s\n", index, index + 1, show(&v, text, sizeof text));
    sess_variant_clear(&v);
}

int main(void)
{
    sess_app *app = NULL;
    sess_session *s = NULL;
    sess_variant v;
    size_t count = 0, len = 0;
    char key[64] = "unchanged", text[64];

    CHECK_HR(sess_app_create(NULL, &app), SESS_S_OK);
    CHECK_HR(sess_session_create(app, &s), SESS_S_OK);
    sess_variant_init(&v);

    set_text(s, "strFirstName", "Arthur");
    set_text(s, "strMiddleName", "Keyton");
    set_text(s, "strLastName", "Weissinger");

    printf("By index, in the order they were added:\n");
    expect_at(s, 0, "Arthur");
    expect_at(s, 1, "Keyton");
    expect_at(s, 2, "Weissinger");

    /* strKeyName = Session.Contents.Key(3)
     * strKeyValue = Session.Contents.Item(strKeyName) */
    CHECK_HR(sess_contents_key_at(s, 2, key, sizeof key, &len), SESS_S_OK);
    CHECK(strcmp(key, "strLastName") == 0 && len == 11);
    CHECK_HR(sess_value_get(s, key, &v), SESS_S_OK);
    CHECK(bstr_is(&v, "Weissinger"));
    printf("Contents.Key(index 2) = %s, and Item(\"%s\") = %s\n", key, key, show(&v, text, sizeof text));

    printf("Session.Contents.Remove(\"strMiddleName\")\n");
    CHECK_HR(sess_contents_remove(s, "strMiddleName"), SESS_S_OK);
    CHECK_HR(sess_contents_count(s, &count), SESS_S_OK);
    CHECK(count == 2);
    expect_at(s, 0, "Arthur");
    expect_at(s, 1, "Weissinger"); /* moved down from index 2 */

    /* The old third index: ASP's "Undefined" is an error here. */
    CHECK_HR(sess_variant_set_bstr(&v, "before", SIZE_MAX), SESS_S_OK);
    CHECK_HR(sess_contents_get_at(s, 2, &v), SESS_DISP_E_BADINDEX);
    CHECK(bstr_is(&v, "before")); /* the output is not touched */
    strcpy(key, "unchanged");
    CHECK_HR(sess_contents_key_at(s, 2, key, sizeof key, NULL), SESS_DISP_E_BADINDEX);
    CHECK(strcmp(key, "unchanged") == 0);
    printf("  index 2 (ASP's Session(3)): SESS_DISP_E_BADINDEX, not an undefined value\n");

    /* Keys still find their values, wherever they moved: use keys. */
    CHECK_HR(sess_value_get(s, "strLastName", &v), SESS_S_OK);
    CHECK(bstr_is(&v, "Weissinger"));
    CHECK_HR(sess_value_get(s, "strMiddleName", &v), SESS_S_FALSE);
    CHECK(v.vt == SESS_VT_EMPTY);
    printf("  Session(\"strLastName\") is still %s; Session(\"strMiddleName\") is Empty\n",
           "\"Weissinger\"");

    /* The Remove example: the form data is no longer needed. */
    printf("Session.Contents.Remove(\"strFirstName\"), Remove(\"strLastName\")\n");
    CHECK_HR(sess_contents_remove(s, "strFirstName"), SESS_S_OK);
    CHECK_HR(sess_contents_remove(s, "strLastName"), SESS_S_OK);
    CHECK_HR(sess_contents_count(s, &count), SESS_S_OK);
    CHECK(count == 0);
    CHECK_HR(sess_contents_get_at(s, 0, &v), SESS_DISP_E_BADINDEX);
    printf("  Count = %zu\n", count);

    /* RemoveAll, and RemoveAt by index. */
    set_text(s, "a", "1");
    set_text(s, "b", "2");
    set_text(s, "c", "3");
    CHECK_HR(sess_contents_remove_at(s, 0), SESS_S_OK);
    expect_at(s, 0, "2");
    CHECK_HR(sess_contents_remove_at(s, 2), SESS_DISP_E_BADINDEX);
    CHECK_HR(sess_contents_remove_all(s), SESS_S_OK);
    CHECK_HR(sess_contents_count(s, &count), SESS_S_OK);
    CHECK(count == 0);
    printf("RemoveAt(0), then RemoveAll: Count = %zu\n", count);

    sess_variant_clear(&v);
    CHECK_HR(sess_session_close(s), SESS_S_OK);
    sess_app_release(app);
    return check_summary();
}
