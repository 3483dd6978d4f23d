#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace duet::inline v0 {

/// A view of bytes that may be written: the target of a read.
using mutable_buffer = std::span<std::byte>;

/// A view of bytes that are only read: a payload, a piece of a gather write.
using const_buffer = std::span<const std::byte>;

/// The growable byte storage that encoders append to.
using byte_vector = std::vector<std::byte>;

}  // namespace duet::inline v0
