// iis_session_object.hpp: seed 000's IISSessionObject, method by method,
// with X++'s optional-argument semantics and 1-based dictionaries.
#include "iis_session_object.hpp"
#include "test_object.hpp"

#include <doctest/doctest.h>

#include <string>
#include <type_traits>
#include <utility>

namespace {

template <class F> sess_result thrown(F &&f)
{
    try {
        f();
    } catch (const sess::error &e) {
        return e.code();
    }
    return 0;
}

// What contents() gives through an S, as a variable would hold it.
template <class S> using contents_of = std::decay_t<decltype(std::declval<S>().contents())>;
// Whether a D can be changed: item(key, var), item(index, var), remove, removeAll.
template <class D, class = void> struct can_set_key : std::false_type {};
template <class D>
struct can_set_key<D, std::void_t<decltype(std::declval<D &>().item("k", sess::variant()))>> : std::true_type {};
template <class D, class = void> struct can_set_index : std::false_type {};
template <class D>
struct can_set_index<D, std::void_t<decltype(std::declval<D &>().item(1, sess::variant()))>> : std::true_type {};
template <class D, class = void> struct can_remove : std::false_type {};
template <class D> struct can_remove<D, std::void_t<decltype(std::declval<D &>().remove("k"))>> : std::true_type {};
template <class D, class = void> struct can_remove_at : std::false_type {};
template <class D> struct can_remove_at<D, std::void_t<decltype(std::declval<D &>().remove(1))>> : std::true_type {};
template <class D, class = void> struct can_remove_all : std::false_type {};
template <class D> struct can_remove_all<D, std::void_t<decltype(std::declval<D &>().removeAll())>> : std::true_type {};
template <class D>
inline constexpr bool writable_v = can_set_key<D>::value || can_set_index<D>::value || can_remove<D>::value ||
                                   can_remove_at<D>::value || can_remove_all<D>::value;
// Whether an S hands out its COM object (which can change the session).
template <class S, class = void> struct lends_interface : std::false_type {};
template <class S>
struct lends_interface<S, std::void_t<decltype(std::declval<S>().interface())>> : std::true_type {};

// Whether IISSessionObject::value takes a name of type N.
template <class N, class = void> struct values_by : std::false_type {};
template <class N>
struct values_by<N, std::void_t<decltype(std::declval<sess::IISSessionObject &>().value(std::declval<N>()))>>
    : std::true_type {};

} // namespace

TEST_CASE("IISSessionObject: the property methods read, or set and return the new value")
{
    sess::app app;
    sess::session s = app.create();
    sess::IISSessionObject session(s.handle());

    CHECK(session.getSessionID() == s.id());
    CHECK(session.getSessionID().size() == SESS_ID_LEN);

    CHECK(session.timeout() == 20);
    CHECK(session.timeout(5) == 5);
    CHECK(session.timeout() == 5);
    CHECK(thrown([&] { session.timeout(-1); }) == SESS_E_INVALID_TIMEOUT);
    CHECK(session.timeout() == 5);

    CHECK(session.lcid() == 0x0409);
    CHECK(session.lcid(1036) == 1036);
    CHECK(thrown([&] { session.lcid(-5); }) == SESS_E_INVALID_LCID);
    CHECK(session.lcid() == 1036);

    CHECK(session.codePage() == 65001);
    CHECK(session.codePage(1252) == 1252);
    CHECK(thrown([&] { session.codePage(7); }) == SESS_E_INVALID_CODEPAGE);
    CHECK(session.codePage() == 1252);
    s.close();
}

TEST_CASE("IISSessionObject: value and valueTxt")
{
    sess::app app;
    sess::session s = app.create();
    sess::IISSessionObject session(s.handle());

    CHECK(session.value("missing").empty());
    CHECK(session.value("strFirstName", "Arthur").str() == "Arthur");
    CHECK(session.value("STRFIRSTNAME").str() == "Arthur");
    CHECK(session.value("amount", 1234.5).vt() == SESS_VT_R8);

    CHECK(session.valueTxt("missing").empty());
    CHECK(session.valueTxt("amount") == "1234.5");
    session.lcid(1031);
    CHECK(session.valueTxt("amount") == "1234,5");
    CHECK(session.valueTxt("city", "Köln") == "Köln");
    CHECK(session.value("city").vt() == SESS_VT_BSTR);
    CHECK(thrown([&] { session.value("", 1); }) == SESS_E_BAD_KEY);
    s.close();
}

