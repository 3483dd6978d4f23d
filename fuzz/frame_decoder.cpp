// libFuzzer target for duet::frame_decoder.
//
//   clang++-16 -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -Iinclude
//     fuzz/frame_decoder.cpp -o /tmp/fuzz_frame_decoder
//   /tmp/fuzz_frame_decoder -max_total_time=30 /tmp/corpus
//
// Input: byte 0 picks the decoder's limit, byte 1 seeds the piece sizes, the
// rest is the byte stream. The stream is decoded twice: in one piece, and in
// pseudo-random pieces through prepare()/commit() (sometimes append()). The
// invariants checked:
//   - both decodings yield the same frames and end in the same state;
//   - every frame has a known kind, only its kind's flags, a body within the limit, views
//     of exactly the announced lengths, and re-encodes to the very bytes it
//     was decoded from, so the frames tile a prefix of the input;
//   - bytes consumed + buffered() == bytes fed, while not in error;
//   - after an error, next() keeps answering error with the same reason;
//   - prepare() gives room for the rest of a partial frame;
//   - metadata and hello helpers never misbehave on frame contents, and
//     well-formed metadata re-encodes to the same bytes.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "duet/wire/decoder.hpp"
#include "duet/wire/encoder.hpp"
#include "duet/wire/frame.hpp"
#include "duet/wire/native.hpp"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

struct outcome {
  duet::byte_vector reencoded;  // every frame, encoded again, back to back
  std::size_t frames = 0;
  duet::frame_error error = duet::frame_error::none;
  std::string message;
  std::size_t buffered = 0;
};

// Checks one frame and appends its re-encoding to `o`.
void take(const duet::frame_view& f, std::uint32_t limit, outcome& o) {
  const duet::frame_header& h = f.header;
  check(duet::is_known_frame_kind(static_cast<std::uint8_t>(h.kind)));
  check((h.flags & ~duet::allowed_frame_flags(h.kind)) == 0);
  check(std::uint64_t{h.metadata_length} + h.payload_length <= limit);
  check(f.metadata.size() == h.metadata_length && f.payload.size() == h.payload_length);
  if (h.kind == duet::frame_kind::request || h.kind == duet::frame_kind::response ||
      h.kind == duet::frame_kind::cancel || h.kind == duet::frame_kind::stream_data ||
      h.kind == duet::frame_kind::stream_end || h.kind == duet::frame_kind::credit)
    check(h.id != 0);
  // The views must be readable: this faults under ASan if they dangle.
  volatile std::byte sink{};
  for (std::byte b : f.metadata) sink = b;
  for (std::byte b : f.payload) sink = b;
  (void)sink;

  duet::encode_frame(o.reencoded, h, f.metadata, f.payload);
  ++o.frames;

  std::vector<duet::metadata_entry> entries;
  if (duet::decode_metadata(f.metadata, entries) && !entries.empty()) {
    duet::byte_vector again;
    duet::encode_metadata(again, entries);
    check(again.size() == f.metadata.size() && std::memcmp(again.data(), f.metadata.data(), again.size()) == 0);
  }
  duet::hello_message hello{};
  if (duet::decode_hello(f, hello)) {
    check(hello.max_frame_size >= duet::min_max_frame_size);
    check(((hello.features & duet::feature_streams) != 0) == (hello.stream_window != 0));
  }
}

// Drains `d`; returns false once it is in error.
bool drain(duet::frame_decoder& d, std::uint32_t limit, outcome& o) {
  duet::frame_view f{};
  for (;;) {
    switch (d.next(f)) {
      case duet::decode_status::frame: take(f, limit, o); break;
      case duet::decode_status::need_more: return true;
      case duet::decode_status::error: return false;
    }
  }
}

void finish(const duet::frame_decoder& d, outcome& o) {
  o.error = d.error();
  o.message = std::string(d.error_message());
  o.buffered = d.buffered();
  check((o.error == duet::frame_error::none) == o.message.empty());
}

std::uint32_t pick_limit(std::uint8_t b) {
  switch (b % 6) {
    case 0: return 0;
    case 1: return 1;
    case 2: return 64;
    case 3: return 1024;
    case 4: return 70000;
    default: return duet::default_max_frame_size;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint32_t limit = pick_limit(data[0]);
  std::uint32_t rng = 0x9e3779b9u ^ data[1];
  const auto next_random = [&rng] {
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
  };
  const duet::const_buffer stream{reinterpret_cast<const std::byte*>(data) + 2, size - 2};

  // Reference: the whole stream in one piece.
  outcome whole;
  {
    duet::frame_decoder d{limit};
    d.append(stream);
    drain(d, limit, whole);
    finish(d, whole);
  }

  // The same stream in random pieces.
  outcome pieces;
  duet::frame_decoder d{limit};
  std::size_t fed = 0;
  bool failed = false;
  while (fed < stream.size()) {
    const std::uint32_t r = next_random();
    const std::size_t want = (r & 3) == 0 ? 1 + (r >> 8) % 4096 : 1 + (r >> 8) % 40;
    const std::size_t n = std::min(want, stream.size() - fed);
    if ((r & 0x30) == 0) {
      d.append(stream.subspan(fed, n));
    } else {
      const std::size_t buffered = d.buffered();
      const duet::mutable_buffer space = d.prepare((r >> 4) & 1 ? 1 : n);
      check(space.size() >= 1);
      // Room for the rest of a partial frame whose header is in and valid.
      if (!failed && buffered >= duet::frame_header_size) {
        duet::frame_header h{};
        const std::byte* start = stream.data() + fed - buffered;
        if (duet::load_frame_header(start, h, limit) == duet::frame_error::none)
          check(space.size() + buffered >= duet::frame_size(h));
      }
      const std::size_t k = std::min(n, space.size());
      std::memcpy(space.data(), stream.data() + fed, k);
      d.commit(k);
      fed += k;
      if (!drain(d, limit, pieces)) failed = true;
      if (!failed) check(pieces.reencoded.size() + d.buffered() == fed);
      continue;
    }
    fed += n;
    if (!drain(d, limit, pieces)) failed = true;
    if (!failed) check(pieces.reencoded.size() + d.buffered() == fed);
  }
  finish(d, pieces);

  // Sticky errors: more bytes change nothing.
  if (pieces.error != duet::frame_error::none) {
    d.append(stream);
    duet::frame_view f{};
    check(d.next(f) == duet::decode_status::error);
    check(d.error() == pieces.error && d.error_message() == pieces.message);
  }

  check(whole.frames == pieces.frames);
  check(whole.reencoded == pieces.reencoded);
  check(whole.error == pieces.error);
  check(whole.message == pieces.message);
  if (whole.error == duet::frame_error::none) check(whole.buffered == pieces.buffered);

  // The frames tile a prefix of the input, byte for byte.
  check(whole.reencoded.size() <= stream.size());
  check(whole.reencoded.empty() ||
        std::memcmp(whole.reencoded.data(), stream.data(), whole.reencoded.size()) == 0);
  return 0;
}
