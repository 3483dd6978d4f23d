#pragma once

#include <cstddef>
#include <memory>
#include <new>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

namespace duet::inline v0 {

/// A view of bytes that may be written: the target of a read.
using mutable_buffer = std::span<std::byte>;

/// A view of bytes that are only read: a payload, a piece of a gather write.
using const_buffer = std::span<const std::byte>;

namespace detail {

/// std::allocator, except that growing a vector with resize() leaves the new
/// elements default-initialised: for bytes, untouched. Encoders grow their
/// buffer and then write every new byte, so zeroing it first would be a
/// wasted pass over memory (a whole extra copy's worth for a large payload).
template <class T>
struct default_init_allocator : std::allocator<T> {
  template <class U>
  struct rebind {
    using other = default_init_allocator<U>;
  };

  default_init_allocator() noexcept = default;
  template <class U>
  default_init_allocator(const default_init_allocator<U>&) noexcept {}

  template <class U>
  void construct(U* p) noexcept(std::is_nothrow_default_constructible_v<U>) {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

}  // namespace detail

/// The growable byte storage that encoders append to. A std::vector of
/// std::byte whose resize() does not zero the new bytes (see
/// detail::default_init_allocator); otherwise used like any vector.
using byte_vector = std::vector<std::byte, detail::default_init_allocator<std::byte>>;

}  // namespace duet::inline v0