TEST_CASE("IISSessionObject: contents() and staticObjects() are 1-based dictionaries")
{
    sess_static_object_decl decls[2] = {{"objInfo", test_object::factory, nullptr},
                                        {"objAd", test_object::factory, nullptr}};
    sess_app_options o = sess::app_options();
    o.static_objects = decls;
    o.static_object_count = 2;
    {
        sess::app app(o);
        sess::session s = app.create();
        sess::IISSessionObject session(s.handle());
        session.value("strFirstName", "Arthur");
        session.value("strMiddleName", "Keyton");
        session.value("strLastName", "Weissinger");

        sess::IISVariantDictionary contents = session.contents();
        CHECK(contents.count() == 3);
        CHECK(contents.key(1) == "strFirstName");
        CHECK(contents.item(1).str() == "Arthur");
        CHECK(contents.item("strlastname").str() == "Weissinger");
        CHECK(contents.remove("strMiddleName"));
        CHECK(contents.item(2).str() == "Weissinger"); // Remove shifted it down
        CHECK(thrown([&] { (void)contents.item(3); }) == SESS_DISP_E_BADINDEX);
        CHECK(thrown([&] { (void)contents.item(0); }) == SESS_DISP_E_BADINDEX);
        contents.remove(1);
        CHECK(contents.key(1) == "strLastName");
        contents.removeAll();
        CHECK(contents.count() == 0);

        sess::IISVariantDictionary statics = session.staticObjects();
        CHECK(statics.count() == 2);
        CHECK(statics.key(2) == "objAd");
        CHECK(statics.item(1).vt() == SESS_VT_UNKNOWN);
        CHECK(statics.item("OBJINFO").as<sess::unknown_ptr>().get() ==
              statics.item(1).as<sess::unknown_ptr>().get());
        CHECK(thrown([&] { statics.removeAll(); }) == SESS_E_COLLECTION_READONLY);
        CHECK(statics.count() == 2);
        s.close();
    }
    CHECK(test_object::alive() == 0);
}

TEST_CASE("IISSessionObject: abandon() takes effect when the unit of work ends")
{
    sess::app app;
    std::string id;
    {
        sess::session s = app.create();
        sess::IISSessionObject session(s.handle());
        session.value("intUserAge", 23);
        id = session.getSessionID();
        s.close();
    }
    {
        sess::session s = app.open(id);
        sess::IISSessionObject session(s.handle());
        session.abandon();
        CHECK(session.value("intUserAge").as<std::int32_t>() == 23);
        s.close();
    }
    CHECK(thrown([&] { (void)app.open(id); }) == SESS_E_SESSION_NOT_FOUND);
}

// interface(): the Session as a COM object, driven through its vtable and
// late-bound by name (as a script host or X++'s COM class calls it).
TEST_CASE("IISSessionObject: interface() is an owned COM reference that outlives nothing")
{
    sess::app app;
    sess::session s = app.create();
    sess::IISSessionObject session(s.handle());
    sess::unknown_ptr iface = session.interface();
    REQUIRE(iface);
    sess::com_ptr<sess_session_object> obj = iface.query<sess_session_object>(SESS_IID_ISESSIONOBJECT);
    sess::unknown_ptr copy = iface;
    CHECK(copy.get() == iface.get());

    // Early bound: the ISessionObject vtable.
    char id[SESS_ID_LEN + 1];
    std::size_t len = 0;
    CHECK(obj->vtbl->get_session_id(obj.get(), id, sizeof id, &len) == SESS_S_OK);
    CHECK(std::string(id, len) == session.getSessionID());
    CHECK(obj->vtbl->put_timeout(obj.get(), 9) == SESS_S_OK);
    CHECK(session.timeout() == 9);

    // Late bound: a member's name to its DISPID (COM's GetIDsOfNames: one
    // member, then its parameters' names), then invoke.
    std::int32_t ids[2] = {};
    const char *value_name[] = {"value"};
    const char *timeout_name[] = {"TIMEOUT"};
    REQUIRE(obj->vtbl->get_ids_of_names(obj.get(), value_name, 1, 0x0409, &ids[0]) == SESS_S_OK);
    REQUIRE(obj->vtbl->get_ids_of_names(obj.get(), timeout_name, 1, 0x0409, &ids[1]) == SESS_S_OK);
    CHECK(ids[0] == SESS_DISPID_VALUE);
    CHECK(ids[1] == SESS_DISPID_SESSION_TIMEOUT);
    // Session("user") = "Arthur"
    sess::variant args[2] = {sess::variant("Arthur"), sess::variant("user")}; // last first
    const std::int32_t put_id = SESS_DISPID_PROPERTYPUT;
    const sess_dispparams put{args[0].get(), &put_id, 2, 1};
    sess::variant result;
    CHECK(obj->vtbl->invoke(obj.get(), SESS_DISPID_VALUE, 0x0409, SESS_DISPATCH_PROPERTYPUT, &put, result.put(),
                            nullptr) == SESS_S_OK);
    CHECK(session.value("USER").str() == "Arthur");
    // x = Session.Timeout
    const sess_dispparams none{nullptr, nullptr, 0, 0};
    CHECK(obj->vtbl->invoke(obj.get(), ids[1], 0x0409, SESS_DISPATCH_PROPERTYGET, &none, result.put(), nullptr) ==
          SESS_S_OK);
    CHECK(result.as<std::int32_t>() == 9);

    // After the unit of work: every call is a clear error, Release still works.
    s.close();
    CHECK(obj->vtbl->get_session_id(obj.get(), id, sizeof id, &len) == SESS_E_OBJECT_DETACHED);
}

