// sess.hpp: values, errors, RAII lifetimes, the seed 004 scenarios and the
// request lifecycle, through the C++ API.
#include "sess.hpp"
#include "test_object.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <cmath>
#include <cstddef>
#include <functional>
#include <iostream>
#include <iterator>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

using namespace std::chrono;

// A sess::error's code and what(), as error_of gives them.
using failure = std::pair<sess_result, std::string>;

// A failure as a failed check shows it.
template <> struct doctest::StringMaker<failure> {
    static doctest::String convert(const failure &f)
    {
        return ("{" + std::to_string(f.first) + ", \"" + f.second + "\"}").c_str();
    }
};

namespace {

// The code a failing call throws, or 0.
template <class F> sess_result thrown(F &&f)
{
    try {
        f();
    } catch (const sess::error &e) {
        CHECK(std::string(e.what()).size() > 0);
        return e.code();
    }
    return 0;
}

// The code and what() of the sess::error `f` throws ({0, ""} if none).
template <class F> failure error_of(F &&f)
{
    try {
        f();
    } catch (const sess::error &e) {
        return {e.code(), e.what()};
    }
    return {0, ""};
}


// A short lock timeout, so contention tests end quickly.
sess::app quick_app()
{
    sess_app_options o = sess::app_options();
    o.lock_timeout_ms = 200;
    return sess::app(o);
}

} // namespace

TEST_CASE("variant: conversions both ways")
{
    CHECK(sess::variant().empty());
    CHECK(sess::variant::null().is_null());
    CHECK(sess::variant("Arthur").vt() == SESS_VT_BSTR);
    CHECK(sess::variant(std::string_view("Keyton")).str() == "Keyton");
    CHECK(sess::variant(std::string("x")).as<std::string>() == "x");
    CHECK(sess::variant(42).vt() == SESS_VT_I4);
    CHECK(sess::variant(std::int64_t{1} << 40).vt() == SESS_VT_I8);
    CHECK(sess::variant(std::uint16_t{7}).vt() == SESS_VT_UI2);
    CHECK(sess::variant(2.5).vt() == SESS_VT_R8);
    CHECK(sess::variant(true).vt() == SESS_VT_BOOL);
    CHECK(sess::variant(true).as<bool>());
    CHECK(sess::variant(42).as<std::string>() == "42");
    CHECK(sess::variant("17").as<std::int32_t>() == 17);
    CHECK(sess::variant(2.5).as<std::string>() == "2.5");
    CHECK(sess::variant(2.5).as<std::string>(1036) == "2,5");
    CHECK(sess::variant(std::int64_t{1} << 40).as<std::int64_t>() == (std::int64_t{1} << 40));
    CHECK(sess::variant(sess::currency{123450}).as<std::string>() == "12.345");
    CHECK(sess::variant("12.5").as<sess::currency>().scaled == 125000);
    CHECK(thrown([] { (void)sess::variant("abc").as<std::int32_t>(); }) == SESS_DISP_E_TYPEMISMATCH);
    CHECK(thrown([] { (void)sess::variant(std::int64_t{1} << 40).as<std::int32_t>(); }) == SESS_DISP_E_OVERFLOW);
    CHECK(thrown([] { (void)sess::variant(1).str(); }) == SESS_DISP_E_TYPEMISMATCH);
}

TEST_CASE("variant: DATE is the OLE Automation date, both sides of 1899-12-30")
{
    // 2024-01-15 12:00:00 UTC is OLE 45306.5.
    const sess::time_point noon = sess::time_point(seconds(1705320000));
    sess::variant d(noon);
    CHECK(d.vt() == SESS_VT_DATE);
    CHECK(d.get()->v.date == doctest::Approx(45306.5));
    CHECK(d.as<sess::time_point>() == noon);
    // Milliseconds survive the round trip.
    const sess::time_point precise = sess::time_point(seconds(1796410800) + milliseconds(123));
    CHECK(sess::variant(precise).as<sess::time_point>() == precise);
    // 1899-12-29 06:00 is -1.25: the day counts down, the time of day up.
    const sess::time_point before = sess::time_point(seconds(-2209226400));
    CHECK(sess::variant(before).get()->v.date == doctest::Approx(-1.25));
    CHECK(sess::variant(before).as<sess::time_point>() == before);
    CHECK(sess::variant(noon).as<std::string>() == "1/15/2024 12:00:00 PM");
    CHECK(thrown([] { (void)sess::variant::from_ole_date(1e10); }) == SESS_DISP_E_OVERFLOW);
}

// sess::time_point counts milliseconds, so it holds every DATE; a finer
// clock that cannot hold one (nanoseconds end in 2262) overflows.
TEST_CASE("variant: every OLE date reads as a time_point; one that does not fit is DISP_E_OVERFLOW")
{
    const sess::time_point first(seconds(-59011459200)); // 100-01-01
    const sess::time_point last(seconds(253402214400));  // 9999-12-31
    CHECK(sess::variant::from_ole_date(-657434.0) == first);
    CHECK(sess::variant::from_ole_date(-657434.5) == first + hours(12)); // the time counts up
    CHECK(sess::variant(2958465.0).change_type(SESS_VT_DATE).as<sess::time_point>() == last);
    CHECK(sess::variant(-657434.75).change_type(SESS_VT_DATE).as<sess::time_point>() == first + hours(18));
    for (double outside : {-657435.0, 2958466.0, std::nan("")})
        CHECK(thrown([&] { (void)sess::variant::from_ole_date(outside); }) == SESS_DISP_E_OVERFLOW);
    using nano_time = time_point<system_clock, nanoseconds>;
    CHECK(thrown([&] { (void)sess::variant(last).as<nano_time>(); }) == SESS_DISP_E_OVERFLOW);
    CHECK(thrown([&] { (void)sess::variant(first).as<nano_time>(); }) == SESS_DISP_E_OVERFLOW);
    CHECK(sess::variant(sess::time_point(seconds(1705320000))).as<nano_time>() ==
          nano_time(seconds(1705320000)));
    // A coarser clock rounds down, before 1970 too.
    CHECK(sess::variant(sess::time_point(milliseconds(-500))).as<time_point<system_clock, seconds>>() ==
          time_point<system_clock, seconds>(seconds(-1)));
}

TEST_CASE("variant: a time outside the OLE date range is DISP_E_OVERFLOW, checked before converting")
{
    static_assert(!std::is_nothrow_constructible_v<sess::variant, sess::time_point>);
    const sess::time_point first(seconds(-59011459200)); // 100-01-01
    const sess::time_point end(seconds(253402300800));   // 10000-01-01
    CHECK(sess::variant(first).get()->v.date == -657434.0);
    CHECK(sess::variant(end - milliseconds(1)).as<sess::time_point>() == end - milliseconds(1));
    CHECK(thrown([&] { (void)sess::variant(first - milliseconds(1)); }) == SESS_DISP_E_OVERFLOW);
    CHECK(thrown([&] { (void)sess::variant(end); }) == SESS_DISP_E_OVERFLOW);
    CHECK(thrown([&] { (void)sess::variant(first - microseconds(1)); }) == SESS_DISP_E_OVERFLOW);
    CHECK(sess::variant(end - microseconds(1)).as<sess::time_point>() == end - milliseconds(1));
    CHECK(thrown([] { (void)sess::variant(time_point<system_clock, seconds>(hours(24 * 365 * 10000))); }) ==
          SESS_DISP_E_OVERFLOW);
    // These would overflow milliseconds, or are not a time at all.
    CHECK(thrown([] { (void)sess::variant(time_point<system_clock, hours>(hours::max())); }) == SESS_DISP_E_OVERFLOW);
    using real_time = time_point<system_clock, duration<double>>;
    CHECK(thrown([] { (void)sess::variant(real_time(duration<double>(std::nan("")))); }) == SESS_DISP_E_OVERFLOW);
}

// A DATE in the last half millisecond of 9999-12-31 rounded up to
// 10000-01-01, a time no DATE holds (variant(t) then refused it); in the last
// half millisecond of 100-01-01 it rounded to 100-01-02 (DATE -657433, not
// the -657434.99... read). The time of day now rounds to the millisecond
// within its day, at both ends of the range as everywhere else.
TEST_CASE("variant: the last fraction of a millisecond at either end of the DATE range stays in it")
{
    const sess::time_point first(seconds(-59011459200)); // 100-01-01
    const sess::time_point end(seconds(253402300800));   // 10000-01-01
    const sess::time_point first_day_last = first + hours(24) - milliseconds(1);
    const double last_date = std::nextafter(2958466.0, 0.0);         // the last DATE
    const double first_day_end = std::nextafter(-657435.0, 0.0);     // 100-01-01's last DATE
    CHECK(sess::variant::from_ole_date(last_date) == end - milliseconds(1));
    CHECK(sess::variant(last_date).change_type(SESS_VT_DATE).as<sess::time_point>() == end - milliseconds(1));
    CHECK(sess::variant(sess::variant::from_ole_date(last_date)).get()->v.date ==
          sess::variant(end - milliseconds(1)).get()->v.date);
    CHECK(sess::variant::from_ole_date(first_day_end) == first_day_last);
    CHECK(sess::variant(sess::variant::from_ole_date(first_day_end)).get()->v.date ==
          sess::variant(first_day_last).get()->v.date);
    CHECK(sess::variant(first_day_end).change_type(SESS_VT_DATE).as<sess::time_point>() == first_day_last);
    // A time_point's last fraction of a millisecond rounds down, to the last
    // DATE of the range (or of 100-01-01).
    using real_time = time_point<system_clock, duration<double>>;
    using long_real_time = time_point<system_clock, duration<long double>>;
    CHECK(sess::variant(end - microseconds(1)).as<sess::time_point>() == end - milliseconds(1));
    CHECK(sess::variant(real_time(end) - duration<double>(3e-5)).as<sess::time_point>() == end - milliseconds(1));
    // (2^-15 s: a long double under valgrind has only a double's precision.)
    CHECK(sess::variant(long_real_time(end) - duration<long double>(std::ldexp(1.0L, -15))).as<sess::time_point>() ==
          end - milliseconds(1));
    CHECK(sess::variant(first_day_last + microseconds(999)).as<sess::time_point>() == first_day_last);
    CHECK(sess::variant(first + microseconds(1)).get()->v.date == -657434.0);
    // Mid-range too: the day's last DATE is its 23:59:59.999.
    const sess::time_point day(seconds(1705276800)); // 2024-01-15, OLE 45306
    CHECK(sess::variant::from_ole_date(std::nextafter(45307.0, 0.0)) == day + hours(24) - milliseconds(1));
    const sess::time_point day_before(seconds(-2209248000)); // 1899-12-29, OLE -1
    CHECK(sess::variant::from_ole_date(std::nextafter(-2.0, 0.0)) == day_before + hours(24) - milliseconds(1));
}

TEST_CASE("variant: as<T> takes every arithmetic type; the library decides what fits")
{
    CHECK(sess::variant(short{5}).as<short>() == 5);
    CHECK(sess::variant("-7").as<signed char>() == -7);
    CHECK(sess::variant("-7").as<std::int8_t>() == -7);
    CHECK(sess::variant(300).as<std::uint16_t>() == 300);
    CHECK(sess::variant(42).as<long>() == 42);
    CHECK(sess::variant(42).as<long long>() == 42);
    CHECK(sess::variant(42).as<unsigned long>() == 42);
    CHECK(sess::variant(42).as<unsigned long long>() == 42);
    CHECK(sess::variant("2.5").as<float>() == 2.5f);
    CHECK(sess::variant(2.5f).as<long double>() == 2.5L);
    CHECK(thrown([] { (void)sess::variant(300).as<unsigned char>(); }) == SESS_DISP_E_OVERFLOW);
    CHECK(thrown([] { (void)sess::variant(-129).as<std::int8_t>(); }) == SESS_DISP_E_OVERFLOW);
    CHECK(thrown([] { (void)sess::variant(1e300).as<float>(); }) == SESS_DISP_E_OVERFLOW);
    CHECK(thrown([] { (void)sess::variant("x").as<short>(); }) == SESS_DISP_E_TYPEMISMATCH);
    // Negative to the unsigned type of the same width is reinterpreted (as
    // Windows and Wine do); to a narrower one it overflows.
    CHECK(sess::variant(-1).as<std::uint32_t>() == 4294967295u);
    CHECK(thrown([] { (void)sess::variant(-1).as<std::uint16_t>(); }) == SESS_DISP_E_OVERFLOW);
}

