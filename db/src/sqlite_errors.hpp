// Internal: classifying SQLite result codes.
#pragma once

#include "hilt/db/error.hpp"

namespace hilt::db::detail {

// The db_errc for an SQLite (primary or extended) result code.
db_errc errc_for(int rc) noexcept;

// True for failures that refuse one row but leave the transaction usable (constraints, type
// mismatches, oversized values); the recorder skips such a row and commits the rest.
bool is_row_error(int rc) noexcept;

}  // namespace hilt::db::detail