// X++'s IISVariantDictionary.item(key, var): ASP's Contents.Item(key) = var,
// by name (added or replaced) or by 1-based index (replaced); it returns the
// value now stored. StaticObjects cannot be written.
TEST_CASE("IISVariantDictionary: item(key, var) writes Contents")
{
    sess_static_object_decl decls[1] = {{"objInfo", test_object::factory, nullptr}};
    sess_app_options o = sess::app_options();
    o.static_objects = decls;
    o.static_object_count = 1;
    {
        sess::app app(o);
        sess::session s = app.create();
        sess::IISSessionObject session(s.handle());
        sess::IISVariantDictionary contents = session.contents();

        CHECK(contents.item("strFirstName", "Arthur").str() == "Arthur");
        CHECK(contents.item("STRFIRSTNAME", "Art").str() == "Art"); // replaced, spelling kept
        CHECK(contents.count() == 1);
        CHECK(contents.key(1) == "strFirstName");
        CHECK(contents.item(1, 42).as<std::int32_t>() == 42);
        CHECK(session.value("strFirstName").as<std::int32_t>() == 42);
        CHECK(thrown([&] { contents.item(2, 1); }) == SESS_DISP_E_BADINDEX);
        CHECK(thrown([&] { contents.item(0, 1); }) == SESS_DISP_E_BADINDEX);
        CHECK(contents.count() == 1);

        sess::IISVariantDictionary statics = session.staticObjects();
        CHECK(thrown([&] { statics.item("objInfo", 1); }) == SESS_E_COLLECTION_READONLY);
        CHECK(thrown([&] { statics.item(1, 1); }) == SESS_E_COLLECTION_READONLY);
        CHECK(statics.item(1).vt() == SESS_VT_UNKNOWN);
        s.close();
    }
    CHECK(test_object::alive() == 0);
}

// A const IISSessionObject read only, but its contents() was the writable
// dictionary: item(key, var), item(index, var), remove and removeAll all
// compiled. As sess.hpp's const session gives a contents_view, a const
// IISSessionObject gives a read-only IISVariantDictionaryView.
TEST_CASE("IISSessionObject: a const one's contents() are read-only")
{
    static_assert(writable_v<contents_of<sess::IISSessionObject &>>);
    static_assert(can_set_key<contents_of<sess::IISSessionObject &>>::value);
    static_assert(can_set_index<contents_of<sess::IISSessionObject &>>::value);
    static_assert(can_remove<contents_of<sess::IISSessionObject &>>::value);
    static_assert(can_remove_at<contents_of<sess::IISSessionObject &>>::value);
    static_assert(can_remove_all<contents_of<sess::IISSessionObject &>>::value);
    static_assert(!writable_v<contents_of<const sess::IISSessionObject &>>);
    static_assert(!writable_v<std::decay_t<decltype(std::declval<const sess::IISSessionObject &>().staticObjects())>>);
    // Nor does the view convert back to the writable dictionary.
    static_assert(!std::is_convertible_v<contents_of<const sess::IISSessionObject &>, sess::IISVariantDictionary>);
    sess::app app;
    sess::session s = app.create();
    sess::IISSessionObject session(s.handle());
    session.value("strFirstName", "Arthur");
    const sess::IISSessionObject &reader = session;
    const auto view = reader.contents();
    CHECK(view.count() == 1);
    CHECK(view.key(1) == "strFirstName");
    CHECK(view.item(1).str() == "Arthur");
    CHECK(view.item("STRFIRSTNAME").str() == "Arthur");
    CHECK(thrown([&] { (void)view.item(2); }) == SESS_DISP_E_BADINDEX);
    s.close();
}