// Every arithmetic type but the characters makes a variant, of the type its
// size and sign say; sess::variant(1.0L) did not compile (long double
// converted as well to double, float and bool).
TEST_CASE("variant: every arithmetic type converts, long double as R8")
{
    static_assert(std::is_constructible_v<sess::variant, long double>);
    static_assert(std::is_convertible_v<long double, sess::variant>);
    CHECK(sess::variant(true).vt() == SESS_VT_BOOL);
    CHECK(sess::variant(static_cast<signed char>(-1)).vt() == SESS_VT_I1);
    CHECK(sess::variant(static_cast<unsigned char>(1)).vt() == SESS_VT_UI1);
    CHECK(sess::variant(short{-1}).vt() == SESS_VT_I2);
    CHECK(sess::variant(static_cast<unsigned short>(1)).vt() == SESS_VT_UI2);
    CHECK(sess::variant(-1).vt() == SESS_VT_I4);
    CHECK(sess::variant(1u).vt() == SESS_VT_UI4);
    CHECK(sess::variant(-1L).vt() == (sizeof(long) == 8 ? SESS_VT_I8 : SESS_VT_I4));
    CHECK(sess::variant(1UL).vt() == (sizeof(long) == 8 ? SESS_VT_UI8 : SESS_VT_UI4));
    CHECK(sess::variant(-1LL).vt() == SESS_VT_I8);
    CHECK(sess::variant(1ULL).vt() == SESS_VT_UI8);
    CHECK(sess::variant(2.5f).vt() == SESS_VT_R4);
    CHECK(sess::variant(2.5).vt() == SESS_VT_R8);
    const sess::variant ld(2.5L);
    CHECK(ld.vt() == SESS_VT_R8);
    CHECK(ld.get()->v.dblVal == 2.5);
    CHECK(ld.as<long double>() == 2.5L);
    sess::variant assigned;
    assigned = 0.1L; // rounded to the nearest double
    CHECK(assigned.get()->v.dblVal == 0.1);
    // Beyond double's range it cannot be rounded (that would be undefined):
    // DISP_E_OVERFLOW, as an R8 too large for an R4 is. (Where long double
    // is wider than double, and not under valgrind, whose long double has
    // only a double's range: its largest long double is infinity.)
    const volatile long double widest = std::numeric_limits<long double>::max();
    if (widest != std::numeric_limits<long double>::infinity() &&
        std::numeric_limits<long double>::max_exponent > std::numeric_limits<double>::max_exponent) {
        CHECK(thrown([] { (void)sess::variant(std::numeric_limits<long double>::max()); }) == SESS_DISP_E_OVERFLOW);
        CHECK(thrown([] { (void)sess::variant(-std::numeric_limits<long double>::max()); }) == SESS_DISP_E_OVERFLOW);
    }
    CHECK(std::isinf(sess::variant(std::numeric_limits<long double>::infinity()).get()->v.dblVal));
    CHECK(std::isnan(sess::variant(std::numeric_limits<long double>::quiet_NaN()).get()->v.dblVal));
    // The others did not change: no overload became ambiguous, none throws.
    static_assert(std::is_nothrow_constructible_v<sess::variant, double>);
    static_assert(std::is_nothrow_constructible_v<sess::variant, float>);
    static_assert(std::is_nothrow_constructible_v<sess::variant, int>);
    static_assert(std::is_nothrow_constructible_v<sess::variant, bool>);
}

TEST_CASE("variant: only UTF-8 text converts from a pointer; a null one is E_POINTER")
{
    // u"" or L"" text, an object's raw pointer, any other pointer or
    // nullptr would have been a VT_BOOL (or strlen(NULL)).
    static_assert(!std::is_constructible_v<sess::variant, const char16_t *>);
    static_assert(!std::is_constructible_v<sess::variant, const wchar_t *>);
#ifdef __cpp_char8_t
    static_assert(!std::is_constructible_v<sess::variant, const char8_t *>); // C++20's u8""
#endif
    static_assert(!std::is_constructible_v<sess::variant, int *>);
    static_assert(!std::is_constructible_v<sess::variant, sess_unknown *>);
    static_assert(!std::is_constructible_v<sess::variant, void (*)()>);
    // A pointer to member was VT_BOOL true (the pointer fix missed it).
    static_assert(!std::is_constructible_v<sess::variant, int sess::item::*>);
    static_assert(!std::is_constructible_v<sess::variant, std::string sess::item::*>);
    static_assert(!std::is_constructible_v<sess::variant, bool (sess::variant::*)() const noexcept>);
    static_assert(!std::is_constructible_v<sess::variant, std::nullptr_t>);
    static_assert(!std::is_convertible_v<const char16_t *, sess::variant>);
    static_assert(std::is_convertible_v<const char *, sess::variant>);
    static_assert(std::is_convertible_v<char *, sess::variant>);
    char name[] = "Arthur";
    CHECK(sess::variant(name).str() == "Arthur");
    const char *none = nullptr;
    CHECK(thrown([&] { (void)sess::variant(none); }) == SESS_E_POINTER);
}

// Only signed char and unsigned char (std::int8_t, std::uint8_t) are
// numbers: s.set("grade", u'A') stored 65 as VT_UI2 (L'A' as VT_I4), where
// 'A' was refused.
TEST_CASE("variant: a character of any type is not a number")
{
    static_assert(!std::is_constructible_v<sess::variant, char>);
    static_assert(!std::is_constructible_v<sess::variant, wchar_t>);
    static_assert(!std::is_constructible_v<sess::variant, char16_t>);
    static_assert(!std::is_constructible_v<sess::variant, char32_t>);
#ifdef __cpp_char8_t
    static_assert(!std::is_constructible_v<sess::variant, char8_t>);
#endif
    CHECK(sess::variant(std::int8_t{-7}).vt() == SESS_VT_I1);
    CHECK(sess::variant(std::uint8_t{7}).vt() == SESS_VT_UI1);
}

// s.contents()["k"] = v (ASP's Session.Contents("k") = v) and
// s.get("k") = v compiled and assigned a copy: nothing was stored.
TEST_CASE("variant: a value read out (a temporary) cannot be assigned to")
{
    static_assert(!std::is_assignable_v<sess::variant, int>);
    static_assert(!std::is_assignable_v<sess::variant, const sess::variant &>);
    static_assert(!std::is_assignable_v<sess::variant, sess::variant>);
    static_assert(std::is_copy_assignable_v<sess::variant>);
    static_assert(std::is_nothrow_move_assignable_v<sess::variant>);
    sess::variant v = 1;
    v = "x";
    CHECK(v.str() == "x");
}

// auto user = s.get("user").str() kept a view of the temporary's BSTR,
// freed at the end of the statement.
TEST_CASE("variant: str() of a temporary owns its text")
{
    sess::app app;
    sess::session s = app.create();
    const std::string name = "Arthur Keyton Weissinger, of Ulm";
    s.set("user", name);
    const auto user = s.get("user").str();
    CHECK(user == name);
    const sess::variant kept = s.get("user");
    static_assert(std::is_same_v<decltype(kept.str()), std::string_view>);
    CHECK(kept.str() == name);
    s.close();
}

TEST_CASE("variant: arrays are copied by value; copy and move")
{
    sess::variant names(std::vector<sess::variant>{"Chris", "Julie", "Vikram", "Kelly"});
    CHECK(names.is_array());
    sess::variant copy = names;
    std::vector<sess::variant> items = copy.as<std::vector<sess::variant>>();
    REQUIRE(items.size() == 4);
    CHECK(items[1].str() == "Julie");
    items[1] = "Mark";
    CHECK(names.as<std::vector<sess::variant>>()[1].str() == "Julie");
    sess::variant moved = std::move(copy);
    CHECK(moved.is_array());
    CHECK(copy.empty()); // NOLINT: a moved-from variant is VT_EMPTY
    copy = moved;
    CHECK(copy.as<std::vector<sess::variant>>().size() == 4);
    CHECK(thrown([] { (void)sess::variant(1).as<std::vector<sess::variant>>(); }) == SESS_DISP_E_TYPEMISMATCH);
}

TEST_CASE("variant: byte arrays (VT_ARRAY | VT_UI1) go in and come out as bytes")
{
    const std::vector<std::uint8_t> data{0x00, 0xFF, 'a', 0x80};
    sess::variant blob = sess::variant::bytes(data);
    CHECK(blob.vt() == (SESS_VT_ARRAY | SESS_VT_UI1));
    CHECK(blob.as<std::vector<std::uint8_t>>() == data);
    sess::variant copy = blob;
    CHECK(copy.as<std::vector<std::uint8_t>>() == data);
    CHECK(sess::variant::bytes(nullptr, 0).as<std::vector<std::uint8_t>>().empty());
    CHECK(thrown([] { (void)sess::variant::bytes(nullptr, 1); }) == SESS_E_POINTER);
    CHECK(thrown([&] { (void)blob.as<std::vector<sess::variant>>(); }) == SESS_DISP_E_TYPEMISMATCH);
    CHECK(thrown([] { (void)sess::variant(std::vector<sess::variant>{1}).as<std::vector<std::uint8_t>>(); }) ==
          SESS_DISP_E_TYPEMISMATCH);

    sess::app app;
    sess::session s = app.create();
    s.set("blob", blob);
    CHECK(s.get("blob").as<std::vector<std::uint8_t>>() == data);
    s.close();
}

TEST_CASE("errors carry the HRESULT and the library's message")
{
    sess::app app;
    try {
        (void)app.open("AAAAAAAAAAAAAAAAAAAAAA");
        FAIL("opened a session the store never issued");
    } catch (const sess::error &e) {
        CHECK(e.code() == SESS_E_SESSION_NOT_FOUND);
        CHECK(std::string(e.what()).find("not found") != std::string::npos);
    }
    CHECK(thrown([&] { (void)app.open("short"); }) == SESS_E_INVALID_SESSION_ID);
    sess_app_options bad = sess::app_options();
    bad.max_timeout_minutes = 1;
    bad.default_timeout_minutes = 5;
    CHECK(thrown([&] { sess::app a(bad); }) == SESS_E_INVALID_OPTION);
}

TEST_CASE("a session leaving scope by an exception is discarded; close() commits and reports")
{
    sess::app app;
    std::string id;
    {
        sess::session s = app.create();
        s.set("kept", 1);
        id = s.id();
        s.close();
        CHECK_FALSE(s);
        CHECK(thrown([&] { s.close(); }) == SESS_E_POINTER);
    }
    try {
        sess::session s = app.open(id);
        s.set("kept", 2);
        s.set("lost", "yes");
        throw std::runtime_error("the page failed");
    } catch (const std::runtime_error &) {
    }
    {
        sess::session s = app.open(id);
        CHECK(s.get("kept").as<std::int32_t>() == 1);
        CHECK(s.get("lost").empty());
        s.set("kept", 3); // scope exit without close(): committed
    }
    sess::session s = app.open(id, true);
    CHECK(s.is_readonly());
    CHECK(s.mode() == SESS_MODE_INPROC);
    CHECK(s.get("kept").as<std::int32_t>() == 3);
    CHECK(thrown([&] { s.set("x", 1); }) == SESS_E_READONLY);
    s.discard();
}

