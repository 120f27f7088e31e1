// sess.hpp: a header-only C++17 wrapper over libsess's C ABI (sess.h).
//
// RAII owners for the application, site, request and session handles; a
// value type (sess::variant) that copies, moves and converts; failures as
// sess::error exceptions carrying the HRESULT and the library's message;
// Session_OnStart / Session_OnEnd as C++ callables (sess::app_events) and
// sess::guard for the C callbacks a host writes, so that no exception
// unwinds into the library; a host-supplied session store as a class with
// virtual members (sess::store) over sess_store_vtbl. Nothing else adds
// behaviour: every call is one C call (see sess.h for the semantics).
//
//   sess::app app;                                   // defaults
//   std::string id;
//   {
//       sess::session s = app.create();
//       s.set("user", "Arthur");
//       id = s.id();
//       s.close();                                   // commit; throws on failure
//   }
//   sess::session s = app.open(id);                  // leaving scope by an
//   std::string user = s.get("USER").as<std::string>();  // exception discards
#ifndef SESS_HPP
#define SESS_HPP

// The C++ standard the compiler follows (MSVC keeps __cplusplus at 199711L
// and says it in _MSVC_LANG); 0 for C. Below C++17 the headers give this
// one error instead of a page of others.
#if defined(_MSVC_LANG)
#define SESS_HPP_LANG _MSVC_LANG
#elif defined(__cplusplus)
#define SESS_HPP_LANG __cplusplus
#else
#define SESS_HPP_LANG 0L
#endif
#if SESS_HPP_LANG < 201703L
#error "sess.hpp needs C++17 or later (-std=c++17, MSVC /std:c++17); C programs include sess.h"
#else

#include "sess.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <iostream>
#include <iterator>
#include <limits>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace sess {

/// A failed libsess call: the HRESULT and the library's message.
class error : public std::runtime_error {
public:
    /// An error for `code` with the library's message for the code.
    explicit error(sess_result code) : std::runtime_error(message_of(code)), code_(code) {}
    /// An error for `code` with a more specific message.
    error(sess_result code, const std::string &message) : std::runtime_error(message), code_(code) {}
    /// The HRESULT.
    sess_result code() const noexcept { return code_; }

    /// The error a C call just returned: this thread's last-error detail
    /// when it is about `code`, else the code's message.
    static error last(sess_result code)
    {
        sess_result last = 0;
        std::size_t len = 0;
        if (sess_error_last(&last, nullptr, 0, &len) >= 0 && last == code && len > 0) {
            std::string text(len + 1, '\0');
            if (sess_error_last(nullptr, text.data(), text.size(), &len) >= 0) {
                text.resize(len);
                return error(code, text);
            }
        }
        return error(code);
    }

private:
    static std::string message_of(sess_result code)
    {
        std::size_t len = 0;
        sess_error_message(code, nullptr, 0, &len);
        std::string text(len + 1, '\0');
        if (sess_error_message(code, text.data(), text.size(), &len) < 0)
            return "libsess error";
        text.resize(len);
        return text;
    }
    sess_result code_;
};

/// A request whose end failed (request::end()): the error, and the
/// Set-Cookie value the response must carry all the same: that of a
/// session the page gave a new ID (regenerate_id()), which lives on under
/// it, the old ID dead (without it the client keeps neither).
class end_error : public error {
public:
    /// `e` with the cookie to send, if any.
    end_error(error e, std::optional<std::string> set_cookie)
        : error(std::move(e)), set_cookie_(std::move(set_cookie))
    {
    }
    /// The Set-Cookie value to send with the error page, if any.
    const std::optional<std::string> &set_cookie() const noexcept { return set_cookie_; }

private:
    std::optional<std::string> set_cookie_;
};

namespace detail {

/// The end of a session or request handle whose owner was destroyed by
/// host code a call on the handle ran (a static object's factory,
/// Session_OnStart): the library refuses to end a handle a call runs on,
/// so the owner's destructor leaves the end here, for this thread to do
/// once that call has returned (see end_deferred).
struct deferred_end {
    /// Ends `handle` as its owner's destructor would (as failed when
    /// `failed`) and returns true; false, nothing done, while a call on it
    /// still runs.
    bool (*attempt)(void *handle, bool failed) noexcept;
    void *handle;
    bool failed;
    deferred_end *next;
};

/// This thread's deferred ends.
inline thread_local deferred_end *deferred_ends = nullptr;

/// Ends `handle` by `attempt` now or, while a call on it runs, once it has
/// returned. (Out of memory to note it, the handle is lost.)
inline void end_or_defer(bool (*attempt)(void *, bool) noexcept, void *handle, bool failed) noexcept
{
    if (!attempt(handle, failed))
        deferred_ends = new (std::nothrow) deferred_end{attempt, handle, failed, deferred_ends};
}

/// Does the deferred ends whose calls have returned (every C call the
/// wrapper makes is followed by this, in check()). Each end runs host code
/// (Session_OnEnd, objects' Release) that may defer more: the list is
/// taken first.
inline void end_deferred() noexcept
{
    for (deferred_end *d = std::exchange(deferred_ends, nullptr), *next; d != nullptr; d = next) {
        next = d->next;
        if (d->attempt(d->handle, d->failed)) {
            delete d;
        } else {
            d->next = deferred_ends;
            deferred_ends = d;
        }
    }
}

/// Throws sess::error for a failure code; returns success codes (S_OK,
/// S_FALSE). First does the deferred ends whose calls have returned.
inline sess_result check(sess_result hr)
{
    if (deferred_ends == nullptr) {
        if (hr < 0)
            throw error::last(hr);
        return hr;
    }
    if (hr < 0) {
        error e = error::last(hr);
        end_deferred();
        throw e;
    }
    end_deferred();
    return hr;
}

/// `code` (a failure) for a C callback to return, with `message` recorded
/// for it (sess_error_set) so that the error the library reports says why.
inline sess_result failure(sess_result code, const char *message) noexcept
{
    sess_error_set(code, message);
    return code;
}

/// Runs a buf/buf_len/out_len function and returns its text, growing the
/// buffer once when it is too small.
template <class F> std::string text_out(F &&call)
{
    std::string buf(64, '\0');
    std::size_t len = 0;
    sess_result hr = call(buf.data(), buf.size(), &len);
    if (hr == SESS_E_INSUFFICIENT_BUFFER) {
        buf.assign(len + 1, '\0');
        hr = call(buf.data(), buf.size(), &len);
    }
    check(hr);
    buf.resize(len);
    return buf;
}

/// A NUL-terminated copy of a string_view for the C calls; text holding a
/// NUL (where C would cut it short) is E_INVALIDARG.
inline std::string c_str(std::string_view text)
{
    if (text.find('\0') != std::string_view::npos)
        throw error(SESS_E_INVALIDARG, "a name or text for libsess contains a NUL (C strings end there)");
    return std::string(text);
}

/// `text`, or E_POINTER (saying it was for `what`) when it is null.
inline const char *non_null(const char *text, const char *what)
{
    if (text == nullptr)
        throw error(SESS_E_POINTER, std::string("a null const char * for ") + what);
    return text;
}

/// Whether T is a character type (char, wchar_t, char16_t, char32_t,
/// char8_t): a character is text, not a number.
template <class T>
inline constexpr bool is_char_v = std::is_same_v<T, char> || std::is_same_v<T, wchar_t> ||
                                  std::is_same_v<T, char16_t> || std::is_same_v<T, char32_t>
#ifdef __cpp_char8_t
                                  || std::is_same_v<T, char8_t>
#endif
    ;

/// Whether T is a character type or bool: neither is a number for a
/// property or an index (a character would be its code, a bool 1 or 0).
template <class T> inline constexpr bool is_char_or_bool_v = is_char_v<T> || std::is_same_v<T, bool>;

/// The integer types a variant holds and converts to (bool and the
/// character types aside; signed and unsigned char are numbers).
template <class T>
inline constexpr bool is_integer_v =
    std::is_integral_v<T> && !std::is_same_v<T, bool> && !is_char_v<T> && sizeof(T) <= 8;

/// Whether integer `value` is one a T (int or std::uint32_t, a C
/// parameter's type) holds, whatever the types' widths and signs.
template <class T, class I> constexpr bool fits(I value) noexcept
{
    static_assert(sizeof(T) <= 4, "T is one a long long holds");
    // ((...::min)(): safe from windows.h's min and max macros.)
    constexpr long long lo = (std::numeric_limits<T>::min)(), hi = (std::numeric_limits<T>::max)();
    if constexpr (std::is_signed_v<I>) {
        const long long v = value;
        return v >= lo && v <= hi;
    } else {
        const unsigned long long v = value;
        return v <= static_cast<unsigned long long>(hi);
    }
}

/// `value` as the C parameter's type T when T holds it; else `code` (the
/// property's invalid-value error), as the library gives for a value T
/// holds but the property does not take: not another value, wrapped.
template <class T, class I> T property_arg(I value, sess_result code, const char *property)
{
    if (!fits<T>(value))
        throw error(code, std::string(property) + " " + std::to_string(value) + " is out of range");
    return static_cast<T>(value);
}

/// Whether I is an integer type other than T: a value checked to fit T.
template <class I, class T> inline constexpr bool is_other_integer_of_v = is_integer_v<I> && !std::is_same_v<I, T>;

/// Whether T is a std::chrono::system_clock time_point (of any duration).
template <class T> struct is_system_time : std::false_type {};
template <class D> struct is_system_time<std::chrono::time_point<std::chrono::system_clock, D>> : std::true_type {};

/// False, for a static_assert that fails only when instantiated.
template <class> inline constexpr bool unsupported = false;

/// Days, as std::chrono::days (C++20) counts them.
using days = std::chrono::duration<std::int64_t, std::ratio<86400>>;
/// DATE 0, 1899-12-30, from 1970-01-01.
inline constexpr days ole_epoch{-25569};
/// The first day a DATE holds (100-01-01) and the day after its last
/// (9999-12-31), from 1970-01-01.
inline constexpr days ole_first = ole_epoch + days{-657434}, ole_end = ole_epoch + days{2958466};

} // namespace detail