// interface() handed a const IISSessionObject's session out as a COM object
// whose put_value / Contents could change it.
TEST_CASE("IISSessionObject: a const one lends no interface()")
{
    static_assert(lends_interface<sess::IISSessionObject &>::value);
    static_assert(!lends_interface<const sess::IISSessionObject &>::value);
}

// Names were std::string_view: a null const char * crashed (strlen) before
// libsess saw it; it is E_POINTER, and nullptr does not compile.
TEST_CASE("IISSessionObject: a null name is E_POINTER")
{
    static_assert(!values_by<std::nullptr_t>::value);
    static_assert(values_by<const char *>::value && values_by<std::string>::value);
    const char *none = nullptr;
    sess::app app;
    sess::session s = app.create();
    sess::IISSessionObject session(s.handle());
    sess::IISVariantDictionary contents = session.contents();
    CHECK(thrown([&] { (void)session.value(none); }) == SESS_E_POINTER);
    CHECK(thrown([&] { (void)session.value(none, 1); }) == SESS_E_POINTER);
    CHECK(thrown([&] { (void)session.valueTxt(none); }) == SESS_E_POINTER);
    CHECK(thrown([&] { (void)session.valueTxt("k", none); }) == SESS_E_POINTER);
    CHECK(thrown([&] { (void)contents.item(none); }) == SESS_E_POINTER);
    CHECK(thrown([&] { (void)contents.item(none, 1); }) == SESS_E_POINTER);
    CHECK(thrown([&] { (void)contents.remove(none); }) == SESS_E_POINTER);
    s.close();
}

// Whether a D's by-key-or-index members take a C: item(c), item(c, var),
// remove(c), key(c).
template <class D, class C, class = void> struct items_by : std::false_type {};
template <class D, class C>
struct items_by<D, C, std::void_t<decltype(std::declval<D &>().item(std::declval<C>()))>> : std::true_type {};
template <class D, class C, class = void> struct sets_item_by : std::false_type {};
template <class D, class C>
struct sets_item_by<D, C, std::void_t<decltype(std::declval<D &>().item(std::declval<C>(), sess::variant()))>>
    : std::true_type {};
template <class D, class C, class = void> struct removes_by : std::false_type {};
template <class D, class C>
struct removes_by<D, C, std::void_t<decltype(std::declval<D &>().remove(std::declval<C>()))>> : std::true_type {};
template <class D, class C, class = void> struct keys_by : std::false_type {};
template <class D, class C>
struct keys_by<D, C, std::void_t<decltype(std::declval<D &>().key(std::declval<C>()))>> : std::true_type {};

// A character chose the by-index overload (it promotes to int): remove('k')
// removed item 107, item('k', v) replaced item 107's value, item('k') read
// it, where the caller meant the key "k". As sess::variant refuses a
// character, so do the dictionaries: write "k" for a key, an int for an
// index.
TEST_CASE("IISVariantDictionary: a character is neither a key nor an index")
{
    using dictionary = sess::IISVariantDictionary;
    using view = sess::IISVariantDictionaryView;
    static_assert(!items_by<dictionary, char>::value && !items_by<view, char>::value);
    static_assert(!items_by<dictionary, wchar_t>::value && !items_by<view, char16_t>::value);
    static_assert(!sets_item_by<dictionary, char>::value && !sets_item_by<dictionary, char32_t>::value);
    static_assert(!removes_by<dictionary, char>::value && !removes_by<dictionary, wchar_t>::value);
    static_assert(!keys_by<dictionary, char>::value && !keys_by<view, char>::value);
#ifdef __cpp_char8_t
    static_assert(!items_by<dictionary, char8_t>::value && !removes_by<dictionary, char8_t>::value);
#endif
    // Keys and indexes still go where they went (a byte-sized number too).
    static_assert(items_by<dictionary, const char *>::value && items_by<view, int>::value);
    static_assert(items_by<view, std::uint8_t>::value && removes_by<dictionary, std::int8_t>::value);
    static_assert(sets_item_by<dictionary, const char *>::value && sets_item_by<dictionary, int>::value);
    static_assert(removes_by<dictionary, std::string>::value && removes_by<dictionary, int>::value);
    static_assert(keys_by<view, int>::value);
    sess::app app;
    sess::session s = app.create();
    sess::IISSessionObject session(s.handle());
    session.value("k", 1);
    sess::IISVariantDictionary contents = session.contents();
    contents.remove(std::uint8_t{1}); // an index: the first item
    CHECK(contents.count() == 0);
    s.close();
}

