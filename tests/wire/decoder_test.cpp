#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "duet/wire/decoder.hpp"
#include "duet/wire/encoder.hpp"
#include "duet/wire/frame.hpp"
#include "wire/wire_support.hpp"

using namespace duet;
using wire_test::bytes;
using wire_test::decode_in_pieces;
using wire_test::drain;
using wire_test::feed;
using wire_test::owned_frame;
using wire_test::raw_header;

namespace {

// A varied stream: every kind, empty and non-empty metadata and payloads.
std::vector<owned_frame> sample_frames() {
  std::vector<owned_frame> frames;
  frames.push_back({{frame_kind::hello, 0, 0, 0, 0, 0, 0}, {}, bytes({0, 0, 0, 1, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})});
  frames.push_back({{frame_kind::request, 0, 0, 1, 0xabcdef01u, 0, 0}, bytes("\x01\x01k\x01v"), bytes("args")});
  frames.push_back({{frame_kind::request, 0, 0, 2, 5, 0, 0}, {}, {}});
  frames.push_back({{frame_kind::response, 0, 0, 1, 0xabcdef01u, 0, 0}, {}, bytes("result")});
  frames.push_back({{frame_kind::response, 0, 13, 2, 5, 0, 0}, {}, bytes("internal error")});
  frames.push_back({{frame_kind::notification, 0, 0, 0, 99, 0, 0}, {}, bytes("n")});
  frames.push_back({{frame_kind::cancel, 0, 0, 3, 5, 0, 0}, {}, {}});
  frames.push_back({{frame_kind::ping, 0, 0, 42, 0, 0, 0}, {}, bytes("12345678")});
  frames.push_back({{frame_kind::pong, 0, 0, 42, 0, 0, 0}, {}, bytes("12345678")});
  frames.push_back({{frame_kind::stream_data, 0, 0, 7, 0, 0, 0}, {}, bytes("chunk")});
  frames.push_back({{frame_kind::stream_end, 0, 0, 7, 0, 0, 0}, {}, {}});
  frames.push_back({{frame_kind::goaway, 0, 14, 0, 0, 0, 0}, {}, bytes("draining")});
  for (owned_frame& f : frames) {  // the lengths a decoder reports
    f.header.metadata_length = static_cast<std::uint32_t>(f.metadata.size());
    f.header.payload_length = static_cast<std::uint32_t>(f.payload.size());
  }
  return frames;
}

byte_vector encode_all(const std::vector<owned_frame>& frames) {
  byte_vector out;
  for (const owned_frame& f : frames) wire_test::encode(out, f);
  return out;
}

// Feeds `stream` to a fresh decoder with default limits and returns the status
// of the first next() after all of it arrived (frames before it are dropped).
decode_status status_after(const byte_vector& stream, frame_decoder& d) {
  feed(d, stream);
  std::vector<owned_frame> frames;
  return drain(d, frames);
}

}  // namespace

TEST_CASE("a whole frame comes out with its header, metadata and payload", "[wire]") {
  const auto frames = sample_frames();
  const byte_vector stream = encode_all({frames[1]});
  frame_decoder d;
  feed(d, stream);
  frame_view f{};
  REQUIRE(d.next(f) == frame_decoder::status::frame);
  CHECK(wire_test::own(f) == frames[1]);
  CHECK(d.buffered() == 0);
  CHECK(d.next(f) == frame_decoder::status::need_more);
}

TEST_CASE("many frames in one buffer all come out in order", "[wire]") {
  const auto frames = sample_frames();
  std::vector<owned_frame> many;
  for (int round = 0; round < 50; ++round) many.insert(many.end(), frames.begin(), frames.end());
  decode_status last{};
  CHECK(decode_in_pieces(encode_all(many), 1'000'000, &last) == many);
  CHECK(last == decode_status::need_more);
}

TEST_CASE("the same stream split at every possible point yields the same frames", "[wire]") {
  const auto frames = sample_frames();
  const byte_vector stream = encode_all(frames);
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    frame_decoder d;
    std::vector<owned_frame> out;
    feed(d, const_buffer(stream).first(cut));
    REQUIRE(drain(d, out) == decode_status::need_more);
    feed(d, const_buffer(stream).subspan(cut));
    REQUIRE(drain(d, out) == decode_status::need_more);
    INFO("split at byte " << cut);
    REQUIRE(out == frames);
    CHECK(d.buffered() == 0);
  }
}

