// hilt::result<T>: the value of a device call, or the std::error_code that says why there is none.
#pragma once

#include <boost/outcome/std_result.hpp>
#include <system_error>

#include "hilt/error.hpp"

namespace hilt {

namespace outcome = boost::outcome_v2;

// result<T>: success holds T, failure holds a std::error_code (usually hilt::errc).
// r.value() on a failure throws std::system_error; test with `if (r)` / r.has_error() first.
template <class T>
using result = outcome::std_result<T>;

using outcome::failure;
using outcome::success;

}  // namespace hilt
