#pragma once

#include <string_view>

namespace duet::inline v0::detail {

/// The reserved metadata key that carries a request's idempotency key
/// (docs/protocol.md section 7.2): the value is opaque bytes chosen by the
/// caller, the same for every attempt of one logical call. A server that
/// keeps an idempotency cache runs a request with a given key (and method)
/// at most once and answers repeats with the first answer.
inline constexpr std::string_view idempotency_key_name = "duet-idempotency-key";

}  // namespace duet::inline v0::detail