TEST_CASE("lock contention is sess::error LOCK_TIMEOUT")
{
    sess::app app = quick_app();
    sess::session first = app.create();
    first.set("a", 1);
    const std::string id = first.id();
    first.close();
    sess::session holder = app.open(id);
    CHECK(thrown([&] { (void)app.open(id); }) == SESS_E_LOCK_TIMEOUT);
    holder.close();
}

// A session_ref over an owning session would let an assignment leak one
// handle and close another twice.
TEST_CASE("session: not a session_ref; ref() lends one")
{
    static_assert(!std::is_convertible_v<sess::session &, sess::session_ref &>);
    static_assert(!std::is_convertible_v<sess::session *, sess::session_ref *>);
    sess::app app;
    sess::session a = app.create();
    sess::session b = app.create();
    a.set("x", 1);
    b.set("y", 2);
    sess::session_ref r = a.ref();
    CHECK(r.handle() == a.handle());
    r = b.ref(); // rebinds the view; no owner changes
    CHECK(r.get("y").as<int>() == 2);
    CHECK(a.get("x").as<int>() == 1);
    CHECK(a.id() != b.id());
    a.close();
    b.close();
}

// Whether a name of type N can be passed to get / set / open.
template <class N, class = void> struct gets_by : std::false_type {};
template <class N>
struct gets_by<N, std::void_t<decltype(std::declval<sess::session_ref &>().get(std::declval<N>()))>>
    : std::true_type {};
template <class N, class = void> struct sets_by : std::false_type {};
template <class N>
struct sets_by<N, std::void_t<decltype(std::declval<sess::session_ref &>().set(std::declval<N>(), 1))>>
    : std::true_type {};
template <class N, class = void> struct opens_by : std::false_type {};
template <class N>
struct opens_by<N, std::void_t<decltype(std::declval<sess::app &>().open(std::declval<N>()))>> : std::true_type {};

// A name or text parameter was a std::string_view, which a const char *
// converts to by strlen: s.get(nullptr), or a null const char *, crashed
// (undefined behaviour) before libsess saw it. nullptr no longer compiles;
// a null const char * is E_POINTER, as it is for a variant.
TEST_CASE("names and text: a null const char * is E_POINTER, nullptr does not compile")
{
    static_assert(!gets_by<std::nullptr_t>::value);
    static_assert(!sets_by<std::nullptr_t>::value);
    static_assert(!opens_by<std::nullptr_t>::value);
    static_assert(gets_by<const char *>::value && gets_by<char *>::value && gets_by<std::string>::value &&
                  gets_by<std::string_view>::value && gets_by<const char (&)[5]>::value);
    static_assert(sets_by<const char *>::value && sets_by<std::string>::value && sets_by<std::string_view>::value);
    const char *none = nullptr;
    sess::app app;
    sess::session s = app.create();
    CHECK(thrown([&] { (void)s.get(none); }) == SESS_E_POINTER);
    CHECK(thrown([&] { s.set(none, 1); }) == SESS_E_POINTER);
    CHECK(thrown([&] { (void)s.get_as<int>(none); }) == SESS_E_POINTER);
    CHECK(thrown([&] { (void)s.borrow_str(none); }) == SESS_E_POINTER);
    CHECK(thrown([&] { (void)s.value_txt(none); }) == SESS_E_POINTER);
    CHECK(thrown([&] { (void)s.value_txt("t", none); }) == SESS_E_POINTER);
    CHECK(thrown([&] { (void)s.contents()[none]; }) == SESS_E_POINTER);
    CHECK(thrown([&] { (void)s.contents().remove(none); }) == SESS_E_POINTER);
    CHECK(thrown([&] { (void)s.static_objects()[none]; }) == SESS_E_POINTER);
    CHECK(thrown([&] { (void)app.open(none); }) == SESS_E_POINTER);
    CHECK(s.contents().size() == 0);
    char name[] = "user";
    s.set(name, "Arthur");
    CHECK(s.get(std::string_view("USER")).str() == "Arthur");
    s.close();
    sess::site site;
    CHECK(thrown([&] { site.add(none, app); }) == SESS_E_POINTER);
    site.add("/", app);
    CHECK(thrown([&] { sess::request r(site, none); }) == SESS_E_POINTER);
    CHECK(thrown([&] { sess::request r(site, "/page.asp", none); }) == SESS_E_POINTER); // none is ""
    sess::request r(site, "/page.asp", "");
    CHECK(thrown([&] { (void)r.rewrite_url(none); }) == SESS_E_POINTER);
}

TEST_CASE("names and text holding a NUL are E_INVALIDARG, not cut short")
{
    using namespace std::string_literals;
    const std::string key = "user\0admin"s;
    sess::app app;
    sess::session s = app.create();
    CHECK(thrown([&] { s.set(key, "mallory"); }) == SESS_E_INVALIDARG);
    CHECK(thrown([&] { (void)s.get(key); }) == SESS_E_INVALIDARG);
    CHECK(thrown([&] { (void)s.get_as<int>(key); }) == SESS_E_INVALIDARG);
    CHECK(thrown([&] { (void)s.borrow_str(key); }) == SESS_E_INVALIDARG);
    CHECK(thrown([&] { (void)s.value_txt(key); }) == SESS_E_INVALIDARG);
    CHECK(thrown([&] { (void)s.contents().remove(key); }) == SESS_E_INVALIDARG);
    CHECK(thrown([&] { (void)s.static_objects()[key]; }) == SESS_E_INVALIDARG);
    CHECK(thrown([&] { (void)s.value_txt("t", "ab\0cd"s); }) == SESS_E_INVALIDARG);
    CHECK(s.contents().size() == 0);
    s.set("t", "ab\0cd"s); // a variant keeps them (a BSTR has a length)
    CHECK(s.get("t").str() == "ab\0cd"s);
    const std::string id = s.id();
    s.close();
    CHECK(thrown([&] { (void)app.open(id + "\0"s); }) == SESS_E_INVALIDARG);
    sess::site site;
    CHECK(thrown([&] { site.add("/\0shop"s, app); }) == SESS_E_INVALIDARG);
    site.add("/", app);
    CHECK(thrown([&] { sess::request r(site, "/page.asp\0.txt"s); }) == SESS_E_INVALIDARG);
}

// Seed 004, Contents: SessionPage1.asp stores three values; SessionPage2.asp
// lists Count and every key and value, then reads items by index.
TEST_CASE("seed 004: the Contents pages")
{
    sess::app app;
    std::string id;
    {
        sess::session page1 = app.create();
        CHECK(page1.is_new());
        page1.set("SessionVar1", "Session Variable 1");
        page1.set("SessionVar2", "Session Variable 2");
        page1.set("SessionVar3", "Session Variable 3");
        id = page1.id();
        page1.close();
    }
    sess::session page2 = app.open(id);
    CHECK_FALSE(page2.is_new());
    sess::contents contents = page2.contents();
    CHECK(contents.size() == 3);
    std::vector<std::string> seen;
    for (const sess::item &i : contents)
        seen.push_back(i.key + "=" + i.value.as<std::string>());
    CHECK(seen == std::vector<std::string>{"SessionVar1=Session Variable 1", "SessionVar2=Session Variable 2",
                                           "SessionVar3=Session Variable 3"});
    page2.set("AppStatus", "OK");
    CHECK(contents.size() == 4);
    CHECK(contents.at(0).str() == "Session Variable 1");
    CHECK(contents["sessionvar2"].str() == "Session Variable 2");
    CHECK(thrown([&] { (void)contents.at(4); }) == SESS_DISP_E_BADINDEX);
    page2.close();
}

// Seed 004: Remove shifts the later items down one index.
TEST_CASE("seed 004: Remove shifts indexes")
{
    sess::app app;
    sess::session s = app.create();
    s.set("strFirstName", "Arthur");
    s.set("strMiddleName", "Keyton");
    s.set("strLastName", "Weissinger");
    CHECK(s.contents().remove("strMiddleName"));
    CHECK_FALSE(s.contents().remove("strMiddleName"));
    CHECK(s.contents().at(0).str() == "Arthur");
    CHECK(s.contents().at(1).str() == "Weissinger");
    CHECK(thrown([&] { (void)s.contents().at(2); }) == SESS_DISP_E_BADINDEX);
    s.contents().remove_at(0);
    CHECK(s.contents().key(0) == "strLastName");
    s.contents().clear();
    CHECK(s.contents().size() == 0);
    s.close();
}

// What contents() gives through an S, as a variable would hold it.
template <class S> using contents_of = std::decay_t<decltype(std::declval<S>().contents())>;
// Whether a C can be cleared (RemoveAll).
template <class C, class = void> struct has_clear : std::false_type {};
template <class C> struct has_clear<C, std::void_t<decltype(std::declval<C &>().clear())>> : std::true_type {};

// A const session (or session_ref) read only, but its contents() could be
// changed: cs.contents().clear(), set_at, remove, remove_at all compiled.
// Whether an S lends a session_ref (a writable view of its session).
template <class S, class = void> struct lends_ref : std::false_type {};
template <class S> struct lends_ref<S, std::void_t<decltype(std::declval<S>().ref())>> : std::true_type {};

// A const session lent a writable session_ref: cs.ref().set("k", v) and
// cs.ref().contents().clear() compiled.
TEST_CASE("session: a const session lends no writable session_ref")
{
    static_assert(lends_ref<sess::session &>::value);
    static_assert(!lends_ref<const sess::session &>::value);
}

TEST_CASE("contents: a const session's contents are read-only")
{
    static_assert(has_clear<contents_of<sess::session &>>::value);
    static_assert(has_clear<contents_of<sess::session_ref &>>::value);
    static_assert(!has_clear<contents_of<const sess::session &>>::value);
    static_assert(!has_clear<contents_of<const sess::session_ref &>>::value);
    sess::app app;
    sess::session s = app.create();
    s.contents().clear();
    s.set("a", 1);
    const sess::session &cs = s;
    auto view = cs.contents();
    CHECK(view.size() == 1);
    CHECK(view.key(0) == "a");
    CHECK(view["A"].as<int>() == 1);
    CHECK(view.at(0).as<int>() == 1);
    for (const sess::item &i : cs.contents())
        CHECK(i.key == "a");
    s.close();
}

TEST_CASE("contents: the iterator outlives the contents object and is an input iterator")
{
    using iterator = sess::contents::iterator;
    static_assert(std::is_same_v<std::iterator_traits<iterator>::iterator_category, std::input_iterator_tag>);
    static_assert(std::is_same_v<std::iterator_traits<iterator>::value_type, sess::item>);
    sess::app app;
    sess::session s = app.create();
    s.set("a", 1);
    s.set("b", 2);
    auto it = s.contents().begin(); // the contents object is a temporary
    const auto end = s.contents().end();
    std::vector<std::string> keys;
    while (it != end)
        keys.push_back((it++)->key);
    CHECK(keys == std::vector<std::string>{"a", "b"});
    CHECK(std::distance(s.contents().begin(), s.contents().end()) == 2);
    CHECK((*s.contents().begin()).value.as<int>() == 1);
    s.close();
}

// The iterator went by index, reading item i anew: removing the current
// item in a range-for shifted the next one into its index, so the loop
// skipped it, and then threw DISP_E_BADINDEX ("index 2 is out of range")
// past the new end, with some items removed and others not. COM's
// enumerator and Python's iteration walk a snapshot of the keys, where
// changing the Contents is safe; so does C++'s now.
// operator-> returned a proxy holding the item for the one expression, so
// `it->value.str()` (an lvalue: str()'s view, not its copy) and
// `const std::string &k = it->key` dangled at the semicolon: reading them
// was a use after free (valgrind, ASan). The item now lives in the
// iterator, read by the first -> at each position.
TEST_CASE("contents: what the iterator's -> reads lives until the iterator moves on")
{
    static_assert(std::is_same_v<sess::contents::iterator::pointer, const sess::item *>);
    sess::app app;
    sess::session s = app.create();
    s.set("user", "Arthur Dent, of Earth");
    s.set("n", 2);
    auto it = s.contents().begin();
    const std::string_view user = it->value.str();
    const std::string &key = it->key;
    CHECK(user == "Arthur Dent, of Earth");
    CHECK(key == "user");
    ++it;
    CHECK(it->value.as<int>() == 2);
    s.close();
}