// A bad index is told as the caller counted it, from 1: contents.item(3) of
// two items threw "index 2 is out of range (count 2)" (the C call's 0-based
// index, one that exists), as did key, remove and item(index, var), and
// staticObjects()'.
TEST_CASE("IISVariantDictionary: a bad index's message counts from 1")
{
    sess_static_object_decl decls[1] = {{"objInfo", test_object::factory, nullptr}};
    sess_app_options o = sess::app_options();
    o.static_objects = decls;
    o.static_object_count = 1;
    {
        sess::app app(o);
        sess::session s = app.create();
        sess::IISSessionObject session(s.handle());
        session.value("a", 1);
        session.value("b", 2);
        sess::IISVariantDictionary contents = session.contents();
        const auto message = [](auto &&f) -> std::string {
            try {
                f();
            } catch (const sess::error &e) {
                CHECK(e.code() == SESS_DISP_E_BADINDEX);
                return e.what();
            }
            return "(nothing thrown)";
        };
        const auto says = [](const std::string &text, const std::string &index, const std::string &not_index) {
            INFO(text);
            CHECK(text.find("index " + index) != std::string::npos);
            CHECK(text.find("index " + not_index) == std::string::npos);
        };
        says(message([&] { (void)contents.item(3); }), "3", "2");
        says(message([&] { (void)contents.key(3); }), "3", "2");
        says(message([&] { contents.remove(3); }), "3", "2");
        says(message([&] { contents.item(3, 1); }), "3", "2");
        const sess::IISSessionObject &view = session;
        says(message([&] { (void)view.contents().item(3); }), "3", "2");
        sess::IISVariantDictionary statics = session.staticObjects();
        says(message([&] { (void)statics.item(2); }), "2", "1");
        says(message([&] { (void)statics.key(2); }), "2", "1");
        CHECK(contents.count() == 2);
        s.close();
    }
    CHECK(test_object::alive() == 0);
}

// A bool was taken as an index: contents.item(true) read item 1,
// remove(false) went to index 0, where the COM dictionaries refuse a
// VT_BOOL key (DISP_E_TYPEMISMATCH) and Python's key_at(True) is a
// TypeError. As a character, a bool is neither a key nor an index.
TEST_CASE("IISVariantDictionary: a bool is neither a key nor an index")
{
    using dictionary = sess::IISVariantDictionary;
    using view = sess::IISVariantDictionaryView;
    static_assert(!items_by<dictionary, bool>::value && !items_by<view, bool>::value);
    static_assert(!sets_item_by<dictionary, bool>::value);
    static_assert(!removes_by<dictionary, bool>::value);
    static_assert(!keys_by<dictionary, bool>::value && !keys_by<view, bool>::value);
    static_assert(items_by<view, int>::value && removes_by<dictionary, short>::value);
    sess::app app;
    sess::session s = app.create();
    sess::IISSessionObject session(s.handle());
    session.value("k", true); // a bool is still a value
    CHECK(session.contents().item(1).vt() == SESS_VT_BOOL);
    s.close();
}

