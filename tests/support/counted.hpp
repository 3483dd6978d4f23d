#pragma once

#include <cstddef>

namespace duet::test {

/// A lifetime probe: counts every construction, copy, move and destruction of
/// its instances, so a test can prove that nothing leaked (`alive() == 0`)
/// and nothing was copied needlessly (`copies == 0`). Not thread-safe: use it
/// from one thread at a time. Call `reset()` at the start of each test.
struct counted {
  inline static std::size_t default_constructions = 0;
  inline static std::size_t copies = 0;
  inline static std::size_t moves = 0;
  inline static std::size_t destructions = 0;

  static void reset() noexcept { default_constructions = copies = moves = destructions = 0; }

  /// Instances constructed (by any constructor) and not yet destroyed.
  [[nodiscard]] static std::size_t alive() noexcept {
    return default_constructions + copies + moves - destructions;
  }

  [[nodiscard]] static std::size_t constructions() noexcept { return default_constructions + copies + moves; }

  int id = 0;

  counted() noexcept { ++default_constructions; }
  explicit counted(int value) noexcept : id(value) { ++default_constructions; }
  counted(const counted& other) noexcept : id(other.id) { ++copies; }
  counted(counted&& other) noexcept : id(other.id) { ++moves; }
  counted& operator=(const counted&) = default;
  counted& operator=(counted&&) = default;
  ~counted() { ++destructions; }
};

}  // namespace duet::test