TEST_CASE("contents: removing items in a range-for visits every item")
{
    sess::app app;
    sess::session s = app.create();
    s.set("cart_a", 1);
    s.set("cart_b", 2);
    s.set("user", "Arthur");
    s.set("cart_c", 3);
    std::vector<std::string> seen;
    for (const sess::item &i : s.contents()) {
        seen.push_back(i.key);
        if (i.key.rfind("cart_", 0) == 0)
            CHECK(s.contents().remove(i.key));
    }
    CHECK(seen == std::vector<std::string>{"cart_a", "cart_b", "user", "cart_c"});
    CHECK(s.contents().size() == 1);
    CHECK(s.contents().key(0) == "user");
    // An item removed before the loop reaches it reads as a missing one
    // (VT_EMPTY); one added meanwhile is not visited.
    s.set("a", 1);
    s.set("b", 2);
    seen.clear();
    for (const sess::item &i : s.contents()) {
        seen.push_back(i.key);
        if (i.key == "user") {
            s.contents().remove("a");
            s.set("later", 3);
        }
        if (i.key == "a")
            CHECK(i.value.empty());
        if (i.key == "b")
            CHECK(i.value.as<int>() == 2);
    }
    CHECK(seen == std::vector<std::string>{"user", "a", "b"});
    CHECK(s.contents().begin() == s.contents().begin());
    CHECK(s.contents().begin() != s.contents().end());
    CHECK(++s.contents().begin() != s.contents().begin());
    s.contents().clear();
    CHECK(s.contents().begin() == s.contents().end());
    s.close();
}

// Seed 004: an array stored in the session is a copy; changing the copy read
// out changes nothing until it is stored back.
TEST_CASE("seed 004: arrays stored by value")
{
    sess::app app;
    sess::session s = app.create();
    s.set("arystrUserNames", std::vector<sess::variant>{"Chris", "Julie", "Vikram", "Kelly"});
    std::vector<sess::variant> names2 = s.get("arystrUserNames").as<std::vector<sess::variant>>();
    names2[1] = "Mark";
    CHECK(s.get("arystrUserNames").as<std::vector<sess::variant>>()[1].str() == "Julie");
    s.set("arystrUserNames", names2);
    CHECK(s.get("arystrUserNames").as<std::vector<sess::variant>>()[1].str() == "Mark");
    s.close();
}

// Contents' values as ASP.NET's CopyTo gives them (sess_contents_copy),
// which the binding lacked: deep copies, in order, also from a read-only
// view; changing a copy changes nothing stored.
TEST_CASE("contents: values() copies the values in order")
{
    sess::app app;
    sess::session s = app.create();
    CHECK(s.contents().values().empty());
    s.set("b", 2);
    s.set("a", "one");
    s.set("list", std::vector<sess::variant>{1, 2});
    std::vector<sess::variant> values = static_cast<const sess::session &>(s).contents().values();
    REQUIRE(values.size() == 3);
    CHECK(values[0].as<int>() == 2);
    CHECK(values[1].str() == "one");
    std::vector<sess::variant> list = values[2].as<std::vector<sess::variant>>();
    REQUIRE(list.size() == 2);
    CHECK(list[1].as<int>() == 2);
    values[2] = std::vector<sess::variant>{3};
    CHECK(s.get("list").as<std::vector<sess::variant>>().size() == 2);
    s.close();
}

namespace {
struct end_log {
    std::mutex lock;
    int ends = 0;
    std::string line;
};
} // namespace

// Seed 004: Abandon marks the session; its contents stay readable until the
// page ends; then Session_OnEnd runs (reading them) and the ID is dead.
TEST_CASE("seed 004: Abandon and Session_OnEnd")
{
    end_log log;
    sess::app_events events;
    events.on_end = [&log](sess::session_ref s) {
        std::lock_guard<std::mutex> guard(log.lock);
        ++log.ends;
        log.line = s.get("SessionVar1").as<std::string>() + "/" + s.get("intUserAge").as<std::string>();
    };
    sess_app_options o = sess::app_options();
    events.install(o);
    sess::app app(o);
    std::string id;
    {
        sess::session s = app.create();
        s.set("SessionVar1", "preferences");
        id = s.id();
        s.close();
    }
    sess::session s = app.open(id);
    s.set("intUserAge", 23);
    s.abandon();
    CHECK(s.is_abandoned());
    CHECK(s.get("intUserAge").as<std::int32_t>() / 10 == 2);
    s.close();
    {
        std::lock_guard<std::mutex> guard(log.lock);
        CHECK(log.ends == 1);
        CHECK(log.line == "preferences/23");
    }
    CHECK(thrown([&] { (void)app.open(id); }) == SESS_E_SESSION_NOT_FOUND);
}

// An exception thrown by a Session_OnEnd handler unwound into the library
// (a raw on_end lambda was all the binding had): the process aborted.
// app_events stops it at the boundary. Session_OnEnd returns nothing in the
// C contract (the session ends whatever it does), so the exception goes to
// on_end_error, on the thread that ran the handler.
TEST_CASE("app_events: an exception from on_end is reported, the session ends all the same")
{
    struct world {
        std::mutex lock;
        int ends = 0;
        std::vector<std::string> reported;
    } w;
    sess::app_events events;
    events.on_end = [&](sess::session_ref s) {
        {
            std::lock_guard<std::mutex> guard(w.lock);
            ++w.ends;
        }
        if (s.get("fail").as<bool>())
            throw std::runtime_error("OnEnd failed for " + s.get("user").as<std::string>());
        throw sess::error(SESS_E_STORE_UNAVAILABLE, "the audit log is down");
    };
    events.on_end_error = [&](std::exception_ptr e) {
        try {
            std::rethrow_exception(e);
        } catch (const sess::error &x) {
            std::lock_guard<std::mutex> guard(w.lock);
            w.reported.push_back("sess::error " + std::to_string(x.code()) + ": " + x.what());
        } catch (const std::exception &x) {
            std::lock_guard<std::mutex> guard(w.lock);
            w.reported.push_back(x.what());
        }
    };
    sess_app_options o = sess::app_options();
    events.install(o);
    CHECK(o.event_context != nullptr); // the handlers install() copied
    CHECK((o.on_start == nullptr)); // no handler: no Session_OnStart (it would store every session)
    CHECK((o.on_end != nullptr));
    std::string id;
    {
        sess::app app(o);
        {
            sess::session s = app.create();
            s.set("user", "Arthur");
            s.set("fail", true);
            id = s.id();
            s.abandon();
            s.close(); // Session_OnEnd runs here, and throws
        }
        {
            std::lock_guard<std::mutex> guard(w.lock);
            CHECK(w.ends == 1);
            CHECK(w.reported == std::vector<std::string>{"OnEnd failed for Arthur"});
        }
        CHECK(thrown([&] { (void)app.open(id); }) == SESS_E_SESSION_NOT_FOUND);
        CHECK(app.session_count() == 0);
        sess::session kept = app.create();
        kept.set("fail", false);
        kept.close();
    } // released: Session_OnEnd for the stored session, in ~app (noexcept)
    std::lock_guard<std::mutex> guard(w.lock);
    CHECK(w.ends == 2);
    REQUIRE(w.reported.size() == 2);
    CHECK(w.reported[1] == "sess::error " + std::to_string(SESS_E_STORE_UNAVAILABLE) + ": the audit log is down");
}

// Without on_end_error the exception's what() goes to std::cerr; one that
// is no std::exception is named as such.
TEST_CASE("app_events: without on_end_error, an exception from on_end is written to std::cerr")
{
    sess::app_events events;
    events.on_end = [](sess::session_ref s) {
        if (s.get("plain").as<bool>())
            throw 42;
        throw std::runtime_error("OnEnd failed");
    };
    sess_app_options o = sess::app_options();
    events.install(o);
    std::ostringstream err;
    std::streambuf *const was = std::cerr.rdbuf(err.rdbuf());
    {
        sess::app app(o);
        for (bool plain : {false, true}) {
            sess::session s = app.create();
            s.set("plain", plain);
            s.abandon();
            s.close();
        }
    }
    std::cerr.rdbuf(was);
    CHECK(err.str() == "libsess: Session_OnEnd threw: OnEnd failed\n"
                       "libsess: Session_OnEnd threw: an exception that is not a std::exception\n");
}

// Session_OnStart has a failure code to return: an exception cancels the
// session, and the call creating it fails with the exception's code and,
// in its what(), the exception's.
TEST_CASE("app_events: an exception from on_start cancels the session with its code and message")
{
    sess::app_events events;
    int starts = 0;
    events.on_start = [&](sess::session_ref s) {
        ++starts;
        switch (starts) {
        case 1:
            throw sess::error(SESS_E_TOO_MANY_SESSIONS, "no more today");
        case 2:
            throw std::bad_alloc();
        case 3:
            throw std::runtime_error("the accounts database is down");
        case 4:
            s.timeout(0); // a libsess call failing inside: its own detail
            break;
        default:
            s.set("started", starts);
        }
    };
    sess_app_options o = sess::app_options();
    events.install(o);
    CHECK((o.on_start != nullptr));
    CHECK((o.on_end == nullptr));
    sess::app app(o);
    const auto create = [&] { (void)app.create(); };
    CHECK(error_of(create) == failure{SESS_E_TOO_MANY_SESSIONS, "Session_OnStart failed: no more today"});
    CHECK(error_of(create) == failure{SESS_E_OUTOFMEMORY, "Session_OnStart failed"});
    CHECK(error_of(create) == failure{SESS_E_FAIL, "Session_OnStart failed: the accounts database is down"});
    CHECK(error_of(create) ==
          failure{SESS_E_INVALID_TIMEOUT, "Session_OnStart failed: Timeout 0 is outside 1..=525600 minutes"});
    CHECK(app.session_count() == 0);
    sess::session s = app.create();
    CHECK(s.get("started").as<int>() == 5);
    s.close();
    CHECK(app.session_count() == 1);
}

// sess::guard: the boundary for the callbacks a host writes itself (here a
// static object's factory); what it throws becomes the callback's code.
// install() pointed the options at the app_events object itself: moving
// it afterwards (a struct holding both it and the app, returned or kept in
// a container that moves) left the application calling the moved-from
// object's handlers (empty: every create() failed with E_FAIL
// "bad_function_call"), or freed memory once it was destroyed. The
// handlers installed now live in a block the object owns and a move
// carries, so the application keeps calling them.
TEST_CASE("app_events: moved after install(), its handlers still run")
{
    struct server {
        sess::app_events events;
        std::optional<sess::app> app;
    };
    std::optional<server> first(std::in_place);
    first->events.on_start = [](sess::session_ref s) { s.set("started", 1); };
    int ends = 0;
    first->events.on_end = [&ends](sess::session_ref) { ++ends; };
    sess_app_options o = sess::app_options();
    first->events.install(o);
    first->app.emplace(o);
    server moved = std::move(*first);
    sess::session s = moved.app->create();
    CHECK(s.get("started").as<int>() == 1);
    s.abandon();
    s.close();
    CHECK(ends == 1);
    // Handlers changed after install() change nothing for the application
    // it was installed in.
    moved.events.on_start = [](sess::session_ref s) { s.set("started", 2); };
    sess::session t = moved.app->create();
    CHECK(t.get("started").as<int>() == 1);
    t.close();
}

