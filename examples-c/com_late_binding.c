/*
 * com_late_binding.c: the Session driven the way a late-bound script host
 * (VBScript under ASP, X++'s COM class) drives it: the host gets the
 * session handle (sess_session_create / _open) and ends it
 * (sess_session_close); everything in between goes through the object
 * sess_session_interface hands out: QueryInterface for IDispatch, then
 * get_ids_of_names and invoke by name. The ASP lines each step stands for
 * are in the comments (seed 004's pages).
 */
#include "object.h"

/* ---- A tiny late-bound host: names in, variants out. ------------------ */

/* IDispatch of any object (QueryInterface; the caller releases it). */
static sess_dispatch *dispatch_of(sess_unknown *u)
{
    void *p = NULL;
    CHECK_HR(u->vtbl->query_interface(u, &SESS_IID_IDISPATCH, &p), SESS_S_OK);
    return (sess_dispatch *)p;
}

static void release(sess_dispatch *d)
{
    if (d != NULL)
        d->vtbl->release(d);
}

static int32_t dispid_of(sess_dispatch *d, const char *name)
{
    int32_t id = SESS_DISPID_UNKNOWN;
    CHECK_HR(d->vtbl->get_ids_of_names(d, &name, 1, 0, &id), SESS_S_OK);
    return id;
}

/* As a script host resolves a name: a failure is the call's failure. */
static sess_result resolve(sess_dispatch *d, const char *name, int32_t *id)
{
    return d->vtbl->get_ids_of_names(d, &name, 1, 0, id);
}

/*
 * obj.name(args...) [= put]: `args` in source order (reversed for invoke, as
 * COM passes them); `put` non-NULL makes a property put. `*result` (may be
 * NULL) is initialised and receives a get's value.
 */
static sess_result call(sess_dispatch *d, const char *name, uint16_t flags, const sess_variant *args,
                        uint32_t n, const sess_variant *put, sess_variant *result)
{
    sess_variant rev[4];
    int32_t named = SESS_DISPID_PROPERTYPUT;
    sess_dispparams params;
    uint32_t i, count = 0, arg_err = 0;
    int32_t id = SESS_DISPID_UNKNOWN;
    sess_result rc = resolve(d, name, &id);

    if (rc < 0)
        return rc;

    if (put != NULL)
        rev[count++] = *put; /* borrowed: the library only reads arguments */
    for (i = n; i > 0; i--)
        rev[count++] = args[i - 1];
    params.args = rev;
    params.named_args = put != NULL ? &named : NULL;
    params.arg_count = count;
    params.named_count = put != NULL ? 1 : 0;
    return d->vtbl->invoke(d, id, 0, flags, &params, result, &arg_err);
}

#define GET (SESS_DISPATCH_PROPERTYGET | SESS_DISPATCH_METHOD)

static sess_variant text(const char *s)
{
    sess_variant v;
    sess_variant_init(&v);
    CHECK_HR(sess_variant_set_bstr(&v, s, SIZE_MAX), SESS_S_OK);
    return v;
}

static sess_variant i4(int32_t n)
{
    sess_variant v;
    sess_variant_init(&v);
    v.vt = SESS_VT_I4;
    v.v.lVal = n;
    return v;
}

/* Session(key) = value, by the default member (no name lookup: DISPID 0). */
static void session_put(sess_dispatch *s, const sess_variant *key, const sess_variant *value)
{
    int32_t named = SESS_DISPID_PROPERTYPUT;
    sess_variant rev[2];
    sess_dispparams p;
    char a[64], b[64];
    rev[0] = *value; /* the put's value first, then the arguments reversed */
    rev[1] = *key;
    p.args = rev;
    p.named_args = &named;
    p.arg_count = 2;
    p.named_count = 1;
    CHECK_HR(s->vtbl->invoke(s, SESS_DISPID_VALUE, 0, SESS_DISPATCH_PROPERTYPUT, &p, NULL, NULL),
             SESS_S_OK);
    printf("Session(%s) = %s\n", show(key, a, sizeof a), show(value, b, sizeof b));
}

