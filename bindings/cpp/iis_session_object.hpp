// iis_session_object.hpp: Dynamics AX X++'s IISSessionObject over libsess.
//
// Exactly seed 000's methods, with X++'s optional-argument semantics: a
// property method without its argument reads; with it, sets (validated by
// the library) and returns the value now in force. contents() and
// staticObjects() return IISVariantDictionary objects indexed from 1, as
// ASP and X++ index them (a const IISSessionObject's are read-only
// IISVariantDictionaryView objects); a key is text, an index an int (a
// character or a bool is neither). Errors throw sess::error.
//
//   sess::IISSessionObject session(handle);   // a borrowed sess_session *
//   session.timeout(5);                       // Session.Timeout = 5
//   session.valueTxt("user", "Arthur");
//   int n = session.contents().count();
#ifndef SESS_IIS_SESSION_OBJECT_HPP
#define SESS_IIS_SESSION_OBJECT_HPP

#include "sess.hpp"
#if SESS_HPP_LANG >= 201703L // (else sess.hpp's #error says why)

#include <string>
#include <string_view>
#include <type_traits>

// windows.h (combaseapi.h) defines `interface` as `struct`, which would
// break X++'s interface() below: undefined here, restored at the end (a
// caller with windows.h must #undef interface to call it).
#pragma push_macro("interface")
#undef interface

namespace sess {

/// X++'s IISVariantDictionary read only: Session.Contents (what a const
/// IISSessionObject gives) or Session.StaticObjects, indexed from 1 (ASP's
/// Item(i) / Key(i)); a bad index throws DISP_E_BADINDEX.
class IISVariantDictionaryView {
public:
    /// Which collection of the session it shows.
    enum class kind { contents, static_objects };
    /// The collection `which` of `s` (borrowed).
    IISVariantDictionaryView(sess_session *s, kind which) noexcept : s_(s), kind_(which) {}

    /// Count.
    int count() const
    {
        return static_cast<int>(kind_ == kind::contents ? contents_view(s_).size() : static_objects(s_).size());
    }
    /// Item(key): VT_EMPTY when missing.
    variant item(text_arg key) const
    {
        return kind_ == kind::contents ? contents_view(s_)[key] : static_objects(s_)[key];
    }
    /// Item(index), 1-based.
    variant item(int index) const
    {
        return at_index(index, [&](std::size_t i) {
            return kind_ == kind::contents ? contents_view(s_).at(i) : static_objects(s_).at(i);
        });
    }
    /// Key(index), 1-based.
    std::string key(int index) const
    {
        return at_index(index, [&](std::size_t i) {
            return kind_ == kind::contents ? contents_view(s_).key(i) : static_objects(s_).key(i);
        });
    }
    /// Item(index), 1-based, by an integer of another type: one an int
    /// does not hold is DISP_E_BADINDEX (not narrowed to another item).
    template <class I, std::enable_if_t<detail::is_other_integer_of_v<I, int>, int> = 0> variant item(I index) const
    {
        return item(to_int(index));
    }
    /// Key(index), 1-based, by an integer of another type (see item).
    template <class I, std::enable_if_t<detail::is_other_integer_of_v<I, int>, int> = 0> std::string key(I index) const
    {
        return key(to_int(index));
    }
    /// No character or bool (either would be taken as an index): a key is
    /// text, "k" not 'k'; an index an int.
    template <class C, std::enable_if_t<detail::is_char_or_bool_v<C>, int> = 0> variant item(C) const = delete;
    /// No character or bool (either would be taken as an index).
    template <class C, std::enable_if_t<detail::is_char_or_bool_v<C>, int> = 0> std::string key(C) const = delete;

protected:
    /// `index` as an int; one an int does not hold (a std::size_t past
    /// INT_MAX, which would otherwise wrap to another item), DISP_E_BADINDEX.
    template <class I> int to_int(I index) const
    {
        if (detail::fits<int>(index))
            return static_cast<int>(index);
        if constexpr (std::is_signed_v<I>) {
            if (index < 0)
                throw error(SESS_DISP_E_BADINDEX, "index " + std::to_string(index) + ": ASP collections count from 1");
        }
        throw error(SESS_DISP_E_BADINDEX, "index " + std::to_string(index) +
                                              " is out of range: ASP collections count from 1 to the count (" +
                                              std::to_string(count()) + ")");
    }
    /// `index` (1-based) as a 0-based index; below 1, DISP_E_BADINDEX.
    static std::size_t zero_based(int index)
    {
        if (index < 1)
            throw error(SESS_DISP_E_BADINDEX, "index " + std::to_string(index) + ": ASP collections count from 1");
        return static_cast<std::size_t>(index) - 1;
    }
    /// `f(index - 1)`, a C call by 0-based index; an index past the end is
    /// told as the caller counted it, from 1 (the C call's message counts
    /// from 0).
    template <class F> auto at_index(int index, F &&f) const -> decltype(f(std::size_t{}))
    {
        const std::size_t i = zero_based(index);
        int n = 0;
        try {
            return f(i);
        } catch (const error &e) {
            // (Another failure with this code, a factory's, stays as it is.)
            if (e.code() != SESS_DISP_E_BADINDEX || (n = count()) > static_cast<int>(i))
                throw;
        }
        throw error(SESS_DISP_E_BADINDEX, "index " + std::to_string(index) +
                                              " is out of range: ASP collections count from 1 to the count (" +
                                              std::to_string(n) + ")");
    }
    sess_session *s_;
    kind kind_;
};

/// X++'s IISVariantDictionary: IISVariantDictionaryView's reads, and, as
/// X++'s item(key, [var]), item with a value writes. Only Contents can be
/// changed: StaticObjects' changes throw SESS_E_COLLECTION_READONLY.
class IISVariantDictionary : public IISVariantDictionaryView {
public:
    using IISVariantDictionaryView::IISVariantDictionaryView;
    using IISVariantDictionaryView::item;

