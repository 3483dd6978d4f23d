#pragma once

#include <cstddef>
#include <string_view>

namespace duet::inline v0::detail {

/// A string literal usable as a template argument (a structural type), so a
/// method's name is part of its type: `method<"kv.get", ...>`.
template <std::size_t N>
struct fixed_string {
  // Public because structural types need public members; users never name it.
  char chars[N]{};

  constexpr fixed_string(const char (&literal)[N]) noexcept {
    for (std::size_t i = 0; i < N; ++i) chars[i] = literal[i];
  }

  [[nodiscard]] constexpr std::string_view view() const noexcept { return {chars, N - 1}; }
};

}  // namespace duet::inline v0::detail