/* Checks obj.name(key) (a get) is the text `expected`. */
static void expect_text(sess_dispatch *d, const char *name, sess_variant key, const char *expected)
{
    sess_variant out;
    char a[64], b[64];
    sess_variant_init(&out);
    CHECK_HR(call(d, name, GET, &key, 1, NULL, &out), SESS_S_OK);
    CHECK(bstr_is(&out, expected));
    printf("  %s(%s) = %s\n", name, show(&key, a, sizeof a), show(&out, b, sizeof b));
    sess_variant_clear(&out);
    sess_variant_clear(&key);
}

/* obj.name as an int (Timeout, LCID, CodePage, Count). */
static int32_t get_int(sess_dispatch *d, const char *name)
{
    sess_variant out;
    sess_variant_init(&out);
    CHECK_HR(call(d, name, GET, NULL, 0, NULL, &out), SESS_S_OK);
    CHECK(out.vt == SESS_VT_I4);
    return out.v.lVal;
}

/* obj.name, an object property (Contents, StaticObjects), as IDispatch. */
static sess_dispatch *get_object(sess_dispatch *d, const char *name)
{
    sess_variant out;
    sess_dispatch *r;
    sess_variant_init(&out);
    CHECK_HR(call(d, name, GET, NULL, 0, NULL, &out), SESS_S_OK);
    CHECK(out.vt == SESS_VT_DISPATCH && out.v.punkVal != NULL);
    r = dispatch_of(out.v.punkVal);
    sess_variant_clear(&out);
    return r;
}

/* Element `index` of the array the get obj.name(key) returns is `expected`. */
static void expect_element(sess_dispatch *d, const char *name, const char *key, size_t index,
                           const char *expected)
{
    sess_variant k = text(key), out, e;
    sess_variant_init(&out);
    sess_variant_init(&e);
    CHECK_HR(call(d, name, GET, &k, 1, NULL, &out), SESS_S_OK);
    if (CHECK(out.vt == (SESS_VT_ARRAY | SESS_VT_VARIANT)))
        CHECK_HR(sess_array_get(out.v.parray, index, &e), SESS_S_OK);
    CHECK(bstr_is(&e, expected));
    printf("  %s(\"%s\")(%zu) = \"%s\"\n", name, key, index, expected);
    sess_variant_clear(&e);
    sess_variant_clear(&out);
    sess_variant_clear(&k);
}

/* ---- The static object factory (GLOBAL.ASA's <OBJECT SCOPE=Session>). -- */

static sess_result make_demo(void *context, const char *name, sess_unknown **out)
{
    demo_object *o = demo_new(name);
    (void)context;
    if (o == NULL)
        return SESS_E_OUTOFMEMORY;
    *out = &o->base;
    return SESS_S_OK;
}

/* ---- The pages. -------------------------------------------------------- */