    /// Item(key) = var (Contents only; StaticObjects: COLLECTION_READONLY):
    /// added, or replaced keeping the key's spelling; returns the value now
    /// stored.
    variant item(text_arg key, const variant &var)
    {
        session_ref(writable_handle()).set(key, var);
        return item(key);
    }
    /// Item(index) = var, 1-based (Contents only): replaces the item's
    /// value; returns the value now stored.
    variant item(int index, const variant &var)
    {
        sess_session *s = writable_handle();
        at_index(index, [&](std::size_t i) { contents(s).set_at(i, var); });
        return item(index);
    }
    /// Remove(key) (Contents only; StaticObjects: COLLECTION_READONLY):
    /// whether there was such an item.
    bool remove(text_arg key) { return contents(writable_handle()).remove(key); }
    /// Remove(index), 1-based (Contents only).
    void remove(int index)
    {
        sess_session *s = writable_handle();
        at_index(index, [&](std::size_t i) { contents(s).remove_at(i); });
    }
    /// Item(index) = var, 1-based, by an integer of another type: one an
    /// int does not hold is DISP_E_BADINDEX (not narrowed to another item).
    template <class I, std::enable_if_t<detail::is_other_integer_of_v<I, int>, int> = 0> variant item(I index, const variant &var)
    {
        return item(to_int(index), var);
    }
    /// Remove(index), 1-based, by an integer of another type (see item).
    template <class I, std::enable_if_t<detail::is_other_integer_of_v<I, int>, int> = 0> void remove(I index)
    {
        remove(to_int(index));
    }
    /// No character or bool (either would be taken as an index): "k" for
    /// a key.
    template <class C, std::enable_if_t<detail::is_char_or_bool_v<C>, int> = 0> variant item(C, const variant &) = delete;
    /// No character or bool (either would be taken as an index): "k" for
    /// a key.
    template <class C, std::enable_if_t<detail::is_char_or_bool_v<C>, int> = 0> void remove(C) = delete;
    /// RemoveAll (Contents only).
    void removeAll() { contents(writable_handle()).clear(); }

private:
    /// The handle, for a change: Contents only.
    sess_session *writable_handle() const
    {
        if (kind_ != kind::contents)
            throw error(SESS_E_COLLECTION_READONLY, "StaticObjects cannot be changed (the application declares them)");
        return s_;
    }
};

/// X++'s IISSessionObject: the Session object of a unit of work the
/// caller keeps owning (constructed from a borrowed sess_session *).
class IISSessionObject {
public:
    /// Wraps `s` (borrowed: valid while the unit of work is).
    explicit IISSessionObject(sess_session *s) noexcept : s_(s) {}

