// The benchmark programs' one command-line helper, kept apart from
// bench_common.hpp because that header replaces operator new, which
// duet_bench_memory does its own way.
#pragma once

#include <cstdint>
#include <string_view>

namespace duet_bench {

// Parses a whole decimal number; false for anything else (sign, junk, overflow).
inline bool parse_number(std::string_view text, std::uint64_t& out) {
  if (text.empty() || text.size() > 19) return false;
  std::uint64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  out = value;
  return true;
}

}  // namespace duet_bench
