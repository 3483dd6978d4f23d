#include <catch2/catch.hpp>

#include <cstdint>
#include <string_view>

#include "duet/detail/endian.hpp"
#include "duet/detail/hash.hpp"
#include "duet/wire/frame.hpp"
#include "wire/wire_support.hpp"

using namespace duet;
using wire_test::bytes;

TEST_CASE("a known request frame has exactly the documented header bytes", "[wire]") {
  byte_vector out;
  encode_frame(out, frame_header{frame_kind::request, 0, 0, 0x01020304u, detail::fnv1a_32("kv.get"), 0, 0},
               bytes("abc"), bytes("hello"));
  // The example in docs/protocol.md: if this changes, the wire format changed.
  const byte_vector expected = bytes({
      0x44, 0x55,              // magic "DU"
      0x01,                    // version
      0x01,                    // kind: request
      0x00, 0x00,              // flags
      0x00, 0x00,              // status
      0x04, 0x03, 0x02, 0x01,  // id 0x01020304
      0xfa, 0x7d, 0xf5, 0x02,  // method fnv1a_32("kv.get") = 0x02f57dfa
      0x03, 0x00, 0x00, 0x00,  // metadata length 3
      0x05, 0x00, 0x00, 0x00,  // payload length 5
      'a', 'b', 'c', 'h', 'e', 'l', 'l', 'o',
  });
  CHECK(out == expected);
}

TEST_CASE("a response's status is stored little-endian at offset 6", "[wire]") {
  byte_vector out(frame_header_size);
  store_frame_header(out.data(), frame_header{frame_kind::response, 0, 17, 9, 0, 0, 0});
  CHECK(out[3] == std::byte{2});
  CHECK(out[6] == std::byte{17});
  CHECK(out[7] == std::byte{0});
  CHECK(out[8] == std::byte{9});
}

TEST_CASE("the frame constants match the specification", "[wire]") {
  STATIC_REQUIRE(frame_header_size == 24);
  STATIC_REQUIRE(default_max_frame_size == 16u * 1024u * 1024u);
  STATIC_REQUIRE(frame_version == 1);
  STATIC_REQUIRE(frame_magic[0] == std::byte{'D'});
  STATIC_REQUIRE(frame_magic[1] == std::byte{'U'});
  STATIC_REQUIRE(static_cast<int>(frame_kind::request) == 1);
  STATIC_REQUIRE(static_cast<int>(frame_kind::response) == 2);
  STATIC_REQUIRE(static_cast<int>(frame_kind::notification) == 3);
  STATIC_REQUIRE(static_cast<int>(frame_kind::cancel) == 4);
  STATIC_REQUIRE(static_cast<int>(frame_kind::stream_data) == 5);
  STATIC_REQUIRE(static_cast<int>(frame_kind::stream_end) == 6);
  STATIC_REQUIRE(static_cast<int>(frame_kind::ping) == 7);
  STATIC_REQUIRE(static_cast<int>(frame_kind::pong) == 8);
  STATIC_REQUIRE(static_cast<int>(frame_kind::goaway) == 9);
  STATIC_REQUIRE(static_cast<int>(frame_kind::hello) == 10);
  STATIC_REQUIRE(static_cast<int>(frame_kind::credit) == 11);
  STATIC_REQUIRE(flag_stream == 0x0001);
  STATIC_REQUIRE(flag_from_callee == 0x0002);
}

TEST_CASE("only kinds 1 to 11 are known frame kinds", "[wire]") {
  for (int k = 0; k < 256; ++k) CHECK(is_known_frame_kind(static_cast<std::uint8_t>(k)) == (k >= 1 && k <= 11));
  CHECK(to_string(frame_kind::goaway) == "goaway");
  CHECK(to_string(frame_kind::stream_data) == "stream_data");
  CHECK(to_string(frame_kind::stream_end) == "stream_end");
  CHECK(to_string(frame_kind::credit) == "credit");
  CHECK(to_string(static_cast<frame_kind>(12)) == "invalid");
}

