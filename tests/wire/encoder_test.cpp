#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "duet/wire/decoder.hpp"
#include "duet/wire/encoder.hpp"
#include "duet/wire/frame.hpp"
#include "wire/wire_support.hpp"

using namespace duet;
using wire_test::bytes;
using wire_test::owned_frame;

namespace {

std::vector<owned_frame> decode_all(const byte_vector& stream) {
  decode_status last{};
  auto frames = wire_test::decode_in_pieces(stream, stream.size() + 1, &last);
  REQUIRE(last == decode_status::need_more);
  return frames;
}

void append(byte_vector& out, const byte_vector& bytes) { out.insert(out.end(), bytes.begin(), bytes.end()); }

}  // namespace

TEST_CASE("an in-place frame gets its metadata and payload lengths patched", "[wire]") {
  byte_vector out;
  frame_encoder enc{out};
  enc.begin(frame_kind::request, 17, 0x1234, 0);
  append(out, bytes("meta"));
  enc.end_metadata();
  append(out, bytes("payload!"));
  enc.end();

  const auto frames = decode_all(out);
  REQUIRE(frames.size() == 1);
  CHECK(frames[0].header == frame_header{frame_kind::request, 0, 0, 17, 0x1234, 4, 8});
  CHECK(frames[0].metadata == bytes("meta"));
  CHECK(frames[0].payload == bytes("payload!"));
}

TEST_CASE("a frame without metadata needs no end_metadata call", "[wire]") {
  byte_vector out;
  frame_encoder enc{out};
  enc.begin(frame_kind::response, 3, 9, 5);
  append(out, bytes("not found"));
  enc.end();
  const auto frames = decode_all(out);
  REQUIRE(frames.size() == 1);
  CHECK(frames[0].header.status == 5);
  CHECK(frames[0].metadata.empty());
  CHECK(frames[0].payload == bytes("not found"));
}

TEST_CASE("an empty frame is just a header", "[wire]") {
  byte_vector out;
  frame_encoder enc{out};
  enc.begin(frame_kind::cancel, 8, 0);
  enc.end_metadata();
  enc.end();
  CHECK(out.size() == frame_header_size);
  const auto frames = decode_all(out);
  REQUIRE(frames.size() == 1);
  CHECK(frames[0].header == frame_header{frame_kind::cancel, 0, 0, 8, 0, 0, 0});
}

TEST_CASE("frames are appended after the bytes already queued", "[wire]") {
  byte_vector out;
  frame_encoder enc{out};
  for (std::uint32_t id = 1; id <= 100; ++id) {
    enc.begin(frame_kind::request, id, 7);
    for (std::uint32_t i = 0; i < id; ++i) out.push_back(static_cast<std::byte>(i));
    enc.end();
  }
  const auto frames = decode_all(out);
  REQUIRE(frames.size() == 100);
  for (std::uint32_t id = 1; id <= 100; ++id) {
    CHECK(frames[id - 1].header.id == id);
    CHECK(frames[id - 1].payload.size() == id);
  }
}

TEST_CASE("the payload may make the vector reallocate while the frame is open", "[wire]") {
  byte_vector out;
  out.shrink_to_fit();
  frame_encoder enc{out};
  enc.begin(frame_kind::notification, 0, 1);
  CHECK(enc.is_open());
  for (int i = 0; i < 100'000; ++i) out.push_back(static_cast<std::byte>(i));
  CHECK(enc.body_size() == 100'000);
  enc.end();
  CHECK(!enc.is_open());
  CHECK(enc.body_size() == 0);
  const auto frames = decode_all(out);
  REQUIRE(frames.size() == 1);
  CHECK(frames[0].header.payload_length == 100'000);
}

TEST_CASE("cancel removes a half-written frame and keeps earlier ones", "[wire]") {
  byte_vector out;
  frame_encoder enc{out};
  enc.begin(frame_kind::request, 1, 1);
  append(out, bytes("kept"));
  enc.end();
  const byte_vector before = out;
  enc.begin(frame_kind::request, 2, 1);
  append(out, bytes("half an argument li"));
  enc.cancel();
  CHECK(!enc.is_open());
  CHECK(out == before);
  enc.cancel();  // nothing open: no effect
  CHECK(out == before);
  enc.begin(frame_kind::request, 3, 1);  // the encoder is usable again
  enc.end();
  const auto frames = decode_all(out);
  REQUIRE(frames.size() == 2);
  CHECK(frames[1].header.id == 3);
}

TEST_CASE("encode_frame ignores the lengths in the header it is given", "[wire]") {
  byte_vector out;
  encode_frame(out, frame_header{frame_kind::ping, 0, 0, 4, 0, 999, 999}, {}, bytes("12345678"));
  const auto frames = decode_all(out);
  REQUIRE(frames.size() == 1);
  CHECK(frames[0].header.metadata_length == 0);
  CHECK(frames[0].header.payload_length == 8);
}

TEST_CASE("the in-place encoder and encode_frame write identical bytes", "[wire]") {
  const byte_vector metadata = bytes("\x01\x02id\x03xyz");
  const byte_vector payload = bytes("some payload");
  byte_vector a;
  encode_frame(a, frame_header{frame_kind::request, 0, 0, 77, 88, 0, 0}, metadata, payload);
  byte_vector b;
  frame_encoder enc{b};
  enc.begin(frame_kind::request, 77, 88);
  append(b, metadata);
  enc.end_metadata();
  append(b, payload);
  enc.end();
  CHECK(a == b);
}

TEST_CASE("every frame kind and header field survives an encode and decode", "[wire]") {
  const auto kind = static_cast<frame_kind>(GENERATE(range(1, 11)));
  const std::uint32_t id = GENERATE(1u, 0x7fffffffu, 0xffffffffu);
  const std::uint16_t status = GENERATE(std::uint16_t{0}, std::uint16_t{17}, std::uint16_t{0xffff});
  byte_vector out;
  frame_encoder enc{out};
  enc.begin(kind, id, ~id, status);
  append(out, bytes("m"));
  enc.end_metadata();
  append(out, bytes("pp"));
  enc.end();
  const auto frames = decode_all(out);
  REQUIRE(frames.size() == 1);
  CHECK(frames[0].header == frame_header{kind, 0, status, id, ~id, 1, 2});
}

TEST_CASE("encoding flags a version 1 decoder rejects is possible but refused on arrival", "[wire]") {
  byte_vector out;
  frame_encoder enc{out};
  enc.begin(frame_kind::request, 1, 1, 0, 0x0004);
  enc.end();
  frame_decoder d;
  d.append(out);
  frame_view f{};
  CHECK(d.next(f) == frame_decoder::status::error);
  CHECK(d.error() == frame_error::reserved_flags);
}