TEST_CASE("guard: a C callback's exception becomes its result code and message")
{
    CHECK(sess::guard([] {}) == SESS_S_OK);
    CHECK(sess::guard([] { return SESS_S_FALSE; }) == SESS_S_FALSE);
    CHECK(sess::guard([] { throw sess::error(SESS_E_INVALIDARG); }) == SESS_E_INVALIDARG);
    CHECK(sess::guard([] { throw sess::error(SESS_S_FALSE, "a success code is no failure"); }) == SESS_E_FAIL);
    CHECK(sess::guard([]() -> sess_result { throw std::bad_alloc(); }) == SESS_E_OUTOFMEMORY);
    CHECK(sess::guard([] { throw "text"; }) == SESS_E_FAIL);
    const auto throws = [] { throw 1; };
    static_assert(noexcept(sess::guard(throws)));

    sess_static_object_decl decl{"objBroken",
                                 [](void *, const char *, sess_unknown **) noexcept {
                                     return sess::guard([] { throw sess::error(SESS_E_NOINTERFACE, "no such class"); });
                                 },
                                 nullptr};
    sess_app_options o = sess::app_options();
    o.static_objects = &decl;
    o.static_object_count = 1;
    sess::app app(o);
    sess::session s = app.create();
    CHECK(error_of([&] { (void)s.static_objects()["objBroken"]; }) ==
          failure{SESS_E_NOINTERFACE, "a static object factory failed: no such class"});
    s.close();
}

// Seed 004: Timeout slides with each unit of work; past it the session ends
// (Session_OnEnd runs) and the ID is dead. Time moves by an injected clock.
TEST_CASE("seed 004: Timeout ends the session")
{
    struct world {
        std::atomic<std::uint64_t> now{1000000};
        std::atomic<int> ends{0};
    } w;
    sess_app_options o = sess::app_options();
    o.clock = [](void *c) -> std::uint64_t { return static_cast<world *>(c)->now.load(); };
    o.clock_context = &w;
    o.on_end = [](void *c, sess_session *) { ++static_cast<world *>(c)->ends; };
    o.event_context = &w;
    o.expiry_interval_ms = 0;
    sess::app app(o);
    std::string id;
    {
        sess::session s = app.create();
        s.set("user", "Arthur");
        s.timeout(1);
        id = s.id();
        s.close();
    }
    w.now += 50000;
    CHECK(app.expire() == 0);
    app.open(id).close(); // slides: another minute from now
    w.now += 50000;
    CHECK(app.expire() == 0);
    w.now += 20000;
    CHECK(app.expire() == 1);
    CHECK(w.ends == 1);
    CHECK(thrown([&] { (void)app.open(id); }) == SESS_E_SESSION_NOT_FOUND);
}

// Seed 004: Timeout, LCID and CodePage; bad values are refused and leave the
// value in force.
TEST_CASE("seed 004: Timeout, LCID, CodePage")
{
    sess::app app;
    sess::session s = app.create();
    CHECK(s.timeout() == 20);
    CHECK(s.timeout(5) == 5);
    CHECK(thrown([&] { s.timeout(0); }) == SESS_E_INVALID_TIMEOUT);
    CHECK(s.timeout() == 5);
    // A std::chrono duration: whole minutes, else refused, not rounded.
    using namespace std::chrono_literals;
    CHECK(s.timeout(2h) == 120);
    CHECK(s.timeout(std::chrono::duration<double, std::ratio<60>>(7.0)) == 7);
    CHECK(thrown([&] { s.timeout(90s); }) == SESS_E_INVALID_TIMEOUT);
    CHECK(thrown([&] { s.timeout(std::chrono::duration<double>(NAN)); }) == SESS_E_INVALID_TIMEOUT);
    CHECK(thrown([&] { s.timeout(std::chrono::hours((std::numeric_limits<int>::max)())); }) == SESS_E_INVALID_TIMEOUT);
    CHECK(thrown([&] { s.timeout(-5min); }) == SESS_E_INVALID_TIMEOUT);
    CHECK(s.timeout() == 7);
    s.timeout(5);
    const std::uint32_t orig = s.lcid();
    CHECK(s.lcid(1036) == 1036);
    s.set("price", 1234.5);
    CHECK(s.value_txt("price") == "1234,5");
    CHECK(thrown([&] { s.lcid(0x12345); }) == SESS_E_INVALID_LCID);
    CHECK(s.lcid(orig) == orig);
    CHECK(s.value_txt("price") == "1234.5");
    const std::uint32_t cp = s.codepage();
    CHECK(s.codepage(950) == 950);
    CHECK(thrown([&] { s.codepage(12345); }) == SESS_E_INVALID_CODEPAGE);
    CHECK(s.codepage() == 950);
    CHECK(s.codepage(cp) == cp);
    s.close();
}

// The C calls a host needs around the session had no C++ form: collation
// under the session's LCID (sess_compare_text, a contract addition),
// response text in the session's CodePage and its charset
// (sess_codepage_encode / _decode / _charset), the LCID in force
// (sess_lcid_effective), and the application's counters and expiry health
// for monitoring (sess_app_stats, sess_app_expiry_status).
TEST_CASE("locale and code page helpers, the LCID in force, the application's counters")
{
    CHECK(sess::compare_text(0x0409, "a", "B") < 0);
    CHECK(sess::compare_text(0x0409, "abc", "ABC", SESS_NORM_IGNORECASE) == 0);
    CHECK(sess::compare_text(0x041D, "\xC3\xB6", "z") > 0); // Swedish: ö after z
    CHECK(sess::compare_text(0x0407, "\xC3\xB6", "z") < 0); // German: ö with o
    CHECK(thrown([] { (void)sess::compare_text(0x0409, "a", "b", 0x80000000u); }) == SESS_E_INVALIDARG);
    CHECK(thrown([] { (void)sess::compare_text(0x0409, std::string("a\0b", 3), "a"); }) == SESS_E_INVALIDARG);

    CHECK(sess::codepage_encode(1252, "caf\xC3\xA9") == "caf\xE9");
    CHECK(sess::codepage_encode(20127, "caf\xC3\xA9") == "caf&#233;");
    CHECK(sess::codepage_encode(20127, "caf\xC3\xA9", SESS_ENCODE_QUESTION_MARK) == "caf?");
    CHECK(sess::codepage_encode(1200, "ab") == std::string("a\0b\0", 4)); // UTF-16LE
    CHECK(sess::codepage_decode(1252, "caf\xE9") == "caf\xC3\xA9");
    CHECK(sess::codepage_charset(932) == "Shift_JIS");
    CHECK(thrown([] { (void)sess::codepage_charset(12345); }) == SESS_E_INVALID_CODEPAGE);
    CHECK(thrown([] { (void)sess::codepage_encode(1252, "\xFF"); }) == SESS_E_INVALIDARG);

    sess_app_options o = sess::app_options();
    o.default_lcid = 0x0407;
    sess::app app(o);
    {
        sess::session s = app.create();
        s.lcid(SESS_LOCALE_USER_DEFAULT);
        CHECK(s.lcid() == SESS_LOCALE_USER_DEFAULT);
        CHECK(s.lcid_effective() == 0x0407);
        s.set("k", 1);
    }
    const sess_app_counters c = app.stats();
    CHECK(c.struct_size == sizeof c);
    CHECK(c.sessions_total == 1);
    CHECK(c.sessions_current == 1);
    CHECK_FALSE(app.expiry_error());
}

// sess.hpp filled sess_app_options and sess_web_options with the library's
// defaults (app_options(), web_options()) but not the other versioned
// structs a host fills: `sess_redis_options r{};` left struct_size 0
// (SESS_E_INVALID_OPTION) and every default (timeouts, pool size, lock TTL)
// 0 instead of the library's.
TEST_CASE("options: each versioned struct a host fills has its defaults helper")
{
    const sess_redis_options r = sess::redis_options();
    CHECK(r.struct_size == sizeof r);
    CHECK(r.connect_timeout_ms > 0);
    CHECK(r.op_timeout_ms > 0);
    CHECK(r.pool_size > 0);
    const sess_lmdb_options l = sess::lmdb_options();
    CHECK(l.struct_size == sizeof l);
    CHECK(l.lock_ttl_ms > 0);
    const sess_store_vtbl v = sess::store_vtbl();
    CHECK(v.struct_size == sizeof v);
    CHECK(v.context == nullptr);
    CHECK(sess::app_options().struct_size == sizeof(sess_app_options));
    CHECK(sess::web_options().struct_size == sizeof(sess_web_options));
}

// get_as read no currency and no DATE (the C ABI has sess_value_get_cy and
// sess_value_get_date): a host read a variant and converted it. It now
// reads both, as the binding's types (sess::currency, system_clock
// time_points), converted under the session's LCID.
TEST_CASE("typed reads: currency and DATE, with no variant in between")
{
    sess::app app;
    sess::session s = app.create();
    const sess::time_point when(milliseconds(981173106789)); // 2001-02-03 04:05:06.789
    s.set("price", sess::currency{25000});
    s.set("count", 41);
    s.set("when", when);
    s.set("text", "2,5");
    s.set("user", "Arthur");
    s.set("far", sess::variant(time_point<system_clock, seconds>(seconds(253402214400)))); // 9999-12-31
    CHECK(s.get_as<sess::currency>("PRICE").scaled == 25000);
    CHECK(s.get_as<sess::currency>("count").scaled == 410000);
    s.lcid(1031u); // German: "2,5" is 2.5
    CHECK(s.get_as<sess::currency>("text").scaled == 25000);
    CHECK(s.get_as<sess::time_point>("when") == when);
    CHECK(s.get_as<time_point<system_clock, seconds>>("when") == floor<seconds>(when));
    CHECK(s.get_as<sess::currency>("missing").scaled == 0);
    CHECK(s.get_as<sess::time_point>("missing") == sess::time_point(milliseconds(-2209161600000))); // 1899-12-30
    CHECK(thrown([&] { (void)s.get_as<sess::currency>("user"); }) == SESS_DISP_E_TYPEMISMATCH);
    CHECK(thrown([&] { (void)s.get_as<time_point<system_clock, nanoseconds>>("far"); }) == SESS_DISP_E_OVERFLOW);
    CHECK(s.get_as<sess::time_point>("far") == sess::time_point(milliseconds(253402214400000)));
    s.close();
}

TEST_CASE("typed and lent reads: no variant in between")
{
    sess::app app;
    sess::session s = app.create();
    s.set("count", 41);
    s.set("user", "Zoë");
    s.set("price", "2,5");
    CHECK(s.get_as<int>("COUNT") == 41);
    CHECK(s.get_as<long long>("count") == 41);
    CHECK(s.get_as<unsigned char>("count") == 41);
    CHECK(s.get_as<double>("count") == 41.0);
    CHECK(s.get_as<bool>("count"));
    CHECK(s.get_as<int>("missing") == 0);
    CHECK(thrown([&] { (void)s.get_as<int>("user"); }) == SESS_DISP_E_TYPEMISMATCH);
    s.set("big", 300);
    CHECK(thrown([&] { (void)s.get_as<std::uint8_t>("big"); }) == SESS_DISP_E_OVERFLOW);
    CHECK(s.lcid(0x0407) == 0x0407);
    CHECK(s.get_as<double>("price") == 2.5);
    CHECK(s.borrow_str("user") == "Zoë");
    CHECK(s.borrow_str("missing").empty());
    CHECK(thrown([&] { (void)s.borrow_str("count"); }) == SESS_DISP_E_TYPEMISMATCH);
    s.close();
}

// Seed 004: a session is stored only when something is written (or a static
// object is used, or Session_OnStart exists).
TEST_CASE("seed 004: lazy creation")
{
    sess::app app;
    {
        sess::session s = app.create();
        (void)s.get("nothing");
        s.close();
    }
    CHECK(app.session_count() == 0);
    {
        sess::session s = app.create();
        s.set("x", 1);
        s.close();
    }
    CHECK(app.session_count() == 1);
}

