// hilt/db/util.hpp — small helpers for what the database stores.
#pragma once

#include <chrono>
#include <string>

namespace hilt::db {

// Wall-clock time as stored in *_at / wall columns: ISO-8601 UTC with milliseconds,
// e.g. "2024-05-01T12:34:56.789Z". Sorts as text in time order.
std::string utc_timestamp(std::chrono::system_clock::time_point when);
std::string utc_timestamp();  // now

// A random (version 4) UUID in canonical lower-case form, e.g.
// "3f2b8a4e-9c1d-4e7a-b5f0-0a1b2c3d4e5f". Used for runs.uuid when the caller gives none.
std::string make_uuid();

}  // namespace hilt::db
