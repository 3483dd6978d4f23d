#pragma once

// Helpers shared by the wire tests: owned copies of decoded frames, and
// feeding byte streams to a decoder in pieces.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>

#include "duet/bytes.hpp"
#include "duet/wire/decoder.hpp"
#include "duet/wire/encoder.hpp"
#include "duet/wire/frame.hpp"

namespace wire_test {

inline duet::byte_vector bytes(std::initializer_list<int> values) {
  duet::byte_vector out;
  for (int v : values) out.push_back(static_cast<std::byte>(v));
  return out;
}

inline duet::byte_vector bytes(std::string_view s) {
  duet::byte_vector out;
  for (char c : s) out.push_back(static_cast<std::byte>(c));
  return out;
}

/// A decoded frame that owns its bytes, so it outlives the decoder's buffer.
struct owned_frame {
  duet::frame_header header{};
  duet::byte_vector metadata;
  duet::byte_vector payload;

  friend bool operator==(const owned_frame&, const owned_frame&) = default;
};

inline owned_frame own(const duet::frame_view& f) {
  return {f.header, {f.metadata.begin(), f.metadata.end()}, {f.payload.begin(), f.payload.end()}};
}

/// Appends `f` (its lengths taken from its parts) to `out`.
inline void encode(duet::byte_vector& out, const owned_frame& f) {
  duet::encode_frame(out, f.header, f.metadata, f.payload);
}

/// Copies `piece` into the decoder through prepare/commit, as a reader would.
inline void feed(duet::frame_decoder& d, duet::const_buffer piece) {
  duet::mutable_buffer space = d.prepare(piece.size());
  REQUIRE(space.size() >= piece.size());
  if (!piece.empty()) std::memcpy(space.data(), piece.data(), piece.size());
  d.commit(piece.size());
}

/// Takes every whole frame out of `d` into `out`; returns the final status.
inline duet::decode_status drain(duet::frame_decoder& d, std::vector<owned_frame>& out) {
  duet::frame_view f{};
  for (int guard = 0; guard < 1'000'000; ++guard) {
    const duet::decode_status s = d.next(f);
    if (s != duet::decode_status::frame) return s;
    out.push_back(own(f));
  }
  FAIL("drain: too many frames");
  return duet::decode_status::error;
}

/// Feeds `stream` to a fresh decoder in pieces of `piece` bytes (the last may
/// be shorter), draining after each, and returns the frames that came out.
inline std::vector<owned_frame> decode_in_pieces(duet::const_buffer stream, std::size_t piece,
                                                 duet::decode_status* last = nullptr) {
  duet::frame_decoder d;
  std::vector<owned_frame> frames;
  duet::decode_status s = duet::decode_status::need_more;
  for (std::size_t at = 0; at < stream.size(); at += piece) {
    feed(d, stream.subspan(at, std::min(piece, stream.size() - at)));
    s = drain(d, frames);
  }
  if (last) *last = s;
  return frames;
}

/// A 24-byte header with the given raw field values, for building bad input.
inline duet::byte_vector raw_header(int magic0, int magic1, int version, int kind, std::uint16_t flags,
                                    std::uint32_t id, std::uint32_t metadata_length,
                                    std::uint32_t payload_length) {
  duet::byte_vector h(duet::frame_header_size);
  h[0] = static_cast<std::byte>(magic0);
  h[1] = static_cast<std::byte>(magic1);
  h[2] = static_cast<std::byte>(version);
  h[3] = static_cast<std::byte>(kind);
  duet::detail::store_le16(h.data() + 4, flags);
  duet::detail::store_le32(h.data() + 8, id);
  duet::detail::store_le32(h.data() + 12, 7);  // method
  duet::detail::store_le32(h.data() + 16, metadata_length);
  duet::detail::store_le32(h.data() + 20, payload_length);
  return h;
}

}  // namespace wire_test
