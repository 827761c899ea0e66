// Internal: the embedded migrations (generated from db/migrations/*.sql at build time).
#pragma once

#include <span>
#include <string_view>

namespace hilt::db::detail {

struct migration {
  int version;            // the schema version this migration produces (1, 2, ...)
  std::string_view name;  // file stem, e.g. "0001_initial"
  std::string_view sql;
};

// All migrations in order; migrations()[i].version == i + 1.
std::span<const migration> migrations() noexcept;

}  // namespace hilt::db::detail