// Seed 004: StaticObjects declared for session scope (GLOBAL.ASA's
// <OBJECT RUNAT=Server SCOPE=Session>), made on first use.
TEST_CASE("seed 004: StaticObjects")
{
    sess_static_object_decl decl{"objInfo", test_object::factory, nullptr};
    sess_app_options o = sess::app_options();
    o.static_objects = &decl;
    o.static_object_count = 1;
    {
        sess::app app(o);
        sess::session s = app.create();
        sess::static_objects statics = s.static_objects();
        CHECK(statics.size() == 1);
        CHECK(statics.key(0) == "objInfo");
        sess::unknown_ptr a = statics["OBJINFO"].as<sess::unknown_ptr>();
        sess::unknown_ptr b = statics.at(0).as<sess::unknown_ptr>();
        CHECK(a.get() == b.get());
        CHECK(statics["other"].empty());
        CHECK(test_object::alive() == 1);
        s.close();
    }
    CHECK(test_object::alive() == 0);
}

TEST_CASE("objects stored in Contents are held by reference")
{
    sess::app app;
    sess::session s = app.create();
    {
        sess::unknown_ptr obj = test_object::make();
        s.set("obj", sess::variant(obj));
        CHECK(s.get("obj").as<sess::unknown_ptr>().get() == obj.get());
    }
    CHECK(test_object::alive() == 1);
    s.contents().remove("obj");
    s.close();
    CHECK(test_object::alive() == 0);
}

TEST_CASE("com_ptr: query on an empty pointer is E_POINTER")
{
    sess::unknown_ptr none;
    CHECK(thrown([&] { (void)none.query<sess_session_object>(SESS_IID_ISESSIONOBJECT); }) == SESS_E_POINTER);
    sess::variant null_object; // VT_UNKNOWN holding NULL, as COM allows
    null_object.put()->vt = SESS_VT_UNKNOWN;
    sess::unknown_ptr empty = null_object.as<sess::unknown_ptr>();
    CHECK_FALSE(empty);
    CHECK(thrown([&] { (void)empty.query<sess_unknown>(SESS_IID_ISESSIONOBJECT); }) == SESS_E_POINTER);
}

// A host's object records no error detail, so a failed QueryInterface on
// one said what this thread's last libsess failure with the same code had
// said (here Session_OnStart's), about another call altogether.
TEST_CASE("com_ptr: a host object's failed query has its code's message, not an earlier call's detail")
{
    // A host object whose QueryInterface fails (as a broken proxy's can).
    static const sess_unknown_vtbl failing_vtbl{
        [](sess_unknown *, const sess_guid *, void **out) {
            *out = nullptr;
            return SESS_E_FAIL;
        },
        [](sess_unknown *) -> std::uint32_t { return 1; }, [](sess_unknown *) -> std::uint32_t { return 1; }};
    sess_unknown failing{&failing_vtbl};
    const sess::unknown_ptr host = sess::unknown_ptr::adopt(&failing);

    sess::app_events events;
    events.on_start = [](sess::session_ref) { throw std::runtime_error("no account"); };
    sess_app_options o = sess::app_options();
    events.install(o);
    sess::app app(o);
    CHECK(error_of([&] { (void)app.create(); }) == failure{SESS_E_FAIL, "Session_OnStart failed: no account"});
    CHECK(error_of([&] { (void)host.query<sess_unknown>(SESS_IID_ISESSIONOBJECT); }) ==
          failure{SESS_E_FAIL, sess::error(SESS_E_FAIL).what()});
}

TEST_CASE("cookieless: the ID travels in URLs")
{
    sess::app app;
    sess::site site;
    sess_web_options web = sess::web_options();
    web.cookieless = true;
    site.add("/shop", app, &web);
    std::string id;
    {
        sess::request r(site, "/shop/cart.asp");
        sess::session_ref s = *r.session();
        s.set("items", 3);
        id = s.id();
        CHECK(r.rewrite_url("/shop/pay.asp") == "/shop/(S(" + id + "))/pay.asp");
        CHECK(r.url_id_outdated()); // a new session: its URL has no ID yet
        CHECK_FALSE(r.end());
    }
    sess::request r(site, "/shop/(S(" + id + "))/pay.asp");
    CHECK_FALSE(r.url_id_outdated());
    CHECK(r.path() == "/shop/pay.asp");
    CHECK(r.app_path() == "/shop");
    CHECK(r.session(false)->get("items").as<std::int32_t>() == 3);
}

TEST_CASE("site and request: cookie in, Set-Cookie out")
{
    sess::app app;
    sess::site site;
    site.add("/", app);
    std::string cookie;
    {
        sess::request r(site, "/page1.asp");
        std::optional<sess::session_ref> s = r.session();
        REQUIRE(s);
        s->set("user", "Arthur");
        const std::string id = s->id();
        std::optional<std::string> set_cookie = r.end();
        REQUIRE(set_cookie);
        cookie = set_cookie->substr(0, set_cookie->find(';'));
        CHECK(cookie.find(id) != std::string::npos);
    }
    {
        sess::request r(site, "/page2.asp", cookie);
        std::optional<sess::session_ref> s = r.session(false);
        REQUIRE(s);
        CHECK(s->get("USER").str() == "Arthur");
        CHECK_FALSE(r.end());
    }
    try {
        sess::request r(site, "/page3.asp", cookie);
        r.session()->set("user", "Zaphod");
        throw std::runtime_error("page failed");
    } catch (const std::runtime_error &) {
    }
    {
        sess::request routed(site, "/page5.asp", cookie, SESS_USE_OFF);
        CHECK(routed.path() == "/page5.asp");
        CHECK(routed.app_path() == "/");
        routed.acquire(SESS_USE_EXCLUSIVE);
        CHECK(routed.session(false)->get("user").str() == "Arthur");
        CHECK(thrown([&] { routed.acquire(SESS_USE_EXCLUSIVE); }) == SESS_E_WRONG_STATE);
    }
    sess::request r(site, "/page4.asp", cookie, SESS_USE_READONLY);
    CHECK(r.session(false)->get("user").str() == "Arthur");
    CHECK(thrown([&] { (void)sess::request(site, "relative"); }) == SESS_E_INVALIDARG);
}

// A host that sends its headers before the page ends (a streamed
// response) needs the Set-Cookie then, and CookieMode / IsCookieless to
// know where the ID travels: sess.hpp had no call for either
// (sess_request_set_cookie, sess_request_cookie_mode,
// sess_request_is_cookieless), so a C++ host fell back to the C calls.
TEST_CASE("request: set_cookie() before the headers go, end() does not repeat it; CookieMode")
{
    sess::app app;
    sess::site site;
    site.add("/", app);
    sess::request r(site, "/page.asp");
    CHECK(r.cookie_mode() == SESS_COOKIE_MODE_USE_COOKIES);
    CHECK_FALSE(r.is_cookieless());
    sess::session_ref s = *r.session();
    const std::optional<std::string> cookie = r.set_cookie();
    REQUIRE(cookie);
    CHECK(cookie->find(s.id()) != std::string::npos);
    s.set("user", "Arthur");
    CHECK(r.set_cookie() == cookie); // asked again: the same value
    CHECK_FALSE(r.end());            // already sent

    sess::app shop;
    sess_web_options web = sess::web_options();
    web.cookieless = true;
    site.add("/shop", shop, &web);
    sess::request c(site, "/shop/cart.asp");
    CHECK(c.cookie_mode() == SESS_COOKIE_MODE_USE_URI);
    CHECK(c.is_cookieless());
    c.session()->set("items", 3);
    CHECK_FALSE(c.set_cookie()); // the ID is in the URL
    sess::request moved(std::move(c));
    CHECK(thrown([&] { (void)c.set_cookie(); }) == SESS_E_POINTER);
}

// A static object's factory: runs `hook`, then makes a test object.
struct hooked_factory {
    std::function<void()> hook;
    // An application with one static object, "obj", this factory makes; a
    // lock timeout of 200 ms.
    sess::app app()
    {
        sess_static_object_decl decl{"obj", make, this};
        sess_app_options o = sess::app_options();
        o.lock_timeout_ms = 200;
        o.static_objects = &decl;
        o.static_object_count = 1;
        return sess::app(o);
    }
    static sess_result make(void *context, const char *name, sess_unknown **out) noexcept
    {
        return sess::guard([&] {
            static_cast<hooked_factory *>(context)->hook();
            sess::detail::check(test_object::factory(nullptr, name, out));
        });
    }
};

// The library refuses to end a session or request while host code it runs
// on them (a static object's factory, Session_OnStart) calls back in:
// SESS_E_WRONG_STATE, nothing freed, "call again after it returns". close(),
// discard() and end() dropped the handle before the call all the same:
// after the refusal the session was never stored or unlocked (open(id):
// SESSION_NOT_FOUND; an open one: LOCK_TIMEOUT for good) and the request
// never ended (no Set-Cookie), each handle leaked. A refused end now
// keeps the handle, to be ended when the callback has returned.
TEST_CASE("session and request: an end refused while host code runs keeps the handle")
{
    hooked_factory factory;
    sess::app app = factory.app();
    std::string id;
    {
        sess::session s = app.create();
        s.set("kept", 1);
        id = s.id();
        std::vector<sess_result> inner;
        factory.hook = [&] {
            inner.push_back(thrown([&] { s.close(); }));
            inner.push_back(thrown([&] { s.discard(); }));
        };
        CHECK(s.static_objects()["obj"].vt() == SESS_VT_UNKNOWN);
        CHECK(inner == std::vector<sess_result>{SESS_E_WRONG_STATE, SESS_E_WRONG_STATE});
        CHECK(s);
        factory.hook = [] {};
        CHECK(thrown([&] { s.close(); }) == 0);
    }
    CHECK(thrown([&] { app.open(id).close(); }) == 0);

    sess::app_events events;
    sess::request *current = nullptr;
    sess_result inner = 0;
    events.on_start = [&](sess::session_ref) { inner = thrown([&] { current->end(); }); };
    sess_app_options eo = sess::app_options();
    events.install(eo);
    sess::app started(eo);
    sess::site site;
    site.add("/", started);
    sess::request r(site, "/page.asp", {}, SESS_USE_OFF);
    current = &r;
    r.acquire(SESS_USE_EXCLUSIVE); // a new session: Session_OnStart
    CHECK(inner == SESS_E_WRONG_STATE);
    CHECK(r.handle() != nullptr);
    std::optional<std::string> cookie;
    CHECK(thrown([&] { cookie = r.end(); }) == 0);
    CHECK(cookie);
}

// Host code a call on a session or request runs (a static object's
// factory, Session_OnStart) may destroy the object owning the handle: a
// per-request context torn down, a std::optional reset, an assignment
// over it. The library refuses that end while the call runs
// (SESS_E_WRONG_STATE, nothing freed), and the destructor dropped the
// handle all the same: the session was never stored or unlocked (open(id):
// SESSION_NOT_FOUND, or LOCK_TIMEOUT for good) and the handle leaked. The
// end is now deferred, done as the destructor would once the call returns.
TEST_CASE("session and request: destroyed by host code a call on them runs, they end once it returns")
{
    hooked_factory factory;
    sess::app app = factory.app();

    std::optional<sess::session> s(app.create());
    s->set("kept", 1);
    const std::string id = s->id();
    factory.hook = [&] { s.reset(); };
    CHECK(s->static_objects()["obj"].vt() == SESS_VT_UNKNOWN);
    CHECK_FALSE(s);
    factory.hook = [] {};
    CHECK(app.open(id).get("kept").as<int>() == 1); // committed and unlocked

    sess::session again = app.create();
    again.set("seen", true);
    const std::string again_id = again.id();
    std::string next_id;
    factory.hook = [&] {
        again = app.create(); // the old one ends as its destructor would
        again.set("next", 2);
        next_id = again.id();
    };
    CHECK(again.static_objects()["obj"].vt() == SESS_VT_UNKNOWN);
    factory.hook = [] {};
    again.close();
    CHECK(app.open(again_id).get("seen").as<bool>());
    CHECK(app.open(next_id).get("next").as<int>() == 2);

    sess::app_events events;
    std::optional<sess::request> r;
    std::string started;
    events.on_start = [&](sess::session_ref new_session) {
        new_session.set("n", 1);
        started = new_session.id();
        r.reset();
    };
    sess_app_options eo = sess::app_options();
    eo.lock_timeout_ms = 200;
    events.install(eo);
    sess::app with_start(eo);
    sess::site site;
    site.add("/", with_start);
    r.emplace(site, "/page.asp", sess::text_arg(), SESS_USE_OFF);
    r->acquire(SESS_USE_EXCLUSIVE); // a new session: Session_OnStart
    CHECK_FALSE(r);
    CHECK(with_start.open(started).get("n").as<int>() == 1);
}