TEST_CASE("each flag is accepted only on the kinds it belongs to", "[wire]") {
  for (int k = 1; k <= 11; ++k) {
    for (std::uint32_t flags = 1; flags < 0x10000; flags <<= 1) {
      std::byte raw[frame_header_size];
      store_frame_header(raw, frame_header{static_cast<frame_kind>(k), static_cast<std::uint16_t>(flags), 0, 1, 0, 0, 0});
      frame_header h{};
      const bool defined = (flags == flag_stream && k == 1) || (flags == flag_from_callee && (k == 5 || k == 11));
      CHECK((load_frame_header(raw, h, 100) == frame_error::none) == defined);
    }
  }
}

TEST_CASE("a stream's frames have exactly the documented bytes", "[wire]") {
  // The example of docs/protocol.md, section 12: a server stream of method
  // "feed" with call id 5, to a caller whose hello announced a window of 25
  // bytes (one message of one byte: 24 + 1), which grants those 25 again.
  byte_vector out;
  encode_frame(out, frame_header{frame_kind::request, flag_stream, 0, 5, detail::fnv1a_32("feed"), 0, 1}, {},
               bytes({0x03}));
  encode_frame(out, frame_header{frame_kind::stream_data, flag_from_callee, 0, 5, 0, 0, 1}, {}, bytes({0x2a}));
  encode_frame(out, frame_header{frame_kind::credit, 0, 0, 5, 0, 0, 4}, {}, bytes({0x19, 0, 0, 0}));
  encode_frame(out, frame_header{frame_kind::stream_data, flag_from_callee, 0, 5, 0, 0, 1}, {}, bytes({0x2b}));
  encode_frame(out, frame_header{frame_kind::response, 0, 0, 5, 0, 0, 0}, {}, {});
  const byte_vector expected = bytes({
      0x44, 0x55, 0x01, 0x01, 0x01, 0x00, 0x00, 0x00,  // request, flag_stream
      0x05, 0x00, 0x00, 0x00, 0x25, 0x66, 0x35, 0xab,  // id 5, method fnv1a_32("feed") = 0xab356625
      0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,  // no metadata, payload 1 byte
      0x03,                                            // the argument: 3
      0x44, 0x55, 0x01, 0x05, 0x02, 0x00, 0x00, 0x00,  // stream_data, flag_from_callee
      0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // id 5, method 0
      0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,  // no metadata, payload 1 byte
      0x2a,                                            // one message: 42 (25 bytes of credit)
      0x44, 0x55, 0x01, 0x0b, 0x00, 0x00, 0x00, 0x00,  // credit from the caller
      0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // id 5
      0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00,  // payload 4 bytes
      0x19, 0x00, 0x00, 0x00,                          // 25 more bytes
      0x44, 0x55, 0x01, 0x05, 0x02, 0x00, 0x00, 0x00,  // stream_data, flag_from_callee
      0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // id 5, method 0
      0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,  // no metadata, payload 1 byte
      0x2b,                                            // one message: 43
      0x44, 0x55, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00,  // response, status ok
      0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // id 5
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // empty: the stream ended well
  });
  CHECK(out == expected);
}

TEST_CASE("fnv1a_32 matches the published FNV-1a test vectors", "[wire]") {
  STATIC_REQUIRE(detail::fnv1a_32("") == 0x811c9dc5u);
  STATIC_REQUIRE(detail::fnv1a_32("a") == 0xe40c292cu);
  STATIC_REQUIRE(detail::fnv1a_32("foobar") == 0xbf9cf968u);
  // The method-name vectors of docs/protocol.md.
  CHECK(detail::fnv1a_32("kv.get") == 0x02f57dfau);
  CHECK(detail::fnv1a_32("echo") == 0xd49dd484u);
  // Bytes >= 0x80 hash as unsigned bytes: "héllo" in UTF-8.
  CHECK(detail::fnv1a_32("h\xc3\xa9llo") == 0x4aa48540u);
}