namespace {
// Whether S's property setter `P` takes an argument of type A.
template <class S, class A, class = void> struct sets_timeout : std::false_type {};
template <class S, class A>
struct sets_timeout<S, A, std::void_t<decltype(std::declval<S &>().timeout(std::declval<A>()))>> : std::true_type {};
template <class S, class A, class = void> struct sets_lcid : std::false_type {};
template <class S, class A>
struct sets_lcid<S, A, std::void_t<decltype(std::declval<S &>().lcid(std::declval<A>()))>> : std::true_type {};
template <class S, class A, class = void> struct sets_codepage : std::false_type {};
template <class S, class A>
struct sets_codepage<S, A, std::void_t<decltype(std::declval<S &>().codepage(std::declval<A>()))>> : std::true_type {};
template <class S, class A, class = void> struct sets_code_page : std::false_type {};
template <class S, class A>
struct sets_code_page<S, A, std::void_t<decltype(std::declval<S &>().codePage(std::declval<A>()))>> : std::true_type {};
template <class S, class A>
inline constexpr bool sets_any_v = sets_timeout<S, A>::value || sets_lcid<S, A>::value || sets_codepage<S, A>::value ||
                                   sets_code_page<S, A>::value;
} // namespace

// timeout(true) set a Timeout of 1 minute, lcid(true) the LCID 1 (Arabic)
// and timeout('5') 53 minutes: a bool or a character promoted to the
// number, where Python refuses them (TypeError) and COM's put of a
// VT_BOOL is -1 (refused as out of range). Timeout, LCID and CodePage
// take numbers only.
TEST_CASE("Timeout, LCID and CodePage take no bool and no character")
{
    static_assert(!sets_any_v<sess::IISSessionObject, bool> && !sets_any_v<sess::IISSessionObject, char>);
    static_assert(!sets_any_v<sess::session_ref, bool> && !sets_any_v<sess::session_ref, wchar_t>);
    static_assert(!sets_any_v<sess::session, bool> && !sets_any_v<sess::session, char32_t>);
    static_assert(sets_timeout<sess::IISSessionObject, int>::value && sets_code_page<sess::IISSessionObject, long>::value);
    static_assert(sets_lcid<sess::session_ref, unsigned>::value && sets_codepage<sess::session, int>::value);
    static_assert(sets_timeout<sess::session, short>::value && sets_lcid<sess::IISSessionObject, std::uint8_t>::value);
    sess::app app;
    sess::session s = app.create();
    CHECK(s.timeout(5) == 5);
    CHECK(s.timeout() == 5); // the getters are still there
    sess::IISSessionObject session(s.handle());
    CHECK(session.lcid(1036) == 1036);
    CHECK(session.codePage() == 65001);
    s.close();
}

// A wider integer was narrowed to int: contents.item(std::size_t{1} << 32 | 1)
// read item 1, remove((1ULL << 32) + 2) removed item 2, key(-4294967295LL)
// gave item 1's key. An index int cannot hold is a bad index, not another
// item; one it can hold still goes where it did.
TEST_CASE("IISVariantDictionary: an index beyond int is a bad index, not another item")
{
    sess::app app;
    sess::session s = app.create();
    sess::IISSessionObject session(s.handle());
    session.value("a", 1);
    session.value("b", 2);
    sess::IISVariantDictionary contents = session.contents();
    // (Read at run time, as an index is: constants a compiler warns of.)
    volatile std::size_t wide_in = (std::size_t{1} << 32) | 1;
    volatile unsigned long long wider_in = (1ULL << 32) + 2;
    volatile long long negative_in = -4294967295LL;
    const std::size_t wide = wide_in;
    const unsigned long long wider = wider_in;
    const long long negative = negative_in;
    CHECK(thrown([&] { contents.item(wide); }) == SESS_DISP_E_BADINDEX);
    CHECK(thrown([&] { contents.key(wide); }) == SESS_DISP_E_BADINDEX);
    CHECK(thrown([&] { contents.item(wide, sess::variant(9)); }) == SESS_DISP_E_BADINDEX);
    CHECK(thrown([&] { contents.remove(wider); }) == SESS_DISP_E_BADINDEX);
    CHECK(thrown([&] { contents.key(negative); }) == SESS_DISP_E_BADINDEX);
    CHECK(thrown([&] { session.staticObjects().item(wide); }) == SESS_DISP_E_BADINDEX);
    const sess::IISSessionObject &view = session;
    CHECK(thrown([&] { view.contents().item(wide); }) == SESS_DISP_E_BADINDEX);
    CHECK(contents.count() == 2);
    CHECK(contents.item(2).as<int>() == 2);
    CHECK(contents.item(1).as<int>() == 1);
    // Indexes int holds, of any type, are as before.
    CHECK(contents.item(std::size_t{2}).as<int>() == 2);
    CHECK(contents.key(2LL) == "b");
    CHECK(thrown([&] { contents.item(0L); }) == SESS_DISP_E_BADINDEX);
    CHECK(thrown([&] { contents.item(std::size_t{3}); }) == SESS_DISP_E_BADINDEX);
    contents.item(2U, sess::variant(5));
    CHECK(contents.item(2).as<int>() == 5);
    contents.remove(std::size_t{1});
    CHECK(contents.count() == 1);
    CHECK(contents.key(1) == "b");
    s.close();
}