/* Page 1: a new session; the Session object's identity and its properties. */
static void page_one(sess_app *app, char *id, size_t id_len)
{
    sess_session *s = NULL;
    sess_unknown *unk = NULL;
    sess_session_object *so = NULL;
    sess_dispatch *d;
    sess_variant out, k, v;
    void *p = NULL;
    int32_t id_unknown = 0;
    const char *bad = "Nonsense";
    uint32_t arg_err = 99;
    sess_dispparams params;
    sess_variant soon;

    printf("== page 1: a new session, driven by name\n");
    CHECK_HR(sess_session_create(app, &s), SESS_S_OK);
    CHECK_HR(sess_session_interface(s, &unk), SESS_S_OK);

    /* IUnknown: the same object for each interface it has, counted. */
    CHECK_HR(unk->vtbl->query_interface(unk, &SESS_IID_ISESSIONOBJECT, &p), SESS_S_OK);
    so = (sess_session_object *)p;
    CHECK((void *)so == (void *)unk);
    CHECK_HR(unk->vtbl->query_interface(unk, &SESS_IID_IENUMVARIANT, &p), SESS_E_NOINTERFACE);
    CHECK(p == NULL);
    d = dispatch_of(unk);
    CHECK(unk->vtbl->add_ref(unk) == 4); /* interface(), ISessionObject, IDispatch, this */
    CHECK(unk->vtbl->release(unk) == 3);
    CHECK(so->vtbl->release(so) == 2);

    /* Names are case-insensitive; unknown ones say so. */
    CHECK(dispid_of(d, "TIMEOUT") == SESS_DISPID_SESSION_TIMEOUT);
    CHECK(dispid_of(d, "value") == SESS_DISPID_VALUE);
    CHECK_HR(d->vtbl->get_ids_of_names(d, &bad, 1, 0, &id_unknown), SESS_DISP_E_UNKNOWNNAME);
    CHECK(id_unknown == SESS_DISPID_UNKNOWN);

    /* Session("strFirstName") = "Arthur" ... (seed 004) */
    k = text("strFirstName"), v = text("Arthur");
    session_put(d, &k, &v);
    sess_variant_clear(&k), sess_variant_clear(&v);
    k = text("strMiddleName"), v = text("Keyton");
    session_put(d, &k, &v);
    sess_variant_clear(&k), sess_variant_clear(&v);
    k = text("strLastName"), v = text("Weissinger");
    session_put(d, &k, &v);
    sess_variant_clear(&k), sess_variant_clear(&v);
    expect_text(d, "Value", text("STRFIRSTNAME"), "Arthur");
    expect_text(d, "Value", i4(2), "Keyton"); /* Session(2) */

    /* Arrays are stored by value (seed 004):
         Session.Contents("arystrUserNames") = arystrNames
         arystrNames2 = Session("arystrUserNames")
         arystrNames2(1) = "Mark"        ' changes only the copy
         Session("arystrUserNames") = arystrNames2 */
    {
        const char *names[4] = {"Chris", "Julie", "Vanessa", "Kelly"};
        sess_variant arr, copy, key = text("arystrUserNames");
        size_t i;
        sess_variant_init(&arr);
        sess_variant_init(&copy);
        arr.vt = SESS_VT_ARRAY | SESS_VT_VARIANT;
        CHECK_HR(sess_array_create(4, &arr.v.parray), SESS_S_OK);
        for (i = 0; i < 4; i++) {
            v = text(names[i]);
            CHECK_HR(sess_array_set(arr.v.parray, i, &v), SESS_S_OK);
            sess_variant_clear(&v);
        }
        CHECK_HR(call(d, "Contents", SESS_DISPATCH_PROPERTYPUT, &key, 1, &arr, NULL), SESS_S_OK);
        CHECK_HR(call(d, "Value", GET, &key, 1, NULL, &copy), SESS_S_OK);
        v = text("Mark");
        if (CHECK(copy.vt == (SESS_VT_ARRAY | SESS_VT_VARIANT)))
            CHECK_HR(sess_array_set(copy.v.parray, 1, &v), SESS_S_OK);
        sess_variant_clear(&v);
        expect_element(d, "Value", "arystrUserNames", 1, "Julie");
        session_put(d, &key, &copy);
        expect_element(d, "Value", "arystrUserNames", 1, "Mark");
        CHECK_HR(call(d, "Contents", SESS_DISPATCH_METHOD, NULL, 0, NULL, NULL),
                 SESS_DISP_E_MEMBERNOTFOUND);
        /* Leave the three names alone for page 2. */
        {
            sess_dispatch *c = get_object(d, "Contents");
            CHECK_HR(call(c, "Remove", SESS_DISPATCH_METHOD, &key, 1, NULL, NULL), SESS_S_OK);
            release(c);
        }
        sess_variant_clear(&copy);
        sess_variant_clear(&arr);
        sess_variant_clear(&key);
    }

    /* Session.Timeout = 30; a bad Timeout is refused and names the argument. */
    v = i4(30);
    CHECK_HR(call(d, "Timeout", SESS_DISPATCH_PROPERTYPUT, NULL, 0, &v, NULL), SESS_S_OK);
    CHECK(get_int(d, "timeout") == 30);
    soon = text("soon");
    params.args = &soon;
    params.named_args = &id_unknown;
    id_unknown = SESS_DISPID_PROPERTYPUT;
    params.arg_count = 1;
    params.named_count = 1;
    CHECK_HR(d->vtbl->invoke(d, SESS_DISPID_SESSION_TIMEOUT, 0, SESS_DISPATCH_PROPERTYPUT, &params,
                             NULL, &arg_err),
             SESS_DISP_E_TYPEMISMATCH);
    CHECK(arg_err == 0);
    sess_variant_clear(&soon);
    v = i4(0);
    CHECK_HR(call(d, "Timeout", SESS_DISPATCH_PROPERTYPUT, NULL, 0, &v, NULL),
             SESS_E_INVALID_TIMEOUT);
    CHECK(get_int(d, "Timeout") == 30);
    printf("Session.Timeout = %d\n", (int)get_int(d, "Timeout"));

    /* Session.LCID = 1036 (French); Session.CodePage = 65001 (UTF-8). */
    v = i4(1036);
    CHECK_HR(call(d, "LCID", SESS_DISPATCH_PROPERTYPUT, NULL, 0, &v, NULL), SESS_S_OK);
    CHECK(get_int(d, "lcid") == 1036);
    v = i4(12345);
    CHECK_HR(call(d, "LCID", SESS_DISPATCH_PROPERTYPUT, NULL, 0, &v, NULL), SESS_E_INVALID_LCID);
    v = i4(65001);
    CHECK_HR(call(d, "CodePage", SESS_DISPATCH_PROPERTYPUT, NULL, 0, &v, NULL), SESS_S_OK);
    CHECK(get_int(d, "CodePage") == 65001);
    printf("Session.LCID = %d, Session.CodePage = %d\n", (int)get_int(d, "LCID"),
           (int)get_int(d, "CodePage"));

    /* The wrong kind of call, or count. */
    CHECK_HR(call(d, "SessionID", SESS_DISPATCH_PROPERTYPUT, NULL, 0, &v, NULL),
             SESS_DISP_E_MEMBERNOTFOUND);
    CHECK_HR(call(d, "Timeout", GET, &v, 1, NULL, NULL), SESS_DISP_E_BADPARAMCOUNT);

    /* Response.Write Session.SessionID: the cookie's value for page 2. */
    sess_variant_init(&out);
    CHECK_HR(call(d, "SessionID", GET, NULL, 0, NULL, &out), SESS_S_OK);
    CHECK(out.vt == SESS_VT_BSTR && out.v.bstrVal.len == SESS_ID_LEN && out.v.bstrVal.len < id_len);
    if (out.vt == SESS_VT_BSTR && out.v.bstrVal.len < id_len)
        memcpy(id, out.v.bstrVal.ptr, out.v.bstrVal.len + 1);
    printf("Session.SessionID = %s\n", id);
    sess_variant_clear(&out);

    release(d);
    CHECK(unk->vtbl->release(unk) == 0);
    CHECK_HR(sess_session_close(s), SESS_S_OK);
}

