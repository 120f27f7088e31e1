/*
 * seed_array.c: the ASP reference's Session array example.
 *
 *   ReDim arystrNames(3)
 *   arystrNames(0) = "Chris" ... arystrNames(3) = "Kelly"
 *   Session.Contents("arystrUserNames") = arystrNames
 *   arystrNames2 = Session("arystrUserNames")
 *   arystrNames2(1) = "Mark"
 *   Session("arystrUserNames") = arystrNames2
 *
 * Arrays are stored by value: the session keeps its own copy, and reading
 * gives the caller another copy. Changing a copy changes nothing stored
 * until the whole array is stored back.
 */
#include "check.h"

/* Element `index` of the array held by `v`, as text. */
static const char *element(const sess_variant *v, size_t index, char *buf, size_t len)
{
    sess_variant e;
    sess_variant_init(&e);
    buf[0] = '\0';
    if (CHECK(v->vt == (SESS_VT_ARRAY | SESS_VT_VARIANT))
        && CHECK_HR(sess_array_get(v->v.parray, index, &e), SESS_S_OK) && CHECK(e.vt == SESS_VT_BSTR))
        snprintf(buf, len, "%s", e.v.bstrVal.ptr);
    sess_variant_clear(&e);
    return buf;
}

/* Session("arystrUserNames")(index) */
static const char *stored_element(sess_session *s, size_t index, char *buf, size_t len)
{
    sess_variant v;
    sess_variant_init(&v);
    CHECK_HR(sess_value_get(s, "arystrUserNames", &v), SESS_S_OK);
    element(&v, index, buf, len);
    sess_variant_clear(&v);
    return buf;
}

static void set_name(sess_array *a, size_t index, const char *name)
{
    sess_variant v;
    sess_variant_init(&v);
    CHECK_HR(sess_variant_set_bstr(&v, name, SIZE_MAX), SESS_S_OK);
    CHECK_HR(sess_array_set(a, index, &v), SESS_S_OK); /* the array gets a copy */
    sess_variant_clear(&v);
}

int main(void)
{
    static const char *const names[4] = {"Chris", "Julie", "Vlad", "Kelly"};
    sess_app *app = NULL;
    sess_session *s = NULL;
    sess_array *arystrNames = NULL;
    sess_variant v, arystrNames2;
    size_t i, len = 0;
    char text[128];

    CHECK_HR(sess_app_create(NULL, &app), SESS_S_OK);
    CHECK_HR(sess_session_create(app, &s), SESS_S_OK);
    sess_variant_init(&v);
    sess_variant_init(&arystrNames2);

    /* ReDim arystrNames(3): VBScript's bound 3 means 4 elements, 0..3. */
    CHECK_HR(sess_array_create(4, &arystrNames), SESS_S_OK);
    for (i = 0; i < 4; i++)
        set_name(arystrNames, i, names[i]);

    /* Session.Contents("arystrUserNames") = arystrNames. A variant that
     * wraps the array owns it; here we only lend it for the call (the
     * session stores a deep copy) and keep ownership ourselves. */
    v.vt = SESS_VT_ARRAY | SESS_VT_VARIANT;
    v.v.parray = arystrNames;
    CHECK_HR(sess_value_set(s, "arystrUserNames", &v), SESS_S_OK);
    printf("Session(\"arystrUserNames\") = %s\n", show(&v, text, sizeof text));
    sess_variant_init(&v); /* forget the borrowed pointer; we still own the array */

    printf("The second name in the User Names array is %s\n", stored_element(s, 1, text, sizeof text));
    CHECK(strcmp(text, "Julie") == 0);

    /* Changing our original array does not reach the stored copy. */
    set_name(arystrNames, 1, "Changed");
    CHECK(strcmp(stored_element(s, 1, text, sizeof text), "Julie") == 0);
    printf("After changing the original array, the stored one still says %s\n", text);
    sess_array_destroy(arystrNames);

    /* arystrNames2 = Session("arystrUserNames"): a copy, owned by us. */
    CHECK_HR(sess_value_get(s, "arystrUserNames", &arystrNames2), SESS_S_OK);
    CHECK_HR(sess_array_length(arystrNames2.v.parray, &len), SESS_S_OK);
    CHECK(len == 4);
    /* arystrNames2(1) = "Mark" */
    set_name(arystrNames2.v.parray, 1, "Mark");
    CHECK(strcmp(element(&arystrNames2, 1, text, sizeof text), "Mark") == 0);
    CHECK(strcmp(stored_element(s, 1, text, sizeof text), "Julie") == 0);
    printf("arystrNames2(1) = \"Mark\": the copy says Mark, the session still says %s\n", text);

    /* Session("arystrUserNames") = arystrNames2: store the whole array back. */
    CHECK_HR(sess_value_set(s, "arystrUserNames", &arystrNames2), SESS_S_OK);
    CHECK(strcmp(stored_element(s, 1, text, sizeof text), "Mark") == 0);
    printf("Stored back: now, the second name in the User Names array is %s\n", text);
    CHECK(strcmp(stored_element(s, 0, text, sizeof text), "Chris") == 0);
    CHECK(strcmp(stored_element(s, 3, text, sizeof text), "Kelly") == 0);

    /* Session.Contents(1)(0): ASP's Contents(1) is the first item, index 0
     * in C; the array inside is 0-based in both. */
    CHECK_HR(sess_contents_get_at(s, 0, &v), SESS_S_OK);
    printf("Session.Contents(1)(0) -- index 0, element 0 in C -- is %s\n",
           element(&v, 0, text, sizeof text));
    CHECK(strcmp(text, "Chris") == 0);
    /* Arrays keep their length: element 4 does not exist. */
    CHECK_HR(sess_array_get(v.v.parray, 4, &arystrNames2), SESS_DISP_E_BADINDEX);
    CHECK_HR(sess_array_set(v.v.parray, 4, &arystrNames2), SESS_DISP_E_BADINDEX);

    sess_variant_clear(&v);
    sess_variant_clear(&arystrNames2);
    CHECK_HR(sess_session_close(s), SESS_S_OK);
    sess_app_release(app);
    return check_summary();
}