// A wider integer was narrowed to the C parameter's type: timeout(2^32 + 5)
// set 5 minutes, lcid(0x100000409) set 1033 and codePage(2^32 + 1252) set
// 1252, where Python's binding (and the library, for a value its type
// holds) refuses the value. One the property's type cannot hold is now its
// invalid-value error, the value unchanged.
TEST_CASE("Timeout, LCID and CodePage: a value beyond the C type is refused, not wrapped")
{
    sess::app app;
    sess::session s = app.create();
    sess::IISSessionObject session(s.handle());
    // (Read at run time: constants a compiler warns of.)
    volatile long long timeout_in = (1LL << 32) + 5, lcid_in = 0x100000409LL, codepage_in = (1LL << 32) + 1252;
    volatile unsigned long long big_in = (1ULL << 32) + 5;
    const long long wide_timeout = timeout_in, wide_lcid = lcid_in, wide_codepage = codepage_in;
    const unsigned long long big = big_in;
    CHECK(thrown([&] { session.timeout(wide_timeout); }) == SESS_E_INVALID_TIMEOUT);
    CHECK(thrown([&] { s.timeout(big); }) == SESS_E_INVALID_TIMEOUT);
    CHECK(thrown([&] { session.lcid(wide_lcid); }) == SESS_E_INVALID_LCID);
    CHECK(thrown([&] { s.lcid(wide_lcid); }) == SESS_E_INVALID_LCID);
    CHECK(thrown([&] { session.codePage(wide_codepage); }) == SESS_E_INVALID_CODEPAGE);
    CHECK(thrown([&] { s.ref().codepage(wide_codepage); }) == SESS_E_INVALID_CODEPAGE);
    CHECK(thrown([&] { s.lcid(-1); }) == SESS_E_INVALID_LCID);
    CHECK(session.timeout() == 20);
    CHECK(session.lcid() == 1033);
    CHECK(session.codePage() == 65001);
    // Values the types hold, of any integer type, set as before.
    CHECK(session.timeout(5LL) == 5);
    CHECK(s.timeout(std::size_t{6}) == 6);
    CHECK(session.lcid(1036L) == 1036);
    CHECK(s.lcid(std::uint64_t{1033}) == 1033);
    CHECK(session.codePage(std::size_t{1252}) == 1252);
    CHECK(s.codepage(65001LL) == 65001);
    CHECK(s.lcid(1036) == 1036);
    s.close();
}

// lcid(int) and codePage(int), X++'s signatures, cast a negative value to
// the C call's std::uint32_t: lcid(-1) was refused as "LCID 4294967295
// (0xffffffff) is not a locale Windows defines", a number the caller never
// wrote. The value is now checked as session_ref's are: "LCID -1 is out of
// range", the value unchanged.
TEST_CASE("IISSessionObject: a negative LCID or CodePage is refused as the caller wrote it")
{
    sess::app app;
    sess::session s = app.create();
    sess::IISSessionObject session(s.handle());
    const auto what = [](auto &&f) -> std::pair<sess_result, std::string> {
        try {
            f();
        } catch (const sess::error &e) {
            return {e.code(), e.what()};
        }
        return {0, ""};
    };
    const auto lcid = what([&] { session.lcid(-1); });
    CHECK(lcid.first == SESS_E_INVALID_LCID);
    CHECK(lcid.second.find("-1") != std::string::npos);
    CHECK(lcid.second.find("4294967295") == std::string::npos);
    const auto codepage = what([&] { session.codePage(-1252); });
    CHECK(codepage.first == SESS_E_INVALID_CODEPAGE);
    CHECK(codepage.second.find("-1252") != std::string::npos);
    CHECK(session.lcid() == 1033);
    CHECK(session.codePage() == 65001);
    CHECK(session.lcid(1036) == 1036);
    CHECK(session.codePage(1252) == 1252);
    s.close();
}