// Whether request::acquire takes a U.
template <class U, class = void> struct acquires : std::false_type {};
template <class U>
struct acquires<U, std::void_t<decltype(std::declval<sess::request &>().acquire(std::declval<U>()))>> : std::true_type {};

// request's session_use (its fourth argument, before https) and acquire()
// took a bool: `sess::request r(site, path, cookie, true)`, meant as HTTPS,
// began a read-only request (true is 1, SESS_USE_READONLY) whose writes
// failed; acquire(true) took the session read-only too. A bool or
// character is no SESS_USE_* value: it does not compile.
TEST_CASE("request: session_use takes no bool and no character")
{
    using site_ref = const sess::site &;
    static_assert(!std::is_constructible_v<sess::request, site_ref, const char *, const char *, bool>);
    static_assert(!std::is_constructible_v<sess::request, site_ref, const char *, const char *, char>);
    static_assert(!std::is_constructible_v<sess::request, site_ref, const char *, const char *, bool, bool>);
    static_assert(std::is_constructible_v<sess::request, site_ref, const char *, const char *, int, bool>);
    static_assert(std::is_constructible_v<sess::request, site_ref, const char *>);
    static_assert(!acquires<bool>::value && !acquires<char>::value && acquires<std::uint32_t>::value);
    sess::app app;
    sess::site site;
    site.add("/", app);
    sess::request r(site, "/page.asp", {}, SESS_USE_EXCLUSIVE, true);
    r.session()->set("user", "Arthur");
    const std::optional<std::string> cookie = r.end();
    REQUIRE(cookie);
    CHECK(cookie->find("; Secure") != std::string::npos); // https reached the library
}

// sess::request was the one RAII owner that could not be moved (app, site
// and session can): a host could not begin a request in one function and
// return it, nor hold it in a per-connection object that moves.
TEST_CASE("request: moves; the moved-from one is empty")
{
    static_assert(std::is_nothrow_move_constructible_v<sess::request>);
    static_assert(!std::is_move_assignable_v<sess::request>);
    sess::app app;
    sess::site site;
    site.add("/", app);
    const auto begin = [&](const char *path) {
        sess::request r(site, path);
        r.session()->set("user", "Arthur");
        return r; // a named object: moved
    };
    sess::request r = begin("/page1.asp");
    REQUIRE(r.handle() != nullptr);
    sess::request moved(std::move(r));
    CHECK(r.handle() == nullptr);
    CHECK(thrown([&] { (void)r.path(); }) == SESS_E_POINTER);
    CHECK(moved.session(false)->get("user").str() == "Arthur");
    const std::optional<std::string> cookie = moved.end();
    REQUIRE(cookie);
    sess::request next(site, "/page2.asp", cookie->substr(0, cookie->find(';')));
    CHECK(next.session(false)->get("USER").str() == "Arthur");
}

TEST_CASE("app and site: move-assignment releases the old one and leaves the source empty")
{
    std::atomic<int> ends{0};
    sess_app_options o = sess::app_options();
    o.event_context = &ends;
    o.on_end = [](void *c, sess_session *) { ++*static_cast<std::atomic<int> *>(c); };
    const auto store_one = [](sess::app &a) {
        sess::session s = a.create();
        s.set("x", 1);
        s.close();
    };
    {
        sess::app target(o);
        sess::app source;
        store_one(target);
        sess_app *const moved = source.handle();
        target = std::move(source);
        CHECK(ends == 1); // the old application was released: its session ended
        CHECK(target.handle() == moved);
        CHECK(source.handle() == nullptr); // NOLINT: a moved-from app is empty
        sess::app &same = target;
        target = std::move(same);
        CHECK(target.handle() == moved);
    }
    {
        sess::site target;
        sess::site source;
        {
            sess::app a(o);
            store_one(a);
            target.add("/", a);
        } // only the site holds the application now
        CHECK(ends == 1);
        sess_site *const moved = source.handle();
        target = std::move(source);
        CHECK(ends == 2);
        CHECK(target.handle() == moved);
        CHECK(source.handle() == nullptr); // NOLINT: a moved-from site is empty
        sess::site &same = target;
        target = std::move(same);
        CHECK(target.handle() == moved);
    }
}

// Whether a 0-based collection C's by-index members take an I: at(i),
// key(i), set_at(i, v), remove_at(i).
template <class C, class I, class = void> struct at_by : std::false_type {};
template <class C, class I>
struct at_by<C, I, std::void_t<decltype(std::declval<C &>().at(std::declval<I>()))>> : std::true_type {};
template <class C, class I, class = void> struct key_by : std::false_type {};
template <class C, class I>
struct key_by<C, I, std::void_t<decltype(std::declval<C &>().key(std::declval<I>()))>> : std::true_type {};
template <class C, class I, class = void> struct set_at_by : std::false_type {};
template <class C, class I>
struct set_at_by<C, I, std::void_t<decltype(std::declval<C &>().set_at(std::declval<I>(), sess::variant()))>>
    : std::true_type {};
template <class C, class I, class = void> struct remove_at_by : std::false_type {};
template <class C, class I>
struct remove_at_by<C, I, std::void_t<decltype(std::declval<C &>().remove_at(std::declval<I>()))>>
    : std::true_type {};

// A character or a bool converted to the index: contents().at('a') read
// item 97, key(true) item 1, remove_at('k') removed item 107, where the
// caller meant the key "a" or "k" (IISVariantDictionary and sess::variant
// already refuse both). An index is a number.
TEST_CASE("contents and static_objects: a character or a bool is not an index")
{
    static_assert(!at_by<sess::contents_view, char>::value && !at_by<sess::contents, wchar_t>::value);
    static_assert(!at_by<sess::contents_view, bool>::value && !at_by<sess::static_objects, char>::value);
    static_assert(!at_by<sess::static_objects, bool>::value && !at_by<sess::contents, char16_t>::value);
    static_assert(!key_by<sess::contents_view, char>::value && !key_by<sess::contents, bool>::value);
    static_assert(!key_by<sess::static_objects, char32_t>::value && !key_by<sess::static_objects, bool>::value);
    static_assert(!set_at_by<sess::contents, char>::value && !set_at_by<sess::contents, bool>::value);
    static_assert(!remove_at_by<sess::contents, char>::value && !remove_at_by<sess::contents, bool>::value);
    // Numbers of every width still index.
    static_assert(at_by<sess::contents_view, std::size_t>::value && at_by<sess::contents, int>::value);
    static_assert(at_by<sess::static_objects, std::uint8_t>::value && key_by<sess::contents_view, long>::value);
    static_assert(set_at_by<sess::contents, unsigned>::value && remove_at_by<sess::contents, std::size_t>::value);
    sess::app app;
    sess::session s = app.create();
    s.set("a", 1);
    CHECK(s.contents().at(std::uint8_t{0}).as<int>() == 1);
    CHECK(s.contents().key(0) == "a");
    s.close();
}

// A host store in a std::map through sess::store, thread-safe (one mutex),
// keeping locks and deadlines as sess.h's sess_store_vtbl asks (locks never
// go stale). Its saves fail while `down` is set (a store lost as a request
// ends; the library then releases the lock); `on_get` runs first in every
// get (a test throws from it); it counts the calls the tests look for, and,
// in `*destroyed`, its own destruction. Without `renames` it has no rename
// (has_rename()).
class map_store : public sess::store {
public:
    explicit map_store(bool renames = true, std::atomic<int> *destroyed = nullptr)
        : renames_(renames), destroyed_(destroyed)
    {
    }
    ~map_store() override
    {
        if (destroyed_ != nullptr)
            ++*destroyed_;
    }

    std::atomic<bool> down{false};
    std::function<void()> on_get;
    std::atomic<int> creates{0}, removes{0}, renames{0};

    sess::store_outcome get(std::string_view key, bool exclusive, std::uint64_t lock_token, std::uint64_t now_ms,
                            sess::store_buffer &out) override
    {
        std::lock_guard<std::mutex> hold(lock_);
        if (on_get)
            on_get();
        const auto it = entries_.find(std::string(key));
        if (it == entries_.end() || it->second.deadline_ms <= now_ms)
            return sess::store_outcome::not_found;
        if (it->second.lock != 0 && it->second.lock != lock_token)
            return sess::store_outcome::locked;
        out.write(it->second.blob);
        if (exclusive)
            it->second.lock = lock_token;
        return sess::store_outcome::ok;
    }
    sess::store_outcome create(std::string_view key, std::uint64_t lock_token, std::uint64_t, std::uint64_t deadline_ms,
                               std::uint64_t, std::string_view blob) override
    {
        std::lock_guard<std::mutex> hold(lock_);
        if (!entries_.emplace(key, entry{std::string(blob), deadline_ms, lock_token}).second)
            return sess::store_outcome::exists;
        ++creates;
        return sess::store_outcome::ok;
    }
    sess::store_outcome set_and_release(std::string_view key, std::uint64_t lock_token, std::uint64_t deadline_ms,
                                        std::optional<std::string_view> blob) override
    {
        std::lock_guard<std::mutex> hold(lock_);
        fail_if_down();
        entry *e = held(key, lock_token);
        if (e == nullptr)
            return refusal(key);
        if (blob) // std::nullopt: unchanged
            e->blob = std::string(*blob);
        e->deadline_ms = deadline_ms;
        e->lock = 0;
        return sess::store_outcome::ok;
    }
    sess::store_outcome release(std::string_view key, std::uint64_t lock_token) override
    {
        std::lock_guard<std::mutex> hold(lock_);
        entry *e = held(key, lock_token);
        if (e == nullptr)
            return refusal(key);
        e->lock = 0;
        return sess::store_outcome::ok;
    }
    sess::store_outcome remove(std::string_view key, std::uint64_t lock_token) override
    {
        std::lock_guard<std::mutex> hold(lock_);
        if (held(key, lock_token) == nullptr)
            return refusal(key);
        entries_.erase(std::string(key));
        ++removes;
        return sess::store_outcome::ok;
    }
    sess::store_outcome reset_timeout(std::string_view key, std::uint64_t deadline_ms) override
    {
        std::lock_guard<std::mutex> hold(lock_);
        const auto it = entries_.find(std::string(key));
        if (it == entries_.end())
            return sess::store_outcome::not_found;
        it->second.deadline_ms = deadline_ms;
        return sess::store_outcome::ok;
    }
    void list_expired(std::uint64_t now_ms, std::size_t max, sess::expired_list &out) override
    {
        std::lock_guard<std::mutex> hold(lock_);
        for (auto it = entries_.begin(); it != entries_.end() && out.size() < max;) {
            if (it->second.deadline_ms <= now_ms && it->second.lock == 0) {
                out.add(it->second.blob);
                it = entries_.erase(it);
            } else {
                ++it;
            }
        }
    }
    std::uint64_t count() override
    {
        std::lock_guard<std::mutex> hold(lock_);
        return entries_.size();
    }
    bool has_rename() const override { return renames_; }
    sess::store_outcome rename(std::string_view old_key, std::string_view new_key, std::uint64_t lock_token,
                               std::uint64_t, std::uint64_t deadline_ms, std::string_view blob) override
    {
        std::lock_guard<std::mutex> hold(lock_);
        if (held(old_key, lock_token) == nullptr)
            return refusal(old_key);
        if (!entries_.emplace(new_key, entry{std::string(blob), deadline_ms, lock_token}).second)
            return sess::store_outcome::exists;
        entries_.erase(std::string(old_key));
        ++renames;
        return sess::store_outcome::ok;
    }

private:
    struct entry {
        std::string blob;
        std::uint64_t deadline_ms;
        std::uint64_t lock; // the token holding it, or 0
    };
    void fail_if_down() const
    {
        if (down)
            throw sess::error(SESS_E_STORE_UNAVAILABLE, "the test store is down");
    }
    // `key`'s entry if `lock_token` holds its lock, else null.
    entry *held(std::string_view key, std::uint64_t lock_token)
    {
        const auto it = entries_.find(std::string(key));
        return it == entries_.end() || it->second.lock != lock_token ? nullptr : &it->second;
    }
    // Why held() found no entry for `key`.
    sess::store_outcome refusal(std::string_view key) const
    {
        return entries_.count(std::string(key)) == 0 ? sess::store_outcome::not_found : sess::store_outcome::locked;
    }

