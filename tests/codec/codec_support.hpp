#pragma once

// Helpers shared by the codec tests: encode to a fresh vector, build
// expected bytes from integers, and check that every strict prefix of an
// encoding is rejected.

#include <duet/codec/codec.hpp>

#include <catch2/catch.hpp>

#include <cstddef>
#include <initializer_list>

namespace codec_test {

/// The bytes `values` encode to, in a vector of their own.
template <class... Ts>
duet::byte_vector encoded(const Ts&... values) {
  duet::byte_vector out;
  duet::byte_writer writer(out);
  duet::encode(writer, values...);
  REQUIRE(writer.size() == out.size());
  return out;
}

/// A byte vector from small integers, for writing expected layouts.
inline duet::byte_vector bytes(std::initializer_list<int> values) {
  duet::byte_vector out;
  for (const int v : values) out.push_back(static_cast<std::byte>(v));
  return out;
}

/// Encodes `value`, decodes the bytes into a fresh T and returns it.
template <class T>
T round_trip(const T& value) {
  const duet::byte_vector wire = encoded(value);
  T out{};
  REQUIRE(duet::decode_all(wire, out));
  return out;
}

/// Every strict prefix of `wire` fails to decode as a T.
template <class T>
void require_every_truncation_fails(const duet::byte_vector& wire) {
  for (std::size_t n = 0; n < wire.size(); ++n) {
    INFO("prefix of " << n << " of " << wire.size() << " bytes");
    T out{};
    duet::byte_reader reader(duet::const_buffer(wire.data(), n));
    CHECK_FALSE(duet::decode(reader, out));
    CHECK(reader.failed());
  }
}

}  // namespace codec_test
