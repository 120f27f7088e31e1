// A tiny free-threaded COM-style object (IUnknown only) for the tests: a
// session-scope static object's factory, or a value stored by reference.
#ifndef SESS_TEST_OBJECT_HPP
#define SESS_TEST_OBJECT_HPP

#include "sess.hpp"

#include <atomic>
#include <cstring>

struct test_object {
    sess_unknown base; // first: a sess_unknown * to it is a test_object *
    std::atomic<std::uint32_t> refs{1};

    // How many test objects are alive.
    static int alive() { return live().load(); }

    // A new object as an owned reference.
    static sess::unknown_ptr make() { return sess::unknown_ptr::adopt(&(new test_object)->base); }

    // A session-scope static object's factory (a std::bad_alloc stops at
    // the C boundary).
    static sess_result factory(void *, const char *, sess_unknown **out) noexcept
    {
        return sess::guard([out] { *out = &(new test_object)->base; });
    }

private:
    test_object() noexcept : base{&vtbl} { ++live(); }
    ~test_object() { --live(); }
    static std::atomic<int> &live()
    {
        static std::atomic<int> n{0};
        return n;
    }
    static test_object *from(sess_unknown *u) { return reinterpret_cast<test_object *>(u); }
    static sess_result query_interface(sess_unknown *self, const sess_guid *iid, void **out)
    {
        static const sess_guid iunknown = {0, 0, 0, {0xC0, 0, 0, 0, 0, 0, 0, 0x46}};
        if (std::memcmp(iid, &iunknown, sizeof iunknown) != 0) {
            *out = nullptr;
            return SESS_E_NOINTERFACE;
        }
        add_ref(self);
        *out = self;
        return SESS_S_OK;
    }
    static std::uint32_t add_ref(sess_unknown *self) { return ++from(self)->refs; }
    static std::uint32_t release(sess_unknown *self)
    {
        const std::uint32_t n = --from(self)->refs;
        if (n == 0)
            delete from(self);
        return n;
    }
    static constexpr sess_unknown_vtbl vtbl{query_interface, add_ref, release};
};

#endif // SESS_TEST_OBJECT_HPP