    const bool renames_;
    std::atomic<int> *const destroyed_;
    std::mutex lock_;
    std::map<std::string, entry, std::less<>> entries_;
};

// A request whose end fails after the page gave its session a new ID (a
// login) still hands over the new ID's cookie: the store moved the session
// there and the old ID is dead. end() threw a plain error and dropped it,
// leaving the client neither ID.
TEST_CASE("request: an end that fails after regenerate_id() still gives the new ID's cookie")
{
    const auto store = std::make_shared<map_store>();
    sess::app app(sess::app_options(), store);
    sess::site site;
    site.add("/", app);
    // The name=value part of a Set-Cookie value.
    const auto pair = [](const std::string &set_cookie) { return set_cookie.substr(0, set_cookie.find(';')); };
    sess::request first(site, "/");
    first.session()->set("count", 1);
    const std::string old = pair(first.end().value());

    sess::request login(site, "/login", old);
    sess::session_ref s = *login.session(false);
    s.regenerate_id();
    const std::string renamed = "ASPSESSIONID=" + s.id();
    store->down = true;
    try {
        (void)login.end();
        FAIL("the end succeeded with the store down");
    } catch (const sess::end_error &e) {
        CHECK(e.code() == SESS_E_STORE_UNAVAILABLE);
        REQUIRE(e.set_cookie());
        CHECK(pair(*e.set_cookie()) == renamed);
        CHECK(renamed != old);
    }
    store->down = false;
    // The session lives on under the new ID; the old one is dead.
    sess::request next(site, "/", renamed);
    CHECK(next.session(false)->get_as<int>("count") == 1);
    (void)next.end();
    sess::request stale(site, "/", old);
    CHECK_FALSE(stale.session(false));
    (void)stale.end();

    // A new session whose save failed: the error, with no cookie.
    sess::request fresh(site, "/");
    fresh.session()->set("user", "Ford");
    store->down = true;
    try {
        (void)fresh.end();
        FAIL("the end succeeded with the store down");
    } catch (const sess::end_error &e) {
        CHECK_FALSE(e.set_cookie());
    }
    store->down = false;
}

// A host store is a sess::store (a class with virtual members) rather than
// a sess_store_vtbl of static functions and casts. Through it sessions are
// kept across units of work, read back read-only, moved by regenerate_id
// (rename), removed by Abandon and claimed by expiry (list_expired), with
// Session_OnEnd; the application counts them through count().
TEST_CASE("store: a sess::store keeps sessions across units of work, through Abandon, regenerate and expiry")
{
    struct world {
        std::atomic<std::uint64_t> now{1000000};
        std::mutex lock;
        std::vector<std::string> ended; // the users whose sessions ended
    } w;
    sess::app_events events;
    events.on_end = [&w](sess::session_ref s) {
        std::lock_guard<std::mutex> hold(w.lock);
        w.ended.push_back(s.get("user").as<std::string>());
    };
    sess_app_options o = sess::app_options();
    events.install(o);
    o.clock = [](void *c) -> std::uint64_t { return static_cast<world *>(c)->now.load(); };
    o.clock_context = &w;
    o.expiry_interval_ms = 0;
    const auto store = std::make_shared<map_store>();
    sess::app app(o, store);
    const auto ended = [&w] {
        std::lock_guard<std::mutex> hold(w.lock);
        return w.ended;
    };

    std::string id;
    {
        sess::session s = app.create();
        s.set("user", "Arthur");
        id = s.id();
        s.close();
    }
    CHECK(store->creates == 1);
    CHECK(app.session_count() == 1);
    {
        sess::session s = app.open(id);
        CHECK(s.get("USER").as<std::string>() == "Arthur");
        s.set("visits", 2);
        s.close();
    }
    {
        sess::session s = app.open(id, true); // get-shared, then reset_timeout
        CHECK(s.get_as<int>("visits") == 2);
        s.close();
    }

    // regenerate_id moves the session in one rename.
    std::string renamed;
    {
        sess::session s = app.open(id);
        s.regenerate_id();
        renamed = s.id();
        s.close();
    }
    CHECK(renamed != id);
    CHECK(store->renames == 1);
    CHECK(store->creates == 1);
    CHECK(thrown([&] { (void)app.open(id); }) == SESS_E_SESSION_NOT_FOUND);
    CHECK(app.session_count() == 1);

    // Abandon removes it, with Session_OnEnd.
    {
        sess::session s = app.open(renamed);
        CHECK(s.get_as<int>("visits") == 2);
        s.abandon();
        s.close();
    }
    CHECK(store->removes == 1);
    CHECK(ended() == std::vector<std::string>{"Arthur"});
    CHECK(app.session_count() == 0);
    CHECK(thrown([&] { (void)app.open(renamed); }) == SESS_E_SESSION_NOT_FOUND);

    // Past its Timeout, expiry claims it (list_expired), with Session_OnEnd.
    {
        sess::session s = app.create();
        s.set("user", "Ford");
        s.timeout(1);
        id = s.id();
        s.close();
    }
    w.now += 50000;
    CHECK(app.expire() == 0);
    w.now += 20000;
    CHECK(app.expire() == 1);
    CHECK(ended() == std::vector<std::string>{"Arthur", "Ford"});
    CHECK(app.session_count() == 0);
    CHECK(thrown([&] { (void)app.open(id); }) == SESS_E_SESSION_NOT_FOUND);
}

// A store without rename() (has_rename() false) leaves the table's rename
// NULL: regenerate_id creates the new key and removes the old one.
TEST_CASE("store: without rename, regenerate_id creates the new key and removes the old one")
{
    sess_app_options o = sess::app_options();
    o.expiry_interval_ms = 0;
    const auto store = std::make_shared<map_store>(false);
    sess::app app(o, store);
    std::string id, renamed;
    {
        sess::session s = app.create();
        s.set("user", "Zaphod");
        id = s.id();
        s.close();
    }
    {
        sess::session s = app.open(id);
        s.regenerate_id();
        renamed = s.id();
        s.close();
    }
    CHECK(store->renames == 0);
    CHECK(store->creates == 2);
    CHECK(store->removes == 1);
    CHECK(app.session_count() == 1);
    CHECK(thrown([&] { (void)app.open(id); }) == SESS_E_SESSION_NOT_FOUND);
    sess::session s = app.open(renamed);
    CHECK(s.get("user").as<std::string>() == "Zaphod");
    s.close();
    // sess::store's own defaults: no rename (NOTIMPL), a count of 0.
    CHECK(thrown([&] { (void)store->sess::store::rename("a", "b", 1, 0, 0, ""); }) == SESS_E_NOTIMPL);
    CHECK(store->sess::store::count() == 0);
    CHECK_FALSE(store->sess::store::has_rename());
}

// An exception from a store member stops at the C boundary: the C call
// that needed the store fails with its code (a sess::error's,
// E_OUTOFMEMORY for std::bad_alloc, E_FAIL for anything else) and its
// what() in the message; the store works on once it stops throwing.
TEST_CASE("store: an exception from a member is the C call's failure code and message")
{
    sess_app_options o = sess::app_options();
    o.expiry_interval_ms = 0;
    const auto store = std::make_shared<map_store>();
    sess::app app(o, store);
    std::string id;
    {
        sess::session s = app.create();
        s.set("k", 1);
        id = s.id();
        s.close();
    }
    // sess_session_open's result and this thread's last-error detail.
    const auto open_fails = [&]() -> failure {
        sess_session *s = nullptr;
        const sess_result hr = sess_session_open(app.handle(), id.c_str(), 0, &s);
        CHECK(s == nullptr);
        return {hr, sess::error::last(hr).what()};
    };
    const auto contains = [](const failure &f, const std::string &text) {
        return f.second.find(text) != std::string::npos;
    };

    store->on_get = [] { throw sess::error(SESS_E_STORE_UNAVAILABLE, "the database is down"); };
    failure f = open_fails();
    CHECK(f.first == SESS_E_STORE_UNAVAILABLE);
    CHECK(contains(f, "the database is down"));

    store->on_get = [] { throw sess::error(SESS_E_TOO_MANY_SESSIONS, "quota"); };
    f = open_fails();
    CHECK(f.first == SESS_E_TOO_MANY_SESSIONS);
    CHECK(contains(f, "quota"));

    store->on_get = [] { throw std::runtime_error("the driver lost its connection"); };
    f = open_fails();
    CHECK(f.first == SESS_E_FAIL);
    CHECK(contains(f, "the driver lost its connection"));

    store->on_get = [] { throw std::bad_alloc(); };
    CHECK(open_fails().first == SESS_E_OUTOFMEMORY);

    store->on_get = [] { throw 42; };
    CHECK(open_fails().first == SESS_E_FAIL);

    store->on_get = nullptr;
    sess::session s = app.open(id);
    CHECK(s.get_as<int>("k") == 1);
    s.close();
}

// The application shares its store: it lets go of it once it is released
// and its last session closed (the store's destruction then, if nobody else
// holds it, exactly once); an application that could not be created takes
// nothing, and the caller's pointer frees the store, once.
TEST_CASE("store: the application holds its store until it is gone; a failed creation takes none")
{
    std::atomic<int> destroyed{0};
    auto store = std::make_shared<map_store>(true, &destroyed);
    std::optional<sess::session> open;
    {
        sess::app app(sess::app_options(), store);
        CHECK(store.use_count() == 2);
        open.emplace(app.create());
        open->set("k", 1);
    }
    CHECK(store.use_count() == 2); // a session of the released application is open
    open->close();
    CHECK(store.use_count() == 1);
    CHECK(destroyed == 0);
    {
        sess::app app(sess::app_options(), std::make_shared<map_store>(true, &destroyed));
        app.create().close();
        CHECK(destroyed == 0);
    }
    CHECK(destroyed == 1);

    sess_app_options bad = sess::app_options();
    bad.max_value_bytes = 0; // SESS_E_INVALID_OPTION
    CHECK(thrown([&] { sess::app app(bad, store); }) == SESS_E_INVALID_OPTION);
    CHECK(store.use_count() == 1);
    CHECK(destroyed == 1);
    CHECK(thrown([&] { sess::app app(bad, std::make_shared<map_store>(true, &destroyed)); }) ==
          SESS_E_INVALID_OPTION);
    CHECK(destroyed == 2);
    CHECK(thrown([] { sess::app app(sess::app_options(), nullptr); }) == SESS_E_POINTER);
    store.reset();
    CHECK(destroyed == 3);
}