TEST_CASE("the same stream fed one byte at a time yields the same frames", "[wire]") {
  const auto frames = sample_frames();
  decode_status last{};
  CHECK(decode_in_pieces(encode_all(frames), 1, &last) == frames);
  CHECK(last == decode_status::need_more);
}

TEST_CASE("the same stream fed in pieces of every size up to 64 bytes yields the same frames", "[wire]") {
  const auto frames = sample_frames();
  const byte_vector stream = encode_all(frames);
  for (std::size_t piece = 1; piece <= 64; ++piece) {
    INFO("pieces of " << piece << " bytes");
    REQUIRE(decode_in_pieces(stream, piece) == frames);
  }
}

TEST_CASE("a truncated frame waits for more bytes", "[wire]") {
  const byte_vector stream = encode_all({sample_frames()[1]});
  frame_decoder d;
  frame_view f{};
  feed(d, const_buffer(stream).first(10));  // part of the header
  CHECK(d.next(f) == frame_decoder::status::need_more);
  CHECK(d.buffered() == 10);
  feed(d, const_buffer(stream).subspan(10, stream.size() - 11));  // all but the last byte
  CHECK(d.next(f) == frame_decoder::status::need_more);
  CHECK(d.buffered() == stream.size() - 1);
  feed(d, const_buffer(stream).last(1));
  CHECK(d.next(f) == frame_decoder::status::frame);
}

TEST_CASE("a 64 KiB payload is read straight into place and arrives whole", "[wire]") {
  byte_vector payload(64 * 1024);
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<std::byte>(i * 7 + 3);
  byte_vector stream;
  encode_frame(stream, frame_header{frame_kind::response, 0, 0, 5, 6, 0, 0}, {}, payload);

  frame_decoder d;
  feed(d, const_buffer(stream).first(frame_header_size));
  frame_view f{};
  REQUIRE(d.next(f) == frame_decoder::status::need_more);
  // Once the header is in, one prepare() holds the rest of the frame, so the
  // transport can read the whole payload into place in one call.
  const mutable_buffer space = d.prepare();
  REQUIRE(space.size() >= payload.size());
  std::memcpy(space.data(), payload.data(), payload.size());
  d.commit(payload.size());
  REQUIRE(d.next(f) == frame_decoder::status::frame);
  CHECK(f.payload.data() == space.data());  // no copy after the read
  CHECK(wire_test::own(f).payload == payload);
}

TEST_CASE("a 64 KiB payload arrives whole whatever the read size", "[wire]") {
  byte_vector payload(64 * 1024 + 13);
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<std::byte>(i ^ (i >> 8));
  std::vector<owned_frame> frames{{{frame_kind::request, 0, 0, 1, 2, 0, static_cast<std::uint32_t>(payload.size())}, {}, payload},
                                  sample_frames()[6]};
  const byte_vector stream = encode_all(frames);
  for (std::size_t piece : {std::size_t{1000}, std::size_t{4096}, std::size_t{65536}, stream.size()}) {
    INFO("pieces of " << piece);
    CHECK(decode_in_pieces(stream, piece) == frames);
  }
}

TEST_CASE("frames taken out of one read stay valid together until the next prepare", "[wire]") {
  const auto frames = sample_frames();
  frame_decoder d;
  feed(d, encode_all(frames));
  std::vector<frame_view> views(frames.size());
  for (frame_view& v : views) REQUIRE(d.next(v) == frame_decoder::status::frame);
  for (std::size_t i = 0; i < frames.size(); ++i) CHECK(wire_test::own(views[i]) == frames[i]);
}

TEST_CASE("append copies bytes in like prepare and commit", "[wire]") {
  const auto frames = sample_frames();
  const byte_vector stream = encode_all(frames);
  frame_decoder d;
  std::vector<owned_frame> out;
  for (std::size_t at = 0; at < stream.size(); at += 5) {
    d.append(const_buffer(stream).subspan(at, std::min<std::size_t>(5, stream.size() - at)));
    drain(d, out);
  }
  d.append({});
  CHECK(out == frames);
}