    /// CodePage.
    int codePage() const { return static_cast<int>(s_.codepage()); }
    /// No bool or character (either would be taken as a number).
    template <class T, std::enable_if_t<detail::is_char_or_bool_v<T>, int> = 0> int codePage(T) = delete;
    /// Sets CodePage by an integer of another type: one the C call's type does
    /// not hold is the property's invalid-value error, not wrapped.
    template <class I, std::enable_if_t<detail::is_other_integer_of_v<I, int>, int> = 0> int codePage(I value)
    {
        return static_cast<int>(s_.codepage(value));
    }
    /// Sets CodePage; returns the value in force. A negative one is
    /// SESS_E_INVALID_CODEPAGE as written (not cast to a std::uint32_t).
    int codePage(int codePage) { return static_cast<int>(s_.codepage(codePage)); }
    /// Contents (1-based).
    IISVariantDictionary contents() noexcept
    {
        return IISVariantDictionary(s_.handle(), IISVariantDictionary::kind::contents);
    }
    /// Contents (1-based), read only.
    IISVariantDictionaryView contents() const noexcept
    {
        return IISVariantDictionaryView(s_.handle(), IISVariantDictionaryView::kind::contents);
    }
    /// SessionID.
    std::string getSessionID() const { return s_.id(); }
    /// The Session as a COM-style object (an owned, AddRef'd reference;
    /// `.query<sess_session_object>(SESS_IID_ISESSIONOBJECT)` gives its
    /// ISessionObject vtable, `invoke` calls it by name). Not from a const
    /// IISSessionObject: the object can change the session.
    unknown_ptr interface()
    {
        sess_unknown *out = nullptr;
        detail::check(sess_session_interface(s_.handle(), &out));
        return unknown_ptr::adopt(out);
    }
    /// LCID.
    int lcid() const { return static_cast<int>(s_.lcid()); }
    /// No bool or character (either would be taken as a number).
    template <class T, std::enable_if_t<detail::is_char_or_bool_v<T>, int> = 0> int lcid(T) = delete;
    /// Sets LCID by an integer of another type: one the C call's type does
    /// not hold is the property's invalid-value error, not wrapped.
    template <class I, std::enable_if_t<detail::is_other_integer_of_v<I, int>, int> = 0> int lcid(I value)
    {
        return static_cast<int>(s_.lcid(value));
    }
    /// Sets LCID; returns the value in force. A negative one is
    /// SESS_E_INVALID_LCID as written (not cast to a std::uint32_t).
    int lcid(int lcid) { return static_cast<int>(s_.lcid(lcid)); }
    /// StaticObjects (1-based); its changes throw COLLECTION_READONLY, as
    /// X++'s do.
    IISVariantDictionary staticObjects() noexcept
    {
        return IISVariantDictionary(s_.handle(), IISVariantDictionary::kind::static_objects);
    }
    /// StaticObjects (1-based), read only.
    IISVariantDictionaryView staticObjects() const noexcept
    {
        return IISVariantDictionaryView(s_.handle(), IISVariantDictionaryView::kind::static_objects);
    }
    /// Timeout in minutes.
    int timeout() const { return s_.timeout(); }
    /// No bool or character (either would be taken as a number).
    template <class T, std::enable_if_t<detail::is_char_or_bool_v<T>, int> = 0> int timeout(T) = delete;
    /// Sets Timeout by an integer of another type: one the C call's type does
    /// not hold is the property's invalid-value error, not wrapped.
    template <class I, std::enable_if_t<detail::is_other_integer_of_v<I, int>, int> = 0> int timeout(I value)
    {
        return s_.timeout(value);
    }
    /// Sets Timeout; returns the value in force.
    int timeout(int timeout) { return s_.timeout(timeout); }
    /// Session(name): a copy; VT_EMPTY when missing.
    variant value(text_arg name) const { return s_.get(name); }
    /// Session(name) = var; returns the value now stored.
    variant value(text_arg name, const variant &var)
    {
        s_.set(name, var);
        return s_.get(name);
    }
    /// The value as text under the session's LCID ("" when missing).
    std::string valueTxt(text_arg name) const { return s_.value_txt(name); }
    /// Stores `var` as text; returns it as read back.
    std::string valueTxt(text_arg name, text_arg var) { return s_.value_txt(name, var); }
    /// Abandon: takes effect when the unit of work ends.
    void abandon() { s_.abandon(); }

private:
    session_ref s_;
};

} // namespace sess

#pragma pop_macro("interface")

#endif // SESS_HPP_LANG

#endif // SESS_IIS_SESSION_OBJECT_HPP
