// The headers after windows.h's macros: a COM host on Windows includes
// windows.h first, which defines min and max (without NOMINMAX), near and
// far (minwindef.h) and interface (combaseapi.h). They are defined here as
// windows.h defines them, after the standard headers (libstdc++'s are not
// safe from them; MSVC's are) and doctest.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
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

#include <doctest/doctest.h>

#define min(a, b) (((a) < (b)) ? (a) : (b))
#define max(a, b) (((a) > (b)) ? (a) : (b))
#define near
#define far
#define interface struct

#include "iis_session_object.hpp"

// The header puts the caller's interface macro back.
interface restored {};
static_assert(std::is_class_v<restored>);

TEST_CASE("the headers compile after windows.h's min, max, near, far and interface macros")
{
    CHECK(sess::variant(1.5L).as<double>() == 1.5);
    const sess::time_point t{std::chrono::milliseconds(1234)};
    CHECK(sess::variant(t).as<sess::time_point>() == t);
}