/* Page 2: the same session by its ID: Contents, For Each, StaticObjects. */
static void page_two(sess_app *app, const char *id)
{
    sess_session *s = NULL;
    sess_unknown *unk = NULL;
    sess_dispatch *d, *contents, *statics;
    sess_enum_variant *e = NULL, *e2 = NULL;
    sess_variant out, key, items[4];
    void *p = NULL;
    uint32_t got = 0, i;

    printf("== page 2: the same session, opened by its ID\n");
    CHECK_HR(sess_session_open(app, id, 0, &s), SESS_S_OK);
    CHECK_HR(sess_session_interface(s, &unk), SESS_S_OK);
    d = dispatch_of(unk);
    CHECK(unk->vtbl->release(unk) == 1); /* d keeps it */
    CHECK(get_int(d, "Timeout") == 30);

    /* Set c = Session.Contents */
    contents = get_object(d, "Contents");
    CHECK(get_int(contents, "Count") == 3);
    expect_text(contents, "Item", i4(1), "Arthur");              /* Contents.Item(1) */
    expect_text(contents, "Key", i4(3), "strLastName");          /* Contents.Key(3) */
    expect_text(d, "Contents", text("strLastName"), "Weissinger"); /* Session.Contents("...") */

    /* Session.Contents.Item(0) ' WRONG: an error here, not garbage. */
    key = i4(0);
    CHECK_HR(call(contents, "Item", GET, &key, 1, NULL, NULL), SESS_DISP_E_BADINDEX);

    /* Session.Contents.Remove("strMiddleName"): later indexes shift down. */
    key = text("strMiddleName");
    CHECK_HR(call(contents, "Remove", SESS_DISPATCH_METHOD, &key, 1, NULL, NULL), SESS_S_OK);
    CHECK_HR(call(contents, "Remove", SESS_DISPATCH_METHOD, &key, 1, NULL, NULL), SESS_S_FALSE);
    sess_variant_clear(&key);
    expect_text(d, "Value", i4(1), "Arthur");     /* strFirst = Session(1) */
    expect_text(d, "Value", i4(2), "Weissinger"); /* strMiddle = Session(2) */
    key = i4(3);                                  /* strLast = Session(3) */
    CHECK_HR(call(d, "Value", GET, &key, 1, NULL, NULL), SESS_DISP_E_BADINDEX);

    /* For Each strKey In Session.Contents */
    sess_variant_init(&out);
    CHECK_HR(contents->vtbl->invoke(contents, SESS_DISPID_NEWENUM, 0, GET, NULL, &out, NULL),
             SESS_S_OK);
    CHECK(out.vt == SESS_VT_UNKNOWN);
    if (out.vt == SESS_VT_UNKNOWN) {
        CHECK_HR(out.v.punkVal->vtbl->query_interface(out.v.punkVal, &SESS_IID_IENUMVARIANT, &p),
                 SESS_S_OK);
        e = (sess_enum_variant *)p;
    }
    sess_variant_clear(&out);
    for (i = 0; i < 4; i++)
        sess_variant_init(&items[i]);
    if (e != NULL) {
        char t[64];
        while (e->vtbl->next(e, 1, &items[0], &got) == SESS_S_OK && got == 1)
            printf("  For Each: %s\n", show(&items[0], t, sizeof t));
        /* Next into a bad out[1] (a tag no variant has): an error, and
         * nothing written, out[0] included. */
        CHECK_HR(e->vtbl->reset(e), SESS_S_OK);
        sess_variant_clear(&items[0]);
        items[0] = i4(5);
        memset(&items[1], 0, sizeof items[1]);
        items[1].vt = 0x7FFF;
        got = 99;
        CHECK_HR(e->vtbl->next(e, 2, items, &got), SESS_DISP_E_BADVARTYPE);
        CHECK(items[0].vt == SESS_VT_I4 && items[0].v.lVal == 5 && got == 99);
        sess_variant_init(&items[1]);
        CHECK_HR(e->vtbl->reset(e), SESS_S_OK);
        CHECK_HR(e->vtbl->next(e, 4, items, &got), SESS_S_FALSE);
        CHECK(got == 2 && bstr_is(&items[0], "strFirstName") && bstr_is(&items[1], "strLastName"));
        CHECK_HR(e->vtbl->reset(e), SESS_S_OK);
        CHECK_HR(e->vtbl->skip(e, 1), SESS_S_OK);
        CHECK_HR(e->vtbl->clone(e, &e2), SESS_S_OK);
        CHECK_HR(e2->vtbl->next(e2, 1, &items[0], &got), SESS_S_OK);
        CHECK(bstr_is(&items[0], "strLastName"));
        CHECK_HR(e2->vtbl->skip(e2, 1), SESS_S_FALSE);
        CHECK(e2->vtbl->release(e2) == 0);
    }

    /* Session.StaticObjects: declared objects, made on first use, read-only. */
    statics = get_object(d, "StaticObjects");
    CHECK(get_int(statics, "Count") == 2);
    expect_text(statics, "Key", i4(1), "AppInfo1"); /* StaticObjects.Key(1) */
    key = text("appinfo2");
    sess_variant_init(&out);
    CHECK_HR(call(statics, "Item", GET, &key, 1, NULL, &out), SESS_S_OK);
    CHECK(out.vt == SESS_VT_UNKNOWN && out.v.punkVal != NULL);
    if (out.vt == SESS_VT_UNKNOWN && out.v.punkVal != NULL) {
        char name[64];
        demo_get_name(demo_from(out.v.punkVal), name, sizeof name);
        CHECK(strcmp(name, "AppInfo2") == 0);
        printf("  StaticObjects(\"appinfo2\") is the object named %s\n", name);
    }
    sess_variant_clear(&out);
    CHECK_HR(call(statics, "Remove", SESS_DISPATCH_METHOD, &key, 1, NULL, NULL),
             SESS_E_COLLECTION_READONLY);
    sess_variant_clear(&key);

    /* Session.Contents.RemoveAll; then Session.Abandon. */
    CHECK_HR(call(contents, "RemoveAll", SESS_DISPATCH_METHOD, NULL, 0, NULL, NULL), SESS_S_OK);
    CHECK(get_int(contents, "Count") == 0);
    CHECK_HR(call(d, "Abandon", SESS_DISPATCH_METHOD, NULL, 0, NULL, NULL), SESS_S_OK);
    CHECK(get_int(d, "Timeout") == 30); /* still readable until the page ends */

    CHECK_HR(sess_session_close(s), SESS_S_OK);

    /* After the page: every object answers SESS_E_OBJECT_DETACHED, and its
       references can still be released. */
    printf("== after the page ended\n");
    CHECK_HR(call(d, "Timeout", GET, NULL, 0, NULL, NULL), SESS_E_OBJECT_DETACHED);
    CHECK_HR(call(contents, "Count", GET, NULL, 0, NULL, NULL), SESS_E_OBJECT_DETACHED);
    CHECK_HR(d->vtbl->invoke(d, SESS_DISPID_SESSION_TIMEOUT, 0, GET, NULL, NULL, NULL),
             SESS_E_OBJECT_DETACHED);
    if (e != NULL) {
        CHECK_HR(e->vtbl->next(e, 1, &items[0], &got), SESS_E_OBJECT_DETACHED);
        CHECK(e->vtbl->release(e) == 0);
    }
    for (i = 0; i < 4; i++)
        sess_variant_clear(&items[i]);
    release(statics);
    release(contents);
    release(d);

    /* The abandoned session is gone. */
    CHECK_HR(sess_session_open(app, id, 0, &s), SESS_E_SESSION_NOT_FOUND);
}

int main(void)
{
    sess_app_options o;
    sess_static_object_decl decls[2];
    sess_app *app = NULL;
    char id[SESS_ID_LEN + 1] = "";

    decls[0].name = "AppInfo1";
    decls[0].factory = make_demo;
    decls[0].context = NULL;
    decls[1] = decls[0];
    decls[1].name = "AppInfo2";
    CHECK_HR(sess_app_options_init(&o), SESS_S_OK);
    o.static_objects = decls;
    o.static_object_count = 2;
    CHECK_HR(sess_app_create(&o, &app), SESS_S_OK);

    page_one(app, id, sizeof id);
    page_two(app, id);

    sess_app_release(app);
    CHECK(demo_alive() == 0);
    return check_summary();
}