TEST_CASE("little-endian helpers store and load every width", "[wire]") {
  std::byte b[8]{};
  detail::store_le16(b, 0xbeefu);
  CHECK(b[0] == std::byte{0xef});
  CHECK(detail::load_le16(b) == 0xbeefu);
  detail::store_le32(b, 0xdeadbeefu);
  CHECK(b[0] == std::byte{0xef});
  CHECK(b[3] == std::byte{0xde});
  CHECK(detail::load_le32(b) == 0xdeadbeefu);
  detail::store_le64(b, 0x0102030405060708u);
  CHECK(b[0] == std::byte{0x08});
  CHECK(b[7] == std::byte{0x01});
  CHECK(detail::load_le64(b) == 0x0102030405060708u);
  STATIC_REQUIRE([] {
    std::byte c[4]{};
    detail::store_le32(c, 0x11223344u);
    return detail::load_le32(c);
  }() == 0x11223344u);
}

TEST_CASE("a header stored then loaded keeps every field", "[wire]") {
  const frame_header h{frame_kind::response, 0, 0xabcd, 0xfffffffeu, 0x12345678u, 77, 0x00ffffffu};
  std::byte raw[frame_header_size];
  store_frame_header(raw, h);
  frame_header back{};
  REQUIRE(load_frame_header(raw, back, 0xffffffffu) == frame_error::none);
  CHECK(back == h);
  CHECK(frame_size(h) == 24 + 77 + 0x00ffffffu);
}

TEST_CASE("a header tells each protocol error on its own", "[wire]") {
  struct bad_case {
    byte_vector header;
    frame_error expected;
  };
  using wire_test::raw_header;
  const auto c = GENERATE(values<bad_case>({
      {raw_header('X', 'U', 1, 1, 0, 1, 0, 0), frame_error::bad_magic},
      {raw_header('D', 'X', 1, 1, 0, 1, 0, 0), frame_error::bad_magic},
      {raw_header('D', 'U', 0, 1, 0, 1, 0, 0), frame_error::bad_version},
      {raw_header('D', 'U', 2, 1, 0, 1, 0, 0), frame_error::bad_version},
      {raw_header('D', 'U', 1, 0, 0, 1, 0, 0), frame_error::bad_kind},
      {raw_header('D', 'U', 1, 12, 0, 1, 0, 0), frame_error::bad_kind},
      {raw_header('D', 'U', 1, 255, 0, 1, 0, 0), frame_error::bad_kind},
      {raw_header('D', 'U', 1, 1, 2, 1, 0, 0), frame_error::reserved_flags},
      {raw_header('D', 'U', 1, 6, 2, 1, 0, 0), frame_error::reserved_flags},
      {raw_header('D', 'U', 1, 1, 1, 1, 0, 0), frame_error::none},   // a stream's request
      {raw_header('D', 'U', 1, 5, 2, 1, 0, 0), frame_error::none},   // stream_data from the callee
      {raw_header('D', 'U', 1, 11, 2, 1, 0, 4), frame_error::none},  // credit from the callee
      {raw_header('D', 'U', 1, 3, 0x8000, 1, 0, 0), frame_error::reserved_flags},
      {raw_header('D', 'U', 1, 1, 0, 0, 0, 0), frame_error::zero_id},
      {raw_header('D', 'U', 1, 2, 0, 0, 0, 0), frame_error::zero_id},
      {raw_header('D', 'U', 1, 4, 0, 0, 0, 0), frame_error::zero_id},
      {raw_header('D', 'U', 1, 1, 0, 1, 60, 41), frame_error::too_large},
      {raw_header('D', 'U', 1, 1, 0, 1, 0xffffffffu, 0xffffffffu), frame_error::too_large},
      {raw_header('D', 'U', 1, 1, 0, 1, 60, 40), frame_error::none},
      {raw_header('D', 'U', 1, 3, 0, 0, 0, 0), frame_error::none},   // notification: id 0 is fine
      {raw_header('D', 'U', 1, 10, 0, 0, 0, 0), frame_error::none},  // hello: id 0
  }));
  frame_header h{};
  CHECK(load_frame_header(c.header.data(), h, 100) == c.expected);
  CHECK(!to_string(c.expected).empty());
}