/// A name or text argument: a string literal, a NUL-terminated const char *,
/// a std::string or std::string_view, or anything else that converts to a
/// std::string_view. A null const char * is E_POINTER (std::string_view
/// would run strlen over it), and nullptr does not compile.
class text_arg {
public:
    /// No text ("").
    text_arg() noexcept = default;
    /// `text` (not a pointer: those take the const char * constructor).
    template <class T, std::enable_if_t<std::is_convertible_v<const T &, std::string_view> &&
                                            !std::is_pointer_v<std::decay_t<T>>,
                                        int> = 0>
    text_arg(const T &text) : text_(text)
    {
    }
    /// NUL-terminated `text`; a null pointer is E_POINTER.
    text_arg(const char *text) : text_(detail::non_null(text, "a name or text")) {}
    /// No nullptr: pass "" (or text_arg()) for no text.
    text_arg(std::nullptr_t) = delete;
    /// The text.
    operator std::string_view() const noexcept { return text_; }

private:
    std::string_view text_;
};

/// An owned reference to a COM-style object `T` (a struct whose first
/// member is its vtable pointer, IUnknown's three entries first): copies
/// AddRef, destruction Releases.
template <class T> class com_ptr {
public:
    /// No object.
    com_ptr() noexcept = default;
    /// Takes over a reference the caller owns (an AddRef'd out pointer).
    static com_ptr adopt(T *p) noexcept
    {
        com_ptr c;
        c.p_ = p;
        return c;
    }
    com_ptr(const com_ptr &o) noexcept : p_(o.p_)
    {
        if (p_ != nullptr)
            p_->vtbl->add_ref(p_);
    }
    com_ptr(com_ptr &&o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
    com_ptr &operator=(com_ptr o) noexcept
    {
        std::swap(p_, o.p_);
        return *this;
    }
    ~com_ptr()
    {
        if (p_ != nullptr)
            p_->vtbl->release(p_);
    }
    /// The object (still owned here).
    T *get() const noexcept { return p_; }
    /// The object, for calls through its vtable.
    T *operator->() const noexcept { return p_; }
    /// Whether there is an object.
    explicit operator bool() const noexcept { return p_ != nullptr; }
    /// QueryInterface: the object as interface `U` (identified by `iid`);
    /// on an empty pointer, E_POINTER. A failure has its code's message:
    /// the object may be the host's, which records no detail (this thread's
    /// last one would be about an earlier call).
    template <class U> com_ptr<U> query(const sess_guid &iid) const
    {
        if (p_ == nullptr)
            throw error(SESS_E_POINTER, "QueryInterface on an empty com_ptr");
        void *out = nullptr;
        const sess_result hr = p_->vtbl->query_interface(p_, &iid, &out);
        if (hr < 0)
            throw error(hr);
        return com_ptr<U>::adopt(static_cast<U *>(out));
    }

private:
    T *p_ = nullptr;
};

/// An owned IUnknown reference.
using unknown_ptr = com_ptr<sess_unknown>;

/// Currency (VT_CY): the amount times 10,000.
struct currency {
    std::int64_t scaled; ///< amount x 10,000
};

/// The clock DATE values convert to and from: system_clock to the
/// millisecond, which holds every DATE (100-01-01 ... 9999-12-31), where
/// system_clock::time_point's nanoseconds (libstdc++) stop at 1677 and 2262.
using time_point = std::chrono::time_point<std::chrono::system_clock, std::chrono::milliseconds>;

namespace detail {
/// `t` rounded down to a time_point of duration D; DISP_E_OVERFLOW when
/// that does not fit D (checked in floating point, erring to refuse).
template <class D> std::chrono::time_point<std::chrono::system_clock, D> time_cast(time_point t)
{
    if constexpr (!std::chrono::treat_as_floating_point_v<typename D::rep>) {
        const std::chrono::duration<double, typename D::period> exact = t.time_since_epoch();
        const double units = std::floor(exact.count());
        // (D::min)(): safe from windows.h's min and max macros.
        const auto lo = static_cast<double>((D::min)().count()), hi = static_cast<double>((D::max)().count());
        if (!(units > lo - 1 && units < hi + 1))
            throw error(SESS_DISP_E_OVERFLOW, "the DATE does not fit the time_point type");
    }
    return std::chrono::floor<D>(t);
}
} // namespace detail

/// A VARIANT owned by value: copies are deep (VariantCopy), moves steal.
class variant {
public:
    /// VT_EMPTY.
    variant() noexcept { sess_variant_init(&v_); }
    /// VT_BOOL.
    variant(bool b) noexcept : variant() { set_bool(b); }
    /// An integer: I1/I2/I4/I8 or UI1/UI2/UI4/UI8 by its size and sign.
    template <class T, std::enable_if_t<detail::is_integer_v<T>, int> = 0> variant(T i) noexcept : variant()
    {
        set_number(i);
    }
    /// No character either (a char16_t would otherwise be a VT_UI2 number):
    /// pass text.
    template <class T, std::enable_if_t<detail::is_char_v<T>, int> = 0> variant(T) = delete;
    /// VT_R8.
    variant(double d) noexcept : variant() { set_number(d); }
    /// VT_R4.
    variant(float f) noexcept : variant() { set_number(f); }
    /// VT_R8: `d` rounded to a double; beyond double's range (a finite
    /// long double no double holds), DISP_E_OVERFLOW.
    variant(long double d) : variant(to_double(d)) {}
    /// VT_CY.
    variant(currency c) noexcept : variant()
    {
        v_.vt = SESS_VT_CY;
        v_.v.cyVal = c.scaled;
    }
    /// VT_BSTR (UTF-8; embedded NULs are kept).
    variant(std::string_view text) : variant()
    {
        detail::check(sess_variant_set_bstr(&v_, text.data(), text.size()));
    }
    /// VT_BSTR (UTF-8, NUL-terminated); a null pointer is E_POINTER.
    variant(const char *text) : variant(std::string_view(detail::non_null(text, "a string variant"))) {}
    /// VT_BSTR (UTF-8, NUL-terminated); a null pointer is E_POINTER.
    variant(char *text) : variant(static_cast<const char *>(text)) {}
    /// VT_BSTR (UTF-8).
    variant(const std::string &text) : variant(std::string_view(text)) {}
    /// No other pointer converts (u"", L"" or an int * would otherwise be
    /// VT_BOOL): pass UTF-8 text, or an unknown_ptr for an object.
    template <class T> variant(T *) = delete;
    /// Nor a pointer to member (it too would be VT_BOOL).
    template <class T, class C> variant(T C::*) = delete;
    /// No nullptr either: VT_NULL is variant::null(), VT_EMPTY variant().
    variant(std::nullptr_t) = delete;
    /// VT_DATE: the OLE Automation date of `t`, to the millisecond (rounded
    /// down); outside 100-01-01 ... 9999-12-31, DISP_E_OVERFLOW.
    template <class Duration> variant(std::chrono::time_point<std::chrono::system_clock, Duration> t) : variant()
    {
        v_.v.date = to_ole_date(t);
        v_.vt = SESS_VT_DATE;
    }
    /// An array of variants (VT_ARRAY | VT_VARIANT), copied in.
    variant(const std::vector<variant> &items) : variant()
    {
        sess_array *array = nullptr;
        detail::check(sess_array_create(items.size(), &array));
        for (std::size_t i = 0; i < items.size(); ++i) {
            sess_result hr = sess_array_set(array, i, items[i].get());
            if (hr < 0) {
                sess_array_destroy(array);
                throw error::last(hr);
            }
        }
        v_.vt = SESS_VT_ARRAY | SESS_VT_VARIANT;
        v_.v.parray = array;
    }
    /// A byte array (VT_ARRAY | VT_UI1, how ASP holds binary data): a copy
    /// of the `len` bytes at `data` (null only with `len` 0); more than
    /// 16 MiB is E_OUTOFMEMORY.
    static variant bytes(const void *data, std::size_t len)
    {
        variant out;
        sess_array *array = nullptr;
        detail::check(sess_array_create_bytes(data, len, &array));
        out.v_.vt = SESS_VT_ARRAY | SESS_VT_UI1;
        out.v_.v.parray = array;
        return out;
    }
    /// A byte array (VT_ARRAY | VT_UI1) holding a copy of `data`.
    static variant bytes(const std::vector<std::uint8_t> &data) { return bytes(data.data(), data.size()); }
    /// VT_UNKNOWN holding another reference to `object`.
    variant(const unknown_ptr &object) noexcept : variant()
    {
        if (object) {
            object->vtbl->add_ref(object.get());
            v_.vt = SESS_VT_UNKNOWN;
            v_.v.punkVal = object.get();
        }
    }
    /// Takes ownership of `raw` (which is left VT_EMPTY).
    static variant adopt(sess_variant &raw) noexcept
    {
        variant v;
        v.v_ = raw;
        sess_variant_init(&raw);
        return v;
    }
    /// VT_NULL.
    static variant null() noexcept
    {
        variant v;
        v.v_.vt = SESS_VT_NULL;
        return v;
    }

    variant(const variant &other) : variant() { detail::check(sess_variant_copy(&v_, &other.v_)); }
    variant(variant &&other) noexcept : variant() { std::swap(v_, other.v_); }
    /// Assigns to a variant object only: not to a copy read out, as
    /// `s.contents()["k"] = v` would (that stores nothing: call set()).
    variant &operator=(const variant &other) &
    {
        if (this != &other)
            detail::check(sess_variant_copy(&v_, &other.v_));
        return *this;
    }
    variant &operator=(variant &&other) & noexcept
    {
        std::swap(v_, other.v_);
        return *this;
    }
    ~variant() { sess_variant_clear(&v_); }

    /// The type tag (SESS_VT_*).
    sess_vartype vt() const noexcept { return v_.vt; }
    /// Whether it is VT_EMPTY (a missing key reads as this).
    bool empty() const noexcept { return v_.vt == SESS_VT_EMPTY; }
    /// Whether it is VT_NULL.
    bool is_null() const noexcept { return v_.vt == SESS_VT_NULL; }
    /// Whether it holds an array.
    bool is_array() const noexcept { return (v_.vt & SESS_VT_ARRAY) != 0; }
    /// The C value, for calls taking `const sess_variant *`.
    const sess_variant *get() const noexcept { return &v_; }
    /// The C value cleared, for calls that write a `sess_variant *` out.
    sess_variant *put() noexcept
    {
        sess_variant_clear(&v_);
        return &v_;
    }

    /// A BSTR's text without copying (valid while this variant holds it);
    /// other types: DISP_E_TYPEMISMATCH.
    std::string_view str() const &
    {
        if (v_.vt != SESS_VT_BSTR)
            throw error(SESS_DISP_E_TYPEMISMATCH, "the variant is not a string (VT_BSTR)");
        return std::string_view(v_.v.bstrVal.ptr, v_.v.bstrVal.len);
    }
    /// A temporary's BSTR text, copied (a view would outlive it, as in
    /// `auto user = s.get("user").str();`).
    std::string str() const && { return std::string(str()); }
    /// This value converted to `vt` under `lcid` (VariantChangeTypeEx).
    variant change_type(sess_vartype vt, std::uint32_t lcid = 0x0409) const
    {
        variant out;
        detail::check(sess_variant_change_type(&out.v_, &v_, lcid, 0, vt));
        return out;
    }
    /// The value as T, converted by VariantChangeTypeEx's rules under `lcid`
    /// (DISP_E_TYPEMISMATCH when it cannot, DISP_E_OVERFLOW when it does not
    /// fit). T is one of:
    /// - bool; an integer type (not a character type), as VT_I1/I2/I4/I8
    ///   or VT_UI1/UI2/UI4/UI8 by its size and sign; float (VT_R4); double
    ///   or long double (VT_R8).
    ///   The library decides what fits: a negative value read as the
    ///   unsigned type of its own width is reinterpreted, as Windows and Wine
    ///   do (VT_I4 -1 as std::uint32_t is 4294967295); to a narrower one it
    ///   is DISP_E_OVERFLOW;
    /// - std::string (text under `lcid`); currency;
    /// - a system_clock time_point of any duration, rounded down to it:
    ///   sess::time_point holds every DATE; one that does not fit T (such
    ///   as a year past 2262 in nanoseconds) is DISP_E_OVERFLOW;
    /// - std::vector<variant> (VT_ARRAY | VT_VARIANT only),
    ///   std::vector<std::uint8_t> (VT_ARRAY | VT_UI1 only: a copy of the
    ///   bytes) or unknown_ptr (VT_UNKNOWN / VT_DISPATCH only): not
    ///   converted.
    template <class T> T as(std::uint32_t lcid = 0x0409) const
    {
        if constexpr (std::is_same_v<T, bool>) {
            return change_type(SESS_VT_BOOL, lcid).v_.v.boolVal != 0;
        } else if constexpr (detail::is_integer_v<T> || std::is_floating_point_v<T>) {
            const variant out = change_type(vt_of<T>(), lcid);
            return static_cast<T>(number_slot<T>(out.v_));
        } else if constexpr (std::is_same_v<T, std::string>) {
            if (v_.vt == SESS_VT_BSTR)
                return std::string(str());
            return change_type(SESS_VT_BSTR, lcid).str();
        } else if constexpr (std::is_same_v<T, currency>) {
            return currency{change_type(SESS_VT_CY, lcid).v_.v.cyVal};
        } else if constexpr (detail::is_system_time<T>::value) {
            return detail::time_cast<typename T::duration>(from_ole_date(change_type(SESS_VT_DATE, lcid).v_.v.date));
        } else if constexpr (std::is_same_v<T, std::vector<variant>>) {
            if (v_.vt != (SESS_VT_ARRAY | SESS_VT_VARIANT))
                throw error(SESS_DISP_E_TYPEMISMATCH, "the variant is not an array (VT_ARRAY | VT_VARIANT)");
            std::size_t len = 0;
            detail::check(sess_array_length(v_.v.parray, &len));
            std::vector<variant> items(len);
            for (std::size_t i = 0; i < len; ++i)
                detail::check(sess_array_get(v_.v.parray, i, items[i].put()));
            return items;
        } else if constexpr (std::is_same_v<T, std::vector<std::uint8_t>>) {
            if (v_.vt != (SESS_VT_ARRAY | SESS_VT_UI1))
                throw error(SESS_DISP_E_TYPEMISMATCH, "the variant is not an array of bytes (VT_ARRAY | VT_UI1)");
            const std::uint8_t *data = nullptr;
            std::size_t len = 0;
            detail::check(sess_array_bytes(v_.v.parray, &data, &len));
            return std::vector<std::uint8_t>(data, data + len);
        } else if constexpr (std::is_same_v<T, unknown_ptr>) {
            if (v_.vt != SESS_VT_UNKNOWN && v_.vt != SESS_VT_DISPATCH)
                throw error(SESS_DISP_E_TYPEMISMATCH, "the variant is not an object (VT_UNKNOWN / VT_DISPATCH)");
            if (v_.v.punkVal != nullptr)
                v_.v.punkVal->vtbl->add_ref(v_.v.punkVal);
            return unknown_ptr::adopt(v_.v.punkVal);
        } else {
            static_assert(detail::unsupported<T>, "sess::variant::as<T>: T is not a supported type");
        }
    }

    /// The OLE Automation date of a time (days since 1899-12-30; before it,
    /// the day counts down while the time of day still counts up), to the
    /// millisecond (rounded down); outside 100-01-01 ... 9999-12-31 (or NaN),
    /// DISP_E_OVERFLOW.
    template <class Duration>
    static double to_ole_date(std::chrono::time_point<std::chrono::system_clock, Duration> t)
    {
        using std::chrono::milliseconds;
        // Roughly in floating point first (NaN, and a coarse Duration can
        // hold more than milliseconds can), then exactly.
        const std::chrono::duration<double, std::milli> rough = t.time_since_epoch();
        const bool in = rough > detail::ole_first - detail::days{1} && rough < detail::ole_end + detail::days{1};
        const milliseconds since_1970 = in ? std::chrono::floor<milliseconds>(t).time_since_epoch() : milliseconds{};
        if (!in || since_1970 < detail::ole_first || since_1970 >= detail::ole_end)
            throw error(SESS_DISP_E_OVERFLOW, "the time is outside the OLE Automation date range (100 ... 9999)");
        const milliseconds since = since_1970 - detail::ole_epoch;
        const detail::days day = std::chrono::floor<detail::days>(since);
        const double fraction = std::chrono::duration<double, std::milli>(since - day) / detail::days{1};
        const auto whole = static_cast<double>(day.count());
        return day.count() < 0 ? whole - fraction : whole + fraction;
    }
    /// The time an OLE Automation date stands for: its day, and its time of
    /// day to the nearest millisecond within that day (the last half
    /// millisecond of a day reads as its 23:59:59.999, so 9999-12-31's stays
    /// in the range); outside 100-01-01 ... 9999-12-31 (or NaN),
    /// DISP_E_OVERFLOW.
    static time_point from_ole_date(double date)
    {
        if (!(date > -657435.0 && date < 2958466.0))
            throw error(SESS_DISP_E_OVERFLOW, "the DATE is outside the OLE Automation date range (100 ... 9999)");
        constexpr long long day_ms = 86400000;
        const double day = std::trunc(date);
        // (std::min): safe from windows.h's min macro.
        const long long rounded = std::llround(std::fabs(date - day) * static_cast<double>(day_ms));
        const long long time_ms = (std::min)(rounded, day_ms - 1);
        return time_point(detail::ole_epoch + detail::days(static_cast<std::int64_t>(day)) +
                          std::chrono::milliseconds(time_ms));
    }

private:
    void set_bool(bool b) noexcept
    {
        v_.vt = SESS_VT_BOOL;
        v_.v.boolVal = b ? -1 : 0;
    }
    /// The VARIANT type of number type T: by its size and sign; float VT_R4,
    /// other floating types VT_R8.
    template <class T> static constexpr sess_vartype vt_of() noexcept
    {
        constexpr bool sign = std::is_signed_v<T>;
        if constexpr (std::is_floating_point_v<T>)
            return std::is_same_v<T, float> ? SESS_VT_R4 : SESS_VT_R8;
        else if constexpr (sizeof(T) == 1)
            return sign ? SESS_VT_I1 : SESS_VT_UI1;
        else if constexpr (sizeof(T) == 2)
            return sign ? SESS_VT_I2 : SESS_VT_UI2;
        else if constexpr (sizeof(T) == 4)
            return sign ? SESS_VT_I4 : SESS_VT_UI4;
        else
            return sign ? SESS_VT_I8 : SESS_VT_UI8;
    }
    /// The member of `v`'s union that holds vt_of<T>().
    template <class T, class V> static auto &number_slot(V &v) noexcept
    {
        if constexpr (std::is_same_v<T, float>) {
            return v.v.fltVal;
        } else if constexpr (std::is_floating_point_v<T>) {
            return v.v.dblVal;
        } else if constexpr (std::is_signed_v<T>) {
            if constexpr (sizeof(T) == 1)
                return v.v.cVal;
            else if constexpr (sizeof(T) == 2)
                return v.v.iVal;
            else if constexpr (sizeof(T) == 4)
                return v.v.lVal;
            else
                return v.v.llVal;
        } else {
            if constexpr (sizeof(T) == 1)
                return v.v.bVal;
            else if constexpr (sizeof(T) == 2)
                return v.v.uiVal;
            else if constexpr (sizeof(T) == 4)
                return v.v.ulVal;
            else
                return v.v.ullVal;
        }
    }
    /// Sets a number: vt_of<T>() in its union member.
    template <class T> void set_number(T n) noexcept
    {
        auto &slot = number_slot<T>(v_);
        slot = static_cast<std::remove_reference_t<decltype(slot)>>(n);
        v_.vt = vt_of<T>();
    }
    /// `d` rounded to a double; DISP_E_OVERFLOW when it is finite and
    /// beyond double's range (converting it would be undefined).
    static double to_double(long double d)
    {
        // (...::max)(): safe from windows.h's max macro.
        constexpr long double most = (std::numeric_limits<double>::max)();
        // Infinity by ==, not std::isfinite: under valgrind (a long double
        // with a double's range, LDBL_MAX infinite) isfinite(inf) is true.
        const long double magnitude = std::fabs(d);
        if (magnitude > most && magnitude != std::numeric_limits<long double>::infinity())
            throw error(SESS_DISP_E_OVERFLOW, "the long double is beyond the range of a double (VT_R8)");
        return static_cast<double>(d);
    }

    sess_variant v_;
};

/// One Contents item: its key (original spelling) and a copy of its value.
struct item {
    std::string key;   ///< the key as first written
    variant value;     ///< a copy of the value
};

/// A session's Contents, read only (borrowed from the session; what a
/// const session gives): ordered, keys case-insensitive, indexes 0-based;
/// range-for yields sess::item.
class contents_view {
public:
    /// Contents of `s` (borrowed; valid while the unit of work is).
    explicit contents_view(sess_session *s) noexcept : s_(s) {}
    /// Count.
    std::size_t size() const
    {
        std::size_t n = 0;
        detail::check(sess_contents_count(s_, &n));
        return n;
    }
    /// Key(index), 0-based.
    std::string key(std::size_t index) const
    {
        return detail::text_out([&](char *b, std::size_t l, std::size_t *o) {
            return sess_contents_key_at(s_, index, b, l, o);
        });
    }
    /// Item(index), 0-based (a bad index: DISP_E_BADINDEX).
    variant at(std::size_t index) const
    {
        variant v;
        detail::check(sess_contents_get_at(s_, index, v.put()));
        return v;
    }
    /// No character or bool (either would be taken as an index: 'a' as
    /// 97): an index is a number, a name text ("a").
    template <class C, std::enable_if_t<detail::is_char_or_bool_v<C>, int> = 0> std::string key(C) const = delete;
    /// No character or bool (either would be taken as an index).
    template <class C, std::enable_if_t<detail::is_char_or_bool_v<C>, int> = 0> variant at(C) const = delete;
    /// Item(name): VT_EMPTY when missing.
    variant operator[](text_arg name) const
    {
        variant v;
        detail::check(sess_value_get(s_, detail::c_str(name).c_str(), v.put()));
        return v;
    }
    /// The values, in order: deep copies (ASP.NET's CopyTo,
    /// sess_contents_copy). A value already nesting arrays 32 levels deep
    /// is E_INVALIDARG.
    std::vector<variant> values() const
    {
        variant array;
        detail::check(sess_contents_copy(s_, array.put()));
        return array.as<std::vector<variant>>();
    }
    /// An input iterator over the items. begin() takes a snapshot of the
    /// keys, as COM's enumerator and Python's iteration do, so changing the
    /// Contents while iterating is safe: every key there at begin() is
    /// visited once, in order, and one added later is not. Each
    /// dereference reads the item's value anew (VT_EMPTY once removed).
    /// It holds the session handle, so it outlives the contents object it
    /// came from (not the unit of work).
    class iterator {
    public:
        using iterator_category = std::input_iterator_tag;
        using value_type = item;
        using difference_type = std::ptrdiff_t;
        using reference = item;
        using pointer = const item *;

        /// Past the end.
        iterator() noexcept = default;
        /// The first item of the Contents of `s` (borrowed): the keys now.
        explicit iterator(sess_session *s) : s_(s), keys_(snapshot(s)) {}
        item operator*() const
        {
            const std::string &key = (*keys_)[i_];
            return item{key, contents_view(s_)[key]};
        }
        /// The item, read into this iterator by the first -> at its
        /// position: what it points to (`it->value.str()`'s view too) lives
        /// until the iterator moves on, or ends.
        pointer operator->() const
        {
            if (!current_)
                current_ = **this;
            return &*current_;
        }
        iterator &operator++() noexcept
        {
            ++i_;
            current_.reset();
            return *this;
        }
        iterator operator++(int)
        {
            iterator old = *this;
            ++*this;
            return old;
        }
        /// Equal when both are past the end, or at the same index of the
        /// same session's Contents.
        bool operator==(const iterator &o) const noexcept
        {
            return done() ? o.done() : !o.done() && s_ == o.s_ && i_ == o.i_;
        }
        bool operator!=(const iterator &o) const noexcept { return !(*this == o); }

    private:
        bool done() const noexcept { return keys_ == nullptr || i_ >= keys_->size(); }
        /// The keys of the Contents of `s`, in order (sess_contents_keys).
        static std::shared_ptr<const std::vector<std::string>> snapshot(sess_session *s)
        {
            variant array;
            detail::check(sess_contents_keys(s, array.put()));
            auto keys = std::make_shared<std::vector<std::string>>();
            for (const variant &key : array.as<std::vector<variant>>())
                keys->emplace_back(key.str());
            return keys;
        }
        sess_session *s_ = nullptr;
        std::shared_ptr<const std::vector<std::string>> keys_;
        std::size_t i_ = 0;
        /// The item operator-> read at this position.
        mutable std::optional<item> current_;
    };
    /// The first item (a snapshot of the keys).
    iterator begin() const { return iterator(s_); }
    /// Past the last item.
    iterator end() const noexcept { return iterator(); }

protected:
    sess_session *s_;
};

/// A session's Contents (borrowed from the session): contents_view's
/// reads, and the changes.
class contents : public contents_view {
public:
    /// Contents of `s` (borrowed; valid while the unit of work is).
    explicit contents(sess_session *s) noexcept : contents_view(s) {}
    /// Replaces item `index`'s value.
    void set_at(std::size_t index, const variant &value)
    {
        detail::check(sess_contents_set_at(s_, index, value.get()));
    }
    /// Remove(name): whether there was such an item.
    bool remove(text_arg name)
    {
        return detail::check(sess_contents_remove(s_, detail::c_str(name).c_str())) == SESS_S_OK;
    }
    /// RemoveAt(index), 0-based.
    void remove_at(std::size_t index) { detail::check(sess_contents_remove_at(s_, index)); }
    /// No character or bool (either would be taken as an index: 'k' as
    /// 107): an index is a number; remove("k") removes by name.
    template <class C, std::enable_if_t<detail::is_char_or_bool_v<C>, int> = 0> void remove_at(C) = delete;
    /// No character or bool (either would be taken as an index).
    template <class C, std::enable_if_t<detail::is_char_or_bool_v<C>, int> = 0>
    void set_at(C, const variant &) = delete;
    /// RemoveAll.
    void clear() { detail::check(sess_contents_remove_all(s_)); }
};

/// A session's StaticObjects (borrowed): declared objects by name or
/// 0-based index; each value a VT_UNKNOWN made on first use.
class static_objects {
public:
    /// StaticObjects of `s` (borrowed).
    explicit static_objects(sess_session *s) noexcept : s_(s) {}
    /// Count.
    std::size_t size() const
    {
        std::size_t n = 0;
        detail::check(sess_static_count(s_, &n));
        return n;
    }
    /// Key(index), 0-based.
    std::string key(std::size_t index) const
    {
        return detail::text_out([&](char *b, std::size_t l, std::size_t *o) {
            return sess_static_key_at(s_, index, b, l, o);
        });
    }
    /// Item(index), 0-based.
    variant at(std::size_t index) const
    {
        variant v;
        detail::check(sess_static_get_at(s_, index, v.put()));
        return v;
    }
    /// No character or bool (either would be taken as an index: 'a' as
    /// 97): an index is a number, a name text ("a").
    template <class C, std::enable_if_t<detail::is_char_or_bool_v<C>, int> = 0> std::string key(C) const = delete;
    /// No character or bool (either would be taken as an index).
    template <class C, std::enable_if_t<detail::is_char_or_bool_v<C>, int> = 0> variant at(C) const = delete;
    /// Item(name): VT_EMPTY when undeclared.
    variant operator[](text_arg name) const
    {
        variant v;
        detail::check(sess_static_get(s_, detail::c_str(name).c_str(), v.put()));
        return v;
    }

private:
    sess_session *s_;
};

/// The Session object on a session handle it does not own (the handle
/// lent by a request, or Session_OnStart/OnEnd's argument).
class session_ref {
public:
    /// Wraps `s` (borrowed).
    explicit session_ref(sess_session *s) noexcept : s_(s) {}
    /// The C handle.
    sess_session *handle() const noexcept { return s_; }

    /// SessionID.
    std::string id() const
    {
        return detail::text_out([&](char *b, std::size_t l, std::size_t *o) {
            return sess_session_id(s_, b, l, o);
        });
    }
    /// Session(name): a copy; VT_EMPTY when missing.
    variant get(text_arg name) const { return contents_view(s_)[name]; }
    /// Session(name) as T, with no variant in between: bool, double, an
    /// integer of 2, 4 or 8 bytes (signed) or 1, 4 or 8 bytes (unsigned),
    /// currency (VT_CY), or a system_clock time_point of any duration
    /// (VT_DATE, as variant::as reads one: sess::time_point holds every
    /// DATE); converted under the session's LCID (DISP_E_TYPEMISMATCH /
    /// _OVERFLOW); 0, false, or DATE 0 (1899-12-30) when missing.
    template <class T> T get_as(text_arg name) const
    {
        if constexpr (std::is_same_v<T, currency>) {
            return currency{read_as<std::int64_t, std::int64_t>(sess_value_get_cy, name)};
        } else if constexpr (detail::is_system_time<T>::value) {
            const double date = read_as<double, double>(sess_value_get_date, name);
            return detail::time_cast<typename T::duration>(variant::from_ole_date(date));
        } else if constexpr (std::is_same_v<T, bool>) {
            return read_as<bool, T>(sess_value_get_bool, name);
        } else if constexpr (std::is_same_v<T, double>) {
            return read_as<double, T>(sess_value_get_r8, name);
        } else if constexpr (detail::is_integer_v<T> && std::is_signed_v<T> && sizeof(T) == 2) {
            return read_as<std::int16_t, T>(sess_value_get_i2, name);
        } else if constexpr (detail::is_integer_v<T> && std::is_signed_v<T> && sizeof(T) == 4) {
            return read_as<std::int32_t, T>(sess_value_get_i4, name);
        } else if constexpr (detail::is_integer_v<T> && std::is_signed_v<T> && sizeof(T) == 8) {
            return read_as<std::int64_t, T>(sess_value_get_i8, name);
        } else if constexpr (detail::is_integer_v<T> && std::is_unsigned_v<T> && sizeof(T) == 1) {
            return read_as<std::uint8_t, T>(sess_value_get_ui1, name);
        } else if constexpr (detail::is_integer_v<T> && std::is_unsigned_v<T> && sizeof(T) == 4) {
            return read_as<std::uint32_t, T>(sess_value_get_ui4, name);
        } else if constexpr (detail::is_integer_v<T> && std::is_unsigned_v<T> && sizeof(T) == 8) {
            return read_as<std::uint64_t, T>(sess_value_get_ui8, name);
        } else {
            static_assert(sizeof(T) == 0, "sess::session_ref::get_as<T>: T is not a supported type");
        }
    }
    /// Session(name)'s text, lent by the session, not copied: valid until
    /// this session's Contents or ID next change or it ends. Empty when missing;
    /// a value that is not a string throws DISP_E_TYPEMISMATCH (value_txt
    /// converts any value).
    std::string_view borrow_str(text_arg name) const
    {
        const char *p = nullptr;
        std::size_t len = 0;
        detail::check(sess_value_borrow_bstr(s_, detail::c_str(name).c_str(), &p, &len));
        return std::string_view(p, len);
    }
    /// Session(name) = value (copied in).
    void set(text_arg name, const variant &value)
    {
        detail::check(sess_value_set(s_, detail::c_str(name).c_str(), value.get()));
    }
    /// X++'s valueTxt(name): the value as text under the session's LCID.
    std::string value_txt(text_arg name) const
    {
        const std::string n = detail::c_str(name);
        return detail::text_out([&](char *b, std::size_t l, std::size_t *o) {
            return sess_value_txt(s_, n.c_str(), nullptr, b, l, o);
        });
    }
    /// X++'s valueTxt(name, text): stores `text`, returns it as read back
    /// (text holding a NUL is E_INVALIDARG, as in a name: pass a variant
    /// to set() to keep NULs).
    std::string value_txt(text_arg name, text_arg text)
    {
        const std::string n = detail::c_str(name), t = detail::c_str(text);
        detail::check(sess_value_txt(s_, n.c_str(), t.c_str(), nullptr, 0, nullptr));
        return value_txt(name);
    }
    /// Timeout in minutes.
    int timeout() const
    {
        std::int32_t m = 0;
        detail::check(sess_timeout(s_, nullptr, &m));
        return m;
    }
    /// No bool or character (either would be taken as a number).
    template <class T, std::enable_if_t<detail::is_char_or_bool_v<T>, int> = 0> int timeout(T) = delete;
    /// Sets Timeout by an integer of another type: one an int does not
    /// hold is SESS_E_INVALID_TIMEOUT (value unchanged), not wrapped.
    template <class I, std::enable_if_t<detail::is_other_integer_of_v<I, int>, int> = 0> int timeout(I minutes)
    {
        return timeout(detail::property_arg<int>(minutes, SESS_E_INVALID_TIMEOUT, "Timeout"));
    }
    /// Sets Timeout by a std::chrono duration (`s.timeout(2h)`): whole
    /// minutes only, as Timeout counts them. A duration that is not a whole
    /// number of minutes (90s), or more minutes than an int holds, is
    /// SESS_E_INVALID_TIMEOUT (value unchanged), not rounded or wrapped.
    /// Returns the value in force, in minutes.
    template <class Rep, class Period> int timeout(std::chrono::duration<Rep, Period> d)
    {
        // In long double, exact for every whole count of minutes an int
        // holds, whatever the duration's type; NaN fails the first test.
        const long double m = std::chrono::duration<long double, std::ratio<60>>(d).count();
        if (!(m == std::floor(m)) || m < (std::numeric_limits<int>::min)() || m > (std::numeric_limits<int>::max)())
        {
            char minutes[32];
            std::snprintf(minutes, sizeof minutes, "%.9Lg", m);
            throw error(SESS_E_INVALID_TIMEOUT,
                        std::string("Timeout ") + minutes + " minutes is not a whole number of minutes an int holds");
        }
        return timeout(static_cast<int>(m));
    }
    /// Sets Timeout; returns the value in force.
    int timeout(int minutes)
    {
        const std::int32_t in = minutes;
        std::int32_t out = 0;
        detail::check(sess_timeout(s_, &in, &out));
        return out;
    }
    /// LCID.
    std::uint32_t lcid() const
    {
        std::uint32_t v = 0;
        detail::check(sess_lcid(s_, nullptr, &v));
        return v;
    }
    /// No bool or character (either would be taken as a number).
    template <class T, std::enable_if_t<detail::is_char_or_bool_v<T>, int> = 0> std::uint32_t lcid(T) = delete;
    /// Sets LCID by an integer of another type: one a std::uint32_t does
    /// not hold (-1 too) is SESS_E_INVALID_LCID (value unchanged).
    template <class I, std::enable_if_t<detail::is_other_integer_of_v<I, std::uint32_t>, int> = 0>
    std::uint32_t lcid(I lcid)
    {
        return this->lcid(detail::property_arg<std::uint32_t>(lcid, SESS_E_INVALID_LCID, "LCID"));
    }
    /// Sets LCID; returns the value in force.
    std::uint32_t lcid(std::uint32_t lcid)
    {
        std::uint32_t out = 0;
        detail::check(sess_lcid(s_, &lcid, &out));
        return out;
    }
    /// The LCID the session's text follows: lcid(), or the application's
    /// default_lcid when that is 0 or a default alias
    /// (SESS_LOCALE_USER_DEFAULT, SESS_LOCALE_SYSTEM_DEFAULT).
    std::uint32_t lcid_effective() const
    {
        std::uint32_t v = 0;
        detail::check(sess_lcid_effective(s_, &v));
        return v;
    }
    /// CodePage.
    std::uint32_t codepage() const
    {
        std::uint32_t v = 0;
        detail::check(sess_codepage(s_, nullptr, &v));
        return v;
    }
    /// No bool or character (either would be taken as a number).
    template <class T, std::enable_if_t<detail::is_char_or_bool_v<T>, int> = 0> std::uint32_t codepage(T) = delete;
    /// Sets CodePage by an integer of another type: one a std::uint32_t
    /// does not hold (-1 too) is SESS_E_INVALID_CODEPAGE (value unchanged).
    template <class I, std::enable_if_t<detail::is_other_integer_of_v<I, std::uint32_t>, int> = 0>
    std::uint32_t codepage(I cp)
    {
        return codepage(detail::property_arg<std::uint32_t>(cp, SESS_E_INVALID_CODEPAGE, "CodePage"));
    }
    /// Sets CodePage; returns the value in force.
    std::uint32_t codepage(std::uint32_t cp)
    {
        std::uint32_t out = 0;
        detail::check(sess_codepage(s_, &cp, &out));
        return out;
    }
    /// Abandon: takes effect when the unit of work ends.
    void abandon() { detail::check(sess_abandon(s_)); }
    /// A new ID for the same contents (at login).
    void regenerate_id() { detail::check(sess_session_regenerate_id(s_)); }
    /// IsNewSession.
    bool is_new() const { return flag(sess_session_is_new); }
    /// IsReadOnly.
    bool is_readonly() const { return flag(sess_session_is_readonly); }
    /// Whether Abandon was called.
    bool is_abandoned() const { return flag(sess_session_is_abandoned); }
    /// Mode: SESS_MODE_INPROC, SESS_MODE_REDIS, SESS_MODE_CUSTOM or SESS_MODE_LMDB.
    std::uint32_t mode() const
    {
        std::uint32_t m = 0;
        detail::check(sess_session_mode(s_, &m));
        return m;
    }
    /// Contents.
    sess::contents contents() noexcept { return sess::contents(s_); }
    /// Contents, read only.
    contents_view contents() const noexcept { return contents_view(s_); }
    /// StaticObjects.
    sess::static_objects static_objects() const noexcept { return sess::static_objects(s_); }

protected:
    sess_session *s_;

private:
    bool flag(sess_result (*f)(sess_session *, bool *)) const
    {
        bool b = false;
        detail::check(f(s_, &b));
        return b;
    }
    /// Session(name) read by the typed C getter `f` (of C type C), as T.
    template <class C, class T>
    T read_as(sess_result (*f)(sess_session *, const char *, C *), text_arg name) const
    {
        C v{};
        detail::check(f(s_, detail::c_str(name).c_str(), &v));
        return static_cast<T>(v);
    }
};

/// A unit of work the caller owns: close() commits (throwing on failure),
/// discard() undoes; leaving scope by an exception discards, leaving it
/// normally commits (errors then are lost: call close() to see them);
/// destroyed by host code a call on it runs (a static object's factory),
/// it ends so once that call has returned. Move-assignment ends the session
/// assigned over as its destructor would.
/// It has session_ref's members but is not a session_ref (assigning one
/// over it would lose or share its handle): ref() lends one.
class session : private session_ref {
public:
    /// Takes ownership of `s`.
    explicit session(sess_session *s) noexcept : session_ref(s), exceptions_(std::uncaught_exceptions()) {}
    session(const session &) = delete;
    session &operator=(const session &) = delete;
    session(session &&o) noexcept : session_ref(std::exchange(o.s_, nullptr)), exceptions_(o.exceptions_) {}
    session &operator=(session &&o) noexcept
    {
        if (this != &o) {
            end(std::uncaught_exceptions() > exceptions_);
            s_ = std::exchange(o.s_, nullptr);
            exceptions_ = o.exceptions_;
        }
        return *this;
    }
    ~session() { end(std::uncaught_exceptions() > exceptions_); }

    /// Commits (applying Abandon) and frees the handle; throws on failure
    /// (the handle is freed either way, but when host code a call on it
    /// runs calls close() back: SESS_E_WRONG_STATE, the handle kept, to be
    /// ended once that call has returned).
    void close() { finish(sess_session_close); }
    /// Undoes this unit of work's changes and frees the handle (as close()
    /// for failures).
    void discard() { finish(sess_session_discard); }
    /// Whether the handle is still open.
    explicit operator bool() const noexcept { return s_ != nullptr; }
    /// The session lent as a session_ref (valid until close() or
    /// discard()); not by a const session (the view can change it).
    session_ref ref() noexcept { return session_ref(s_); }

    using session_ref::abandon;
    using session_ref::borrow_str;
    using session_ref::codepage;
    using session_ref::contents;
    using session_ref::get;
    using session_ref::get_as;
    using session_ref::handle;
    using session_ref::id;
    using session_ref::is_abandoned;
    using session_ref::is_new;
    using session_ref::is_readonly;
    using session_ref::lcid;
    using session_ref::lcid_effective;
    using session_ref::mode;
    using session_ref::regenerate_id;
    using session_ref::set;
    using session_ref::static_objects;
    using session_ref::timeout;
    using session_ref::value_txt;

private:
    /// Ends the unit of work by `f` (close or discard). While a call on the
    /// handle runs (host code it ran, such as a static object's factory,
    /// calling back in) the library refuses `f` with SESS_E_WRONG_STATE,
    /// nothing freed; but `f` can also fail with that code after freeing
    /// (a custom store's failure), so a call that frees nothing asks first
    /// and a refused end keeps the handle.
    void finish(sess_result (*f)(sess_session *))
    {
        if (s_ != nullptr && busy(s_))
            throw error::last(SESS_E_WRONG_STATE);
        detail::check(f(std::exchange(s_, nullptr)));
    }
    /// What the destructor does: discards when `failed`, else commits; while
    /// a call on the handle runs (host code it ran destroying this object),
    /// once that call has returned.
    void end(bool failed) noexcept
    {
        if (s_ != nullptr)
            detail::end_or_defer(attempt_end, std::exchange(s_, nullptr), failed);
    }
    /// Whether a call on `s` runs (its end would be refused).
    static bool busy(sess_session *s) noexcept
    {
        bool is_new = false;
        return sess_session_is_new(s, &is_new) == SESS_E_WRONG_STATE;
    }
    /// A detail::deferred_end's attempt for a session handle.
    static bool attempt_end(void *handle, bool failed) noexcept
    {
        auto *s = static_cast<sess_session *>(handle);
        if (busy(s))
            return false;
        (failed ? sess_session_discard : sess_session_close)(s);
        return true;
    }
    int exceptions_;
};

/// Runs `f` where a C callback returns a sess_result, so that no exception
/// unwinds into the library (which would abort the process): `f`'s result
/// (S_OK when it returns void), or, when it throws, a sess::error's code
/// (E_FAIL if that is no failure code), E_OUTOFMEMORY for std::bad_alloc,
/// E_FAIL for anything else. The exception's what() (a sess::error's or
/// another std::exception's) goes with the code (sess_error_set): the
/// caller of the libsess call that ran the callback gets it in its error,
/// e.g. "Session_OnStart failed: <what()>". For the callbacks a host
/// writes itself: static object factories, custom stores, its COM
/// objects' methods (which the library does not call: there the message
/// is dropped). (A sess_clock_fn has no failure to return: it must not
/// throw.)
template <class F> sess_result guard(F &&f) noexcept
{
    try {
        if constexpr (std::is_void_v<std::invoke_result_t<F &>>) {
            f();
            return SESS_S_OK;
        } else {
            return f();
        }
    } catch (const error &e) {
        return detail::failure(e.code() < 0 ? e.code() : SESS_E_FAIL, e.what());
    } catch (const std::bad_alloc &) {
        return SESS_E_OUTOFMEMORY;
    } catch (const std::exception &e) {
        return detail::failure(SESS_E_FAIL, e.what());
    } catch (...) {
        return SESS_E_FAIL;
    }
}

/// Session_OnStart and Session_OnEnd as C++ callables. install() points an
/// application's options at a copy of them, called through functions that
/// stop every exception at the C boundary. This object keeps that copy:
/// it (or the object it is moved to, or a copy of it) must outlive the
/// application (and every site sharing it). Moving it is safe; changing
/// the handlers after install() changes nothing for that application.
/// The handlers may be called from any thread.
struct app_events {
    /// A handler: gets the session, lent for the call (do not close it).
    using handler = std::function<void(session_ref)>;
    /// Session_OnStart, or empty (none): may read and write the new
    /// session. An exception cancels the session: the call creating it
    /// (app::create; request's constructor, as an exclusive request
    /// without a session gets one at once; request::session) throws a
    /// sess::error with the code guard() gives and, in its what(), the
    /// exception's ("Session_OnStart failed: <what()>").
    handler on_start;
    /// Session_OnEnd, or empty: reads the ending session. Session_OnEnd
    /// has no failure to return (the session ends whatever it does), so an
    /// exception stops here and goes to on_end_error.
    handler on_end;
    /// Told of an exception from on_end (std::current_exception()), on the
    /// thread that ran it; empty: "libsess: Session_OnEnd threw: " and its
    /// what() go to std::cerr. Whatever it throws is dropped.
    std::function<void(std::exception_ptr)> on_end_error;

    /// Copies the handlers into a block this object keeps (moves carry it,
    /// copies share it), and sets `o.event_context` to that block and
    /// `o.on_start` / `o.on_end` to call its handlers (NULL for an empty
    /// one).
    void install(sess_app_options &o)
    {
        installed_.push_back(std::make_shared<handlers>(handlers{on_start, on_end, on_end_error}));
        o.event_context = installed_.back().get();
        o.on_start = on_start ? start : nullptr;
        o.on_end = on_end ? end : nullptr;
    }

private:
    /// The handlers as install() found them: what an application calls.
    struct handlers {
        handler on_start, on_end;
        std::function<void(std::exception_ptr)> on_end_error;
    };
    /// One block per install(), at a fixed address while any owner lives.
    std::vector<std::shared_ptr<handlers>> installed_;

    /// The sess_on_start_fn: on_start, its exception a result code.
    static sess_result start(void *context, sess_session *s) noexcept
    {
        return guard([&] { static_cast<handlers *>(context)->on_start(session_ref(s)); });
    }
    /// The sess_on_end_fn: on_end, its exception reported.
    static void end(void *context, sess_session *s) noexcept
    {
        const auto *events = static_cast<handlers *>(context);
        try {
            events->on_end(session_ref(s));
        } catch (...) {
            report(*events, std::current_exception());
        }
    }
    /// Passes `e` to on_end_error, or writes it to std::cerr.
    static void report(const handlers &events, std::exception_ptr e) noexcept
    {
        try {
            if (events.on_end_error) {
                events.on_end_error(e);
                return;
            }
            std::cerr << "libsess: Session_OnEnd threw: " << what(e) << '\n';
        } catch (...) {
        }
    }
    /// The what() of `e`.
    static std::string what(std::exception_ptr e)
    {
        try {
            std::rethrow_exception(e);
        } catch (const std::exception &x) {
            return x.what();
        } catch (...) {
            return "an exception that is not a std::exception";
        }
    }
};

/// CompareStringEx: how `a` sorts against `b` under `lcid` (CLDR's order
/// for its locale; `flags` 0 or SESS_NORM_* / SESS_LINGUISTIC_* /
/// SESS_SORT_*, Windows' values): < 0 before, 0 equal, > 0 after.
inline int compare_text(std::uint32_t lcid, text_arg a, text_arg b, std::uint32_t flags = 0)
{
    std::int32_t order = 0;
    detail::check(sess_compare_text(lcid, detail::c_str(a).c_str(), detail::c_str(b).c_str(), flags, &order));
    return order;
}

/// UTF-8 `text` encoded in code page `codepage`, as the response's bytes
/// (UTF-16 output holds NULs); a character it cannot hold becomes `&#N;`,
/// or `?` with SESS_ENCODE_QUESTION_MARK in `flags`.
inline std::string codepage_encode(std::uint32_t codepage, std::string_view text, std::uint32_t flags = 0)
{
    return detail::text_out([&](char *b, std::size_t l, std::size_t *o) {
        return sess_codepage_encode(codepage, text.data(), text.size(), flags, b, l, o);
    });
}

/// `data` in code page `codepage` (a form post, say) as UTF-8; a malformed
/// sequence becomes U+FFFD.
inline std::string codepage_decode(std::uint32_t codepage, std::string_view data)
{
    return detail::text_out([&](char *b, std::size_t l, std::size_t *o) {
        return sess_codepage_decode(codepage, data.data(), data.size(), b, l, o);
    });
}

/// The charset name IIS sends in `Content-Type` for `codepage`
/// (`Shift_JIS` for 932, `UTF-8` for 65001).
inline std::string codepage_charset(std::uint32_t codepage)
{
    return detail::text_out(
        [&](char *b, std::size_t l, std::size_t *o) { return sess_codepage_charset(codepage, b, l, o); });
}

namespace detail {
/// A versioned struct T filled by its `_init_sized` function, given this
/// header's sizeof T (as sess.h's `_init` macros pass it).
template <class T> T defaults(sess_result (*init_sized)(T *, std::size_t))
{
    T o;
    check(init_sized(&o, sizeof o));
    return o;
}
} // namespace detail

/// Application options with the library's defaults (sess_app_options_init).
inline sess_app_options app_options() { return detail::defaults(sess_app_options_init_sized); }
/// Redis store options with the library's defaults (sess_redis_options_init):
/// set `url`, then point sess_app_options::redis at them.
inline sess_redis_options redis_options() { return detail::defaults(sess_redis_options_init_sized); }
/// LMDB store options with the library's defaults (sess_lmdb_options_init):
/// set `path`, then point sess_app_options::lmdb at them.
inline sess_lmdb_options lmdb_options() { return detail::defaults(sess_lmdb_options_init_sized); }
/// A custom store's table with struct_size set and no callbacks
/// (sess_store_vtbl_init): set them, then point sess_app_options::store at it.
/// (A C++ store derives from sess::store instead.)
inline sess_store_vtbl store_vtbl() { return detail::defaults(sess_store_vtbl_init_sized); }

/// A store callback's outcome: sess.h's SESS_STORE_* (the same values).
/// Failures are not outcomes: a store member function throws them.
enum class store_outcome : sess_result {
    ok = SESS_STORE_OK,               ///< done
    not_found = SESS_STORE_NOT_FOUND, ///< no such key (or, for get, expired)
    locked = SESS_STORE_LOCKED,       ///< another lock token holds the key, or not this one
    exists = SESS_STORE_EXISTS,       ///< the key is taken (create, rename)
    expired = SESS_STORE_EXPIRED,     ///< get removed an expired session and copied its final blob
};

/// The blob store::get copies a session's bytes into (sess_buffer), lent
/// for that call only.
class store_buffer {
public:
    /// Wraps `buffer` (borrowed).
    explicit store_buffer(sess_buffer *buffer) noexcept : b_(buffer) {}
    /// Appends `bytes` (the blob may be written in pieces); a failure
    /// throws sess::error, which get lets through (the call fails with it).
    void write(std::string_view bytes) { detail::check(sess_buffer_write(b_, bytes.data(), bytes.size())); }

private:
    sess_buffer *b_;
};

/// The expired sessions' blobs store::list_expired claims
/// (sess_buffer_list), lent for that call only. Every blob in it when
/// list_expired returns, or throws, gets Session_OnEnd.
class expired_list {
public:
    /// Wraps `list` (borrowed), empty.
    explicit expired_list(sess_buffer_list *list) noexcept : l_(list) {}
    /// Adds one expired session's final blob (copied). A full list (more
    /// than `max`), a blob over the value limit or no memory throws
    /// sess::error: keep that session stored.
    void add(std::string_view blob)
    {
        detail::check(sess_buffer_list_add(l_, blob.data(), blob.size()));
        ++size_;
    }
    /// Takes back every blob added after the first `len` (their removal
    /// failed: those sessions stay stored and get no Session_OnEnd now).
    void truncate(std::size_t len)
    {
        detail::check(sess_buffer_list_truncate(l_, len));
        size_ = (std::min)(size_, len);
    }
    /// How many blobs the list holds (for truncate()).
    std::size_t size() const noexcept { return size_; }

private:
    sess_buffer_list *l_;
    std::size_t size_ = 0;
};

/// A session store the host supplies (a database, a shared-memory table, a
/// std::map in tests): a C++ face on sess_store_vtbl, whose documentation
/// in sess.h gives each member's contract (what it does, which outcomes it
/// returns). Derive, override the pure virtual members, and hand an
/// instance to an application: `sess::app(options, std::make_shared<my_store>())`.
///
/// Keys are 32 lowercase hex digits; blobs are opaque bytes to keep as
/// they are; views are valid for the call only; times are milliseconds of
/// the application's clock. A failure is an exception, stopped at the C
/// boundary by sess::guard: a sess::error keeps its code (throw
/// SESS_E_STORE_UNAVAILABLE when the store is down), std::bad_alloc is
/// SESS_E_OUTOFMEMORY, anything else SESS_E_FAIL; its what() goes with the
/// code into the error the library call that needed the store reports.
///
/// Thread safety: the library calls the members from any thread, several
/// at once (also on the same key: the lock tokens decide), and the last
/// reference may go on any thread: the store must synchronise itself.
///
/// Ownership: the application shares the store (std::shared_ptr) and lets
/// go of it once it is gone (released and its last session closed), so the
/// host may keep a reference too, share one store between applications,
/// or inspect it; if the application cannot be created, it takes nothing.
class store {
public:
    store() = default;
    store(const store &) = delete;
    store &operator=(const store &) = delete;
    virtual ~store() = default;

    /// get-exclusive (`exclusive`: also take the lock for `lock_token`) or
    /// get-shared (no lock; `lock_token` 0): copy `key`'s blob into `out`
    /// (before taking the lock) → ok; locked, not_found, or expired (an
    /// exclusive get that removed an expired session) as sess.h says.
    virtual store_outcome get(std::string_view key, bool exclusive, std::uint64_t lock_token,
                              std::uint64_t now_ms, store_buffer &out) = 0;
    /// Insert `key` with `blob` and `deadline_ms` if absent, locked for
    /// `lock_token` since `now_ms` → ok; taken → exists. May throw
    /// SESS_E_TOO_MANY_SESSIONS when it holds `max_sessions`.
    virtual store_outcome create(std::string_view key, std::uint64_t lock_token, std::uint64_t now_ms,
                                 std::uint64_t deadline_ms, std::uint64_t max_sessions, std::string_view blob) = 0;
    /// If `lock_token` holds `key`'s lock: store `blob` (std::nullopt: the
    /// session is unchanged, keep the stored one), set `deadline_ms`,
    /// unlock → ok; else not_found / locked, nothing written.
    virtual store_outcome set_and_release(std::string_view key, std::uint64_t lock_token, std::uint64_t deadline_ms,
                                          std::optional<std::string_view> blob) = 0;
    /// Unlock without saving, if `lock_token` holds the lock → ok; else
    /// not_found / locked (the library ignores the result).
    virtual store_outcome release(std::string_view key, std::uint64_t lock_token) = 0;
    /// Delete (Abandon), if `lock_token` holds the lock → ok; else
    /// not_found / locked, nothing changed.
    virtual store_outcome remove(std::string_view key, std::uint64_t lock_token) = 0;
    /// Set a stored session's deadline, leaving its data and lock → ok; or
    /// not_found.
    virtual store_outcome reset_timeout(std::string_view key, std::uint64_t deadline_ms) = 0;
    /// Claim up to `max` unlocked sessions whose deadline is at or before
    /// `now_ms`, each exactly once: add its blob to `out`, then remove it
    /// (a removal that fails: `out.truncate()` back to before its blob).
    virtual void list_expired(std::uint64_t now_ms, std::size_t max, expired_list &out) = 0;
    /// The number of stored sessions. The default counts 0, as a NULL
    /// `count` in the C table does.
    virtual std::uint64_t count() { return 0; }
    /// Whether rename() is implemented (asked once, when the application is
    /// created). The default, false, leaves the C table's `rename` NULL:
    /// regenerate_id then calls create() for the new key and remove() for
    /// the old one.
    virtual bool has_rename() const { return false; }
    /// regenerate_id in one transaction (called only when has_rename()):
    /// move `old_key`, whose lock `lock_token` holds, to `new_key` with
    /// `blob` and `deadline_ms`, locked for `lock_token` since `now_ms`, and
    /// delete `old_key` → ok; else exists / not_found / locked, nothing
    /// changed. The default throws SESS_E_NOTIMPL.
    virtual store_outcome rename(std::string_view old_key, std::string_view new_key, std::uint64_t lock_token,
                                 std::uint64_t now_ms, std::uint64_t deadline_ms, std::string_view blob)
    {
        (void)old_key, (void)new_key, (void)lock_token, (void)now_ms, (void)deadline_ms, (void)blob;
        throw error(SESS_E_NOTIMPL, "sess::store::rename is not implemented (has_rename() is true)");
    }
    /// The secret (16 bytes or more, the same in every process sharing the
    /// store) under which blobs keep the session ID masked, so that
    /// Session_OnEnd of a session list_expired ends sees its real
    /// SessionID; asked once and copied when the application is created.
    /// The default, empty: none (sess_store_vtbl::id_secret NULL).
    virtual std::string_view id_secret() const { return {}; }
};

namespace detail {
/// The sess_store_vtbl callbacks over a sess::store: the context is a
/// std::shared_ptr<store> the application owns (destroy deletes it), each
/// member called inside guard().
struct store_calls {
    /// A table for `owner` (the application's reference to the store).
    static sess_store_vtbl table(std::shared_ptr<store> *owner)
    {
        sess_store_vtbl v = defaults(sess_store_vtbl_init_sized);
        v.context = owner;
        v.get = get;
        v.create = create;
        v.set_and_release = set_and_release;
        v.release = release;
        v.remove = remove;
        v.reset_timeout = reset_timeout;
        v.list_expired = list_expired;
        v.count = count;
        v.destroy = destroy;
        if ((*owner)->has_rename())
            v.rename = rename;
        const std::string_view secret = (*owner)->id_secret();
        if (!secret.empty()) {
            v.id_secret = reinterpret_cast<const std::uint8_t *>(secret.data());
            v.id_secret_len = secret.size();
        }
        return v;
    }

private:
    static store &of(void *context) noexcept { return **static_cast<std::shared_ptr<store> *>(context); }
    /// `len` bytes at `data` (NULL with 0: none).
    static std::string_view bytes(const void *data, std::size_t len) noexcept
    {
        return data == nullptr ? std::string_view() : std::string_view(static_cast<const char *>(data), len);
    }
    /// Runs `f` (returning a store_outcome) inside guard().
    template <class F> static sess_result outcome(F &&f) noexcept
    {
        return guard([&] { return static_cast<sess_result>(f()); });
    }
    static sess_result get(void *c, const char *key, std::uint32_t flags, std::uint64_t lock_token,
                           std::uint64_t now_ms, sess_buffer *out) noexcept
    {
        return outcome([&] {
            store_buffer blob(out);
            return of(c).get(key, (flags & SESS_STORE_EXCLUSIVE) != 0, lock_token, now_ms, blob);
        });
    }
    static sess_result create(void *c, const char *key, std::uint64_t lock_token, std::uint64_t now_ms,
                              std::uint64_t deadline_ms, std::uint64_t max_sessions, const void *blob,
                              std::size_t len) noexcept
    {
        return outcome(
            [&] { return of(c).create(key, lock_token, now_ms, deadline_ms, max_sessions, bytes(blob, len)); });
    }
    static sess_result set_and_release(void *c, const char *key, std::uint64_t lock_token, std::uint64_t deadline_ms,
                                       const void *blob, std::size_t len) noexcept
    {
        return outcome([&] {
            std::optional<std::string_view> data;
            if (blob != nullptr)
                data = bytes(blob, len);
            return of(c).set_and_release(key, lock_token, deadline_ms, data);
        });
    }
    static sess_result release(void *c, const char *key, std::uint64_t lock_token) noexcept
    {
        return outcome([&] { return of(c).release(key, lock_token); });
    }
    static sess_result remove(void *c, const char *key, std::uint64_t lock_token) noexcept
    {
        return outcome([&] { return of(c).remove(key, lock_token); });
    }
    static sess_result reset_timeout(void *c, const char *key, std::uint64_t deadline_ms) noexcept
    {
        return outcome([&] { return of(c).reset_timeout(key, deadline_ms); });
    }
    static sess_result list_expired(void *c, std::uint64_t now_ms, std::size_t max, sess_buffer_list *out) noexcept
    {
        return guard([&] {
            expired_list list(out);
            of(c).list_expired(now_ms, max, list);
        });
    }
    static sess_result count(void *c, std::uint64_t *out_count) noexcept
    {
        return guard([&] { *out_count = of(c).count(); });
    }
    static sess_result rename(void *c, const char *old_key, const char *new_key, std::uint64_t lock_token,
                              std::uint64_t now_ms, std::uint64_t deadline_ms, const void *blob,
                              std::size_t len) noexcept
    {
        return outcome([&] {
            return of(c).rename(old_key, new_key, lock_token, now_ms, deadline_ms, bytes(blob, len));
        });
    }
    /// The application is done with the store: its reference goes.
    static void destroy(void *c) noexcept { delete static_cast<std::shared_ptr<store> *>(c); }
};
} // namespace detail

/// An application (its sessions and options); owns its handle.
class app {
public:
    /// An application with the default options.
    app() { detail::check(sess_app_create(nullptr, &a_)); }
    /// An application with `options` (start from sess::app_options()).
    explicit app(const sess_app_options &options) { detail::check(sess_app_create(&options, &a_)); }
    /// An application with `options` whose sessions `sessions` keeps (in
    /// place of `options.store`). The application holds a reference to it
    /// until it is gone (released and its last session closed, on whichever
    /// thread that happens); if it cannot be created (sess::error thrown),
    /// it holds none: the caller's references are all there are. A null
    /// `sessions` is E_POINTER.
    app(const sess_app_options &options, std::shared_ptr<store> sessions)
    {
        if (!sessions)
            throw error(SESS_E_POINTER, "a null sess::store for an application");
        // The application's reference, which the table's destroy deletes;
        // deleted here instead when the creation fails (destroy is not
        // called then).
        auto owner = std::make_unique<std::shared_ptr<store>>(std::move(sessions));
        const sess_store_vtbl table = detail::store_calls::table(owner.get());
        sess_app_options o = options;
        o.store = &table;
        detail::check(sess_app_create(&o, &a_));
        (void)owner.release(); // now the application's
    }
    app(const app &) = delete;
    app &operator=(const app &) = delete;
    app(app &&o) noexcept : a_(std::exchange(o.a_, nullptr)) {}
    /// Releases this application and takes `o`'s (`o` is left empty).
    app &operator=(app &&o) noexcept
    {
        if (this != &o) {
            sess_app_release(a_);
            a_ = std::exchange(o.a_, nullptr);
        }
        return *this;
    }
    ~app() { sess_app_release(a_); }
    /// The C handle.
    sess_app *handle() const noexcept { return a_; }

    /// A new session, held exclusively.
    session create()
    {
        sess_session *s = nullptr;
        detail::check(sess_session_create(a_, &s));
        return session(s);
    }
    /// Opens stored session `id` (exclusive, or shared when `readonly`).
    session open(text_arg id, bool readonly = false)
    {
        sess_session *s = nullptr;
        detail::check(sess_session_open(a_, detail::c_str(id).c_str(), readonly ? SESS_OPEN_READONLY : 0u, &s));
        return session(s);
    }
    /// Ends expired sessions now; returns how many.
    std::size_t expire()
    {
        std::size_t n = 0;
        detail::check(sess_app_expire(a_, &n));
        return n;
    }
    /// The number of stored sessions.
    std::size_t session_count() const
    {
        std::size_t n = 0;
        detail::check(sess_app_session_count(a_, &n));
        return n;
    }
    /// The application's counters since it was created (sess_app_stats);
    /// `sessions_current` is UINT64_MAX when the store cannot count now.
    sess_app_counters stats() const
    {
        sess_app_counters c = detail::defaults(sess_app_stats_init_sized);
        detail::check(sess_app_stats(a_, &c));
        return c;
    }
    /// The failure of the expiry thread's last sweep (a store down, say),
    /// or std::nullopt when it succeeded, none has run or there is no
    /// thread.
    std::optional<error> expiry_error() const
    {
        const sess_result hr = sess_app_expiry_status(a_);
        if (hr >= 0)
            return std::nullopt;
        return error::last(hr);
    }

private:
    sess_app *a_ = nullptr;
};

/// Web options with the library's defaults (sess_web_options_init).
inline sess_web_options web_options() { return detail::defaults(sess_web_options_init_sized); }

/// A site: applications by virtual path; owns its handle.
class site {
public:
    /// An empty site.
    site() { detail::check(sess_site_create(&s_)); }
    site(const site &) = delete;
    site &operator=(const site &) = delete;
    site(site &&o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
    /// Releases this site and takes `o`'s (`o` is left empty).
    site &operator=(site &&o) noexcept
    {
        if (this != &o) {
            sess_site_release(s_);
            s_ = std::exchange(o.s_, nullptr);
        }
        return *this;
    }
    ~site() { sess_site_release(s_); }
    /// The C handle.
    sess_site *handle() const noexcept { return s_; }
    /// Serves `application` at `virtual_path` (the site shares it).
    void add(text_arg virtual_path, const app &application, const sess_web_options *options = nullptr)
    {
        detail::check(sess_site_add(s_, detail::c_str(virtual_path).c_str(), application.handle(), options));
    }

private:
    sess_site *s_ = nullptr;
};

/// One web request's session lifecycle: begin (cookie in), the session,
/// end (Set-Cookie out). Leaving scope by an exception ends it as failed.
class request {
public:
    /// Begins a request for `path` with the `Cookie` header's bytes.
    request(const site &s, text_arg path, text_arg cookie_header = {},
            std::uint32_t session_use = SESS_USE_EXCLUSIVE, bool https = false)
        : exceptions_(std::uncaught_exceptions())
    {
        const std::string p = detail::c_str(path);
        sess_request_info info{};
        info.struct_size = sizeof info;
        info.session_use = session_use;
        info.path = p.c_str();
        const std::string_view cookie = cookie_header;
        info.cookie_header = cookie.empty() ? nullptr : cookie.data();
        info.cookie_header_len = cookie.size();
        info.https = https;
        detail::check(sess_request_begin(s.handle(), &info, &r_));
    }
    /// No bool or character for `session_use` (true would be
    /// SESS_USE_READONLY): pass SESS_USE_*, and `https` after it.
    template <class B, std::enable_if_t<detail::is_char_or_bool_v<B>, int> = 0>
    request(const site &, text_arg, text_arg, B, bool = false) = delete;
    request(const request &) = delete;
    request &operator=(const request &) = delete;
    /// Takes over `o`'s request (`o` is left without one: handle() null,
    /// its calls E_POINTER), so a function can begin one and return it.
    request(request &&o) noexcept : r_(std::exchange(o.r_, nullptr)), exceptions_(o.exceptions_) {}
    /// No assignment: it would end the request assigned over, and lose its
    /// Set-Cookie.
    request &operator=(request &&) = delete;
    /// Ends the request if end() has not: as failed when leaving scope by
    /// an exception; the Set-Cookie is lost (call end() to send it).
    /// Destroyed by host code a call on it runs (Session_OnStart), once
    /// that call has returned.
    ~request()
    {
        if (r_ != nullptr)
            detail::end_or_defer(attempt_end, std::exchange(r_, nullptr), std::uncaught_exceptions() > exceptions_);
    }
    /// The C handle.
    sess_request *handle() const noexcept { return r_; }
    /// Takes the session as `session_use` says, for a request begun with
    /// SESS_USE_OFF (route first, then acquire).
    void acquire(std::uint32_t session_use) { detail::check(sess_request_acquire(r_, session_use)); }
    /// No bool or character (true would be SESS_USE_READONLY).
    template <class B, std::enable_if_t<detail::is_char_or_bool_v<B>, int> = 0> void acquire(B) = delete;
    /// The request path without any cookieless ID segment.
    std::string path() const
    {
        return detail::text_out([&](char *b, std::size_t l, std::size_t *o) { return sess_request_path(r_, b, l, o); });
    }
    /// The virtual path of the request's application.
    std::string app_path() const
    {
        return detail::text_out(
            [&](char *b, std::size_t l, std::size_t *o) { return sess_request_app_path(r_, b, l, o); });
    }
    /// `url` as a link should carry it (with the cookieless ID segment).
    std::string rewrite_url(text_arg url) const
    {
        const std::string u = detail::c_str(url);
        return detail::text_out(
            [&](char *b, std::size_t l, std::size_t *o) { return sess_request_rewrite_url(r_, u.c_str(), b, l, o); });
    }
    /// Whether the URL the request came with no longer carries its
    /// session's ID: a cookieless application's session that is new or got
    /// a new ID (regenerate_id(), at login). Redirect then to rewrite_url()
    /// of the request's URL, or its relative links lose the session.
    bool url_id_outdated() const
    {
        bool outdated = false;
        detail::check(sess_request_url_id_outdated(r_, &outdated));
        return outdated;
    }
    /// The Set-Cookie value the response needs now, for a host that sends
    /// its headers before end(); std::nullopt when there is none to send
    /// (no session yet, the client has the cookie, a cookieless
    /// application). Once given it counts as sent: end() then returns only
    /// a different one (Abandon's, a regenerated ID's).
    std::optional<std::string> set_cookie()
    {
        sess_result hr = SESS_S_OK;
        std::string value = detail::text_out([&](char *b, std::size_t l, std::size_t *o) {
            return hr = sess_request_set_cookie(r_, b, l, o);
        });
        if (hr == SESS_S_FALSE)
            return std::nullopt;
        return value;
    }
    /// CookieMode: SESS_COOKIE_MODE_USE_URI (cookieless) or
    /// SESS_COOKIE_MODE_USE_COOKIES.
    std::uint32_t cookie_mode() const
    {
        std::uint32_t mode = 0;
        detail::check(sess_request_cookie_mode(r_, &mode));
        return mode;
    }
    /// IsCookieless: whether the session ID travels in the URL.
    bool is_cookieless() const
    {
        bool cookieless = false;
        detail::check(sess_request_is_cookieless(r_, &cookieless));
        return cookieless;
    }
    /// The request's session (lent until end()); with `create`, a new one
    /// if there is none; without, std::nullopt when there is none.
    std::optional<session_ref> session(bool create = true)
    {
        sess_session *s = nullptr;
        if (detail::check(sess_request_session(r_, create ? SESS_REQUEST_CREATE : 0u, &s)) != SESS_S_OK)
            return std::nullopt;
        return session_ref(s);
    }
    /// Ends the request (keeping or, when `failed`, undoing the session's
    /// changes) and returns the Set-Cookie value to send, if any. A store
    /// that fails the end throws end_error, which may still carry a
    /// Set-Cookie to send. Called back by host code a call on the request
    /// runs (Session_OnStart, a static object's factory):
    /// SESS_E_WRONG_STATE, the request kept.
    std::optional<std::string> end(bool failed = false)
    {
        if (r_ != nullptr && busy(r_))
            throw error::last(SESS_E_WRONG_STATE);
        variant cookie;
        const sess_result hr = sess_request_end(std::exchange(r_, nullptr), failed, cookie.put());
        std::optional<std::string> set_cookie;
        if (!cookie.empty())
            set_cookie = std::string(cookie.str());
        try {
            detail::check(hr);
        } catch (error &e) {
            throw end_error(std::move(e), std::move(set_cookie));
        }
        return set_cookie;
    }

private:
    /// Whether a call on `r` (or the session it lent) runs: the library
    /// refuses to end it then, nothing freed; a failure with that code can
    /// also come after it is freed (a custom store's), so a call that frees
    /// nothing asks first.
    static bool busy(sess_request *r) noexcept
    {
        sess_session *s = nullptr;
        return sess_request_session(r, 0, &s) == SESS_E_WRONG_STATE;
    }
    /// A detail::deferred_end's attempt for a request handle (its
    /// Set-Cookie lost, as the destructor's).
    static bool attempt_end(void *handle, bool failed) noexcept
    {
        auto *r = static_cast<sess_request *>(handle);
        if (busy(r))
            return false;
        sess_request_end(r, failed, nullptr);
        return true;
    }
    sess_request *r_ = nullptr;
    int exceptions_;
};

} // namespace sess

#endif // SESS_HPP_LANG
#endif // SESS_HPP