TEST_CASE("a long stream of small frames does not grow the buffer without bound", "[wire]") {
  const byte_vector one = encode_all({sample_frames()[3]});
  frame_decoder d;
  frame_view f{};
  std::size_t frames = 0;
  std::size_t sent = 0;  // bytes of the endless stream of copies of `one` written so far
  for (int round = 0; round < 10'000; ++round) {
    const mutable_buffer space = d.prepare();
    REQUIRE(space.size() < 64 * 1024);
    // Write one and a half frames per read, so a partial frame is often left.
    const std::size_t n = std::min(space.size(), one.size() + one.size() / 2);
    for (std::size_t i = 0; i < n; ++i, ++sent) space[i] = one[sent % one.size()];
    d.commit(n);
    while (d.next(f) == frame_decoder::status::frame) ++frames;
  }
  CHECK(frames > 10'000);
  REQUIRE(d.error() == frame_error::none);
}

TEST_CASE("bad magic is a protocol error", "[wire]") {
  frame_decoder d;
  CHECK(status_after(raw_header('D', 'V', 1, 1, 0, 1, 0, 0), d) == decode_status::error);
  CHECK(d.error() == frame_error::bad_magic);
  CHECK(d.error_message().find("magic") != std::string_view::npos);
}

TEST_CASE("a version other than 1 is a protocol error", "[wire]") {
  const int version = GENERATE(0, 2, 255);
  frame_decoder d;
  CHECK(status_after(raw_header('D', 'U', version, 1, 0, 1, 0, 0), d) == decode_status::error);
  CHECK(d.error() == frame_error::bad_version);
  CHECK(d.error_message().find(std::to_string(version)) != std::string_view::npos);
}

TEST_CASE("kind 0, 12 and 255 are protocol errors", "[wire]") {
  const int kind = GENERATE(0, 12, 255);
  frame_decoder d;
  CHECK(status_after(raw_header('D', 'U', 1, kind, 0, 1, 0, 0), d) == decode_status::error);
  CHECK(d.error() == frame_error::bad_kind);
  CHECK(d.error_message() == "unknown frame kind " + std::to_string(kind));
}

TEST_CASE("non-zero reserved flags are a protocol error", "[wire]") {
  frame_decoder d;
  CHECK(status_after(raw_header('D', 'U', 1, 2, 4, 1, 0, 0), d) == decode_status::error);
  CHECK(d.error() == frame_error::reserved_flags);
}

TEST_CASE("id 0 in a request, response, cancel or stream frame is a protocol error", "[wire]") {
  const int kind = GENERATE(1, 2, 4, 5, 6, 11);
  frame_decoder d;
  CHECK(status_after(raw_header('D', 'U', 1, kind, 0, 0, 0, 0), d) == decode_status::error);
  CHECK(d.error() == frame_error::zero_id);
}

TEST_CASE("a frame over the limit is refused from its header alone", "[wire]") {
  SECTION("the default limit is 16 MiB of metadata and payload") {
    frame_decoder d;
    CHECK(d.max_frame_size() == 16u << 20);
    CHECK(status_after(raw_header('D', 'U', 1, 1, 0, 1, 1, 16u << 20), d) == decode_status::error);
    CHECK(d.error() == frame_error::too_large);
    CHECK(d.error_message().find("16777217") != std::string_view::npos);
  }
  SECTION("a frame exactly at the default limit is accepted and waits for its body") {
    frame_decoder d;
    CHECK(status_after(raw_header('D', 'U', 1, 1, 0, 1, 1, (16u << 20) - 1), d) == decode_status::need_more);
  }
  SECTION("the limit is configurable") {
    frame_decoder d{100};
    CHECK(status_after(raw_header('D', 'U', 1, 1, 0, 1, 50, 51), d) == decode_status::error);
    frame_decoder ok{100};
    CHECK(status_after(raw_header('D', 'U', 1, 1, 0, 1, 50, 50), ok) == decode_status::need_more);
  }
  SECTION("lengths whose 32-bit sum wraps are over the limit") {
    frame_decoder d{0xffffffffu};
    CHECK(status_after(raw_header('D', 'U', 1, 1, 0, 1, 0x80000000u, 0x80000000u), d) == decode_status::error);
    CHECK(d.error() == frame_error::too_large);
  }
}

TEST_CASE("after an error the decoder stays in error", "[wire]") {
  frame_decoder d;
  byte_vector stream = encode_all({sample_frames()[2]});
  const byte_vector bad = raw_header('D', 'U', 1, 0, 0, 1, 0, 0);
  stream.insert(stream.end(), bad.begin(), bad.end());
  feed(d, stream);
  frame_view f{};
  CHECK(d.next(f) == frame_decoder::status::frame);  // the good frame before the bad one
  CHECK(d.next(f) == frame_decoder::status::error);
  const std::string message{d.error_message()};
  feed(d, encode_all(sample_frames()));
  CHECK(d.next(f) == frame_decoder::status::error);
  CHECK(d.next(f) == frame_decoder::status::error);
  CHECK(d.error() == frame_error::bad_kind);
  CHECK(d.error_message() == message);
}

TEST_CASE("a decoder without an error has an empty error message", "[wire]") {
  frame_decoder d;
  CHECK(d.error() == frame_error::none);
  CHECK(d.error_message().empty());
  CHECK(d.buffered() == 0);
}

TEST_CASE("bytes given to a decoder in error are discarded, not kept", "[wire]") {
  frame_decoder d;
  feed(d, raw_header('D', 'U', 1, 0, 0, 1, 0, 0));
  frame_view f{};
  REQUIRE(d.next(f) == frame_decoder::status::error);
  for (int i = 0; i < 100; ++i) {
    const mutable_buffer space = d.prepare(64 * 1024);
    CHECK(d.buffered() == 0);
    d.commit(space.size());
  }
  CHECK(d.buffered() == 64 * 1024);
  CHECK(d.next(f) == frame_decoder::status::error);
}

TEST_CASE("the memory of a large frame is given back once it is consumed", "[wire]") {
  byte_vector stream;
  encode_frame(stream, frame_header{frame_kind::request, 0, 0, 1, 1, 0, 0}, {}, byte_vector(4u << 20));
  frame_decoder d;
  d.append(stream);
  frame_view f{};
  REQUIRE(d.next(f) == frame_decoder::status::frame);
  CHECK(f.payload.size() == 4u << 20);
  CHECK(d.prepare().size() <= std::size_t{1} << 20);
}

TEST_CASE("prepare never gives an empty buffer, which a read would take for the end of the stream", "[wire]") {
  frame_decoder d;
  CHECK(!d.prepare(0).empty());
  feed(d, encode_all({sample_frames()[2]}));
  frame_view f{};
  REQUIRE(d.next(f) == frame_decoder::status::frame);
  for (int i = 0; i < 10; ++i) {
    const mutable_buffer space = d.prepare(0);
    REQUIRE(!space.empty());
    std::memset(space.data(), 0, space.size());
    d.commit(space.size());  // fill the buffer to the brim each time
  }
}

TEST_CASE("next_is_call tells a whole buffered request or notification from other frames without taking it",
          "[wire]") {
  frame_decoder d;
  CHECK_FALSE(d.next_is_call());
  byte_vector out;
  encode_frame(out, frame_header{frame_kind::credit, 0, 0, 3, 0, 0, 0}, {}, bytes({1, 0, 0, 0}));
  encode_frame(out, frame_header{frame_kind::request, flag_stream, 0, 4, 9, 0, 0}, {}, bytes("abc"));
  encode_frame(out, frame_header{frame_kind::notification, 0, 0, 0, 9, 0, 0}, {}, {});
  d.append(const_buffer(out).first(out.size() - 1));  // the notification is not whole yet
  CHECK_FALSE(d.next_is_call());
  frame_view f{};
  REQUIRE(d.next(f) == decode_status::frame);
  CHECK(f.header.kind == frame_kind::credit);
  CHECK(d.next_is_call());
  CHECK(d.next_is_call());  // nothing was taken
  REQUIRE(d.next(f) == decode_status::frame);
  CHECK(f.header.kind == frame_kind::request);
  CHECK_FALSE(d.next_is_call());  // partial
  d.append(const_buffer(out).last(1));
  CHECK(d.next_is_call());
}
