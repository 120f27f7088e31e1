/*
 * seed_contents_pages.c: the ASP reference's Contents example, two pages.
 *
 * SessionPage1.asp stores SessionVar1..3 and redirects; SessionPage2.asp
 * lists Count, every key and value, sets AppStatus, then reads the first
 * three items by index. Here each page is one unit of work: page 1 creates
 * the session, page 2 opens it by the ID the cookie would carry.
 *
 * ASP's Contents indexes start at 1; the C API's start at 0, so ASP's
 * Session.Contents(1) is index 0 here. An index past the end is an error
 * (SESS_DISP_E_BADINDEX), never an undefined value.
 */
#include "check.h"
#include "object.h"

/* SessionPage1.asp */
static void session_page1(sess_app *app, char *id, size_t id_len)
{
    static const char *const values[3] = {"Session Variable 1", "Session Variable 2",
                                          "Session Variable 3"};
    static const char *const names[3] = {"SessionVar1", "SessionVar2", "SessionVar3"};
    sess_session *s = NULL;
    sess_variant v;
    int i;

    printf("SessionPage1.asp\n");
    CHECK_HR(sess_session_create(app, &s), SESS_S_OK);
    sess_variant_init(&v);
    /* Session.Content.Item("SessionVar1") = strVar1, Session.Content("SessionVar2")
     * = strVar2 and Session("SessionVar3") = strVar3 are all this call. */
    for (i = 0; i < 3; i++) {
        CHECK_HR(sess_variant_set_bstr(&v, values[i], SIZE_MAX), SESS_S_OK);
        CHECK_HR(sess_value_set(s, names[i], &v), SESS_S_OK);
        printf("  Session(\"%s\") = \"%s\"\n", names[i], values[i]);
    }
    sess_variant_clear(&v);
    CHECK_HR(sess_session_id(s, id, id_len, NULL), SESS_S_OK);
    CHECK_HR(sess_session_close(s), SESS_S_OK);
    printf("  Response.Redirect SessionPage2.asp (the cookie carries the SessionID)\n\n");
}

/* SessionPage2.asp */
static void session_page2(sess_app *app, const char *id)
{
    sess_session *s = NULL;
    sess_variant keys, key, value;
    size_t count = 0, n = 0, i;
    char text[128], name[64];
    demo_object *component;

    printf("SessionPage2.asp\n");
    CHECK_HR(sess_session_open(app, id, 0, &s), SESS_S_OK);
    sess_variant_init(&keys);
    sess_variant_init(&key);
    sess_variant_init(&value);

    /* intContentsCount = Session.Contents.Count */
    CHECK_HR(sess_contents_count(s, &count), SESS_S_OK);
    CHECK(count == 3);
    printf("  There are %zu items in the Session's Contents collection.\n", count);

    /* For Each strKey in Session.Contents ... Session.Contents(strKey) */
    CHECK_HR(sess_contents_keys(s, &keys), SESS_S_OK);
    CHECK_HR(sess_array_length(keys.v.parray, &n), SESS_S_OK);
    CHECK(n == 3);
    for (i = 0; i < n; i++) {
        CHECK_HR(sess_array_get(keys.v.parray, i, &key), SESS_S_OK);
        CHECK(key.vt == SESS_VT_BSTR);
        CHECK_HR(sess_value_get(s, key.v.bstrVal.ptr, &value), SESS_S_OK);
        snprintf(name, sizeof name, "SessionVar%zu", i + 1);
        CHECK(bstr_is(&key, name));
        printf("  The next item in Session's Contents collection has %s as its key and %s "
               "as its value.\n", key.v.bstrVal.ptr, show(&value, text, sizeof text));
    }

    /* Session("AppStatus") = "Page2...InProcess..." (creates it: it is new) */
    CHECK_HR(sess_variant_set_bstr(&value, "Page2...InProcess...", SIZE_MAX), SESS_S_OK);
    CHECK_HR(sess_value_set(s, "AppStatus", &value), SESS_S_OK);
    CHECK_HR(sess_contents_count(s, &count), SESS_S_OK);
    CHECK(count == 4);
    printf("  Session(\"AppStatus\") = \"Page2...InProcess...\": Count is now %zu\n", count);

    /* For intCounter = 1 to 3: Session.Contents(intCounter) -- 0 to 2 here. */
    printf("  The first three elements of the Session's Contents collection are as follows:\n");
    for (i = 0; i < 3; i++) {
        snprintf(name, sizeof name, "Session Variable %zu", i + 1);
        CHECK_HR(sess_contents_get_at(s, i, &value), SESS_S_OK);
        CHECK(bstr_is(&value, name));
        printf("    %s\n", show(&value, text, sizeof text));
    }
    /* A second trip: Key(i), then Item(key), as the reference shows for Key. */
    printf("  A second trip through the first three items (Key, then Item(key)):\n");
    for (i = 0; i < 3; i++) {
        CHECK_HR(sess_contents_key_at(s, i, name, sizeof name, NULL), SESS_S_OK);
        CHECK_HR(sess_value_get(s, name, &value), SESS_S_OK);
        CHECK(value.vt == SESS_VT_BSTR && strncmp(value.v.bstrVal.ptr, "Session Variable ", 17) == 0);
        printf("    %s = %s\n", name, show(&value, text, sizeof text));
    }
    /* The fourth item (ASP's Contents(4)) is AppStatus; past it, an error. */
    CHECK_HR(sess_contents_get_at(s, 3, &value), SESS_S_OK);
    CHECK(bstr_is(&value, "Page2...InProcess..."));
    CHECK_HR(sess_contents_get_at(s, 4, &value), SESS_DISP_E_BADINDEX);
    CHECK(bstr_is(&value, "Page2...InProcess...")); /* untouched on error */
    printf("  Contents index 4 (ASP's 5): SESS_DISP_E_BADINDEX\n");

    /* Set objMyComponent = Server.CreateObject("MyComp.clsSpecial")
     * Session("objRef") = objMyComponent
     * Session("objRef").PrintDoc */
    component = demo_new("MyComp.clsSpecial");
    CHECK_HR(sess_variant_clear(&value), SESS_S_OK); /* it held a string */
    value.vt = SESS_VT_UNKNOWN;
    value.v.punkVal = &component->base; /* the variant owns our reference */
    CHECK_HR(sess_value_set(s, "objRef", &value), SESS_S_OK);
    CHECK_HR(sess_variant_clear(&value), SESS_S_OK);
    CHECK_HR(sess_value_get(s, "OBJREF", &value), SESS_S_OK);
    CHECK(value.vt == SESS_VT_UNKNOWN && value.v.punkVal == &component->base);
    printf("  Session(\"objRef\").PrintDoc: printing from %s\n",
           demo_get_name(demo_from(value.v.punkVal), text, sizeof text));
    CHECK_HR(sess_variant_clear(&value), SESS_S_OK);

    sess_variant_clear(&keys);
    sess_variant_clear(&key);
    CHECK_HR(sess_session_close(s), SESS_S_OK);
}

int main(void)
{
    sess_app *app = NULL;
    char id[SESS_ID_LEN + 1];

    CHECK_HR(sess_app_create(NULL, &app), SESS_S_OK);
    session_page1(app, id, sizeof id);
    session_page2(app, id);
    CHECK(demo_alive() == 1); /* objRef, held by the stored session */
    sess_app_release(app);    /* application end: the session ends too */
    CHECK(demo_alive() == 0);
    return check_summary();
}
