#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "duet/wire/native.hpp"
#include "duet/wire/protocol.hpp"
#include "wire/wire_support.hpp"

using namespace duet;
using wire_test::bytes;

namespace {

frame_view single_frame(frame_decoder& d, const byte_vector& stream) {
  d.append(stream);
  frame_view f{};
  REQUIRE(d.next(f) == frame_decoder::status::frame);
  return f;
}

struct not_a_protocol {};
struct decoder_only {
  using decoder = frame_decoder;
  using encoder = frame_decoder;
  static constexpr std::string_view name = "broken";
};

}  // namespace

TEST_CASE("the native protocol models wire_protocol and other types do not", "[wire]") {
  STATIC_REQUIRE(wire_protocol<native_protocol>);
  STATIC_REQUIRE(message_decoder<frame_decoder>);
  STATIC_REQUIRE(message_encoder<frame_encoder>);
  STATIC_REQUIRE(!message_decoder<frame_encoder>);
  STATIC_REQUIRE(!message_encoder<frame_decoder>);
  STATIC_REQUIRE(!wire_protocol<int>);
  STATIC_REQUIRE(!wire_protocol<not_a_protocol>);
  STATIC_REQUIRE(!wire_protocol<decoder_only>);
  CHECK(native_protocol::name == "duet");
}

TEST_CASE("a hello round-trips through a frame", "[wire]") {
  const hello_message sent{4u << 20, 256, 0x0123456789abcdeeu};
  byte_vector out;
  encode_hello(out, sent);
  frame_decoder d;
  const frame_view f = single_frame(d, out);
  CHECK(f.header == frame_header{frame_kind::hello, 0, 0, 0, 0, 0, 16});
  hello_message got{};
  REQUIRE(decode_hello(f, got));
  CHECK(got == sent);
}

TEST_CASE("a hello frame has exactly the documented bytes", "[wire]") {
  byte_vector out;
  encode_hello(out, hello_message{16u << 20, 100, 0});
  const byte_vector expected = bytes({
      0x44, 0x55, 0x01, 0x0a, 0, 0, 0, 0,  // "DU", version 1, kind hello, flags, status
      0, 0, 0, 0, 0, 0, 0, 0,              // id 0, method 0
      0, 0, 0, 0, 0x10, 0, 0, 0,           // metadata length 0, payload length 16
      0x00, 0x00, 0x00, 0x01,              // max_frame_size 16 MiB
      0x64, 0x00, 0x00, 0x00,              // max_in_flight 100
      0, 0, 0, 0, 0, 0, 0, 0,              // features 0
  });
  CHECK(out == expected);
}

TEST_CASE("a frame that is not a valid hello is refused as the first frame", "[wire]") {
  hello_message got{1, 2, 3};
  const hello_message untouched = got;
  frame_decoder d;
  SECTION("another kind") {
    byte_vector out;
    encode_frame(out, frame_header{frame_kind::ping, 0, 0, 1, 0, 0, 0}, {},
                 bytes({0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
    CHECK(!decode_hello(single_frame(d, out), got));
  }
  SECTION("a payload shorter than 16 bytes") {
    byte_vector out;
    encode_frame(out, frame_header{frame_kind::hello, 0, 0, 0, 0, 0, 0}, {}, bytes({0, 0, 1, 0, 0, 0, 0, 0}));
    CHECK(!decode_hello(single_frame(d, out), got));
  }
  SECTION("a payload given alone that is too short") {
    CHECK(!decode_hello(const_buffer(bytes({0, 0, 1, 0})), got));
  }
  SECTION("a max_frame_size below 1024") {
    byte_vector out;
    encode_hello(out, hello_message{1023, 1, 0});
    CHECK(!decode_hello(single_frame(d, out), got));
  }
  CHECK(got == untouched);
}

TEST_CASE("a hello with bytes after the 16th is accepted and the extra ignored", "[wire]") {
  byte_vector payload = bytes({0, 4, 0, 0, 7, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0});
  payload.resize(40, std::byte{0xee});
  byte_vector out;
  encode_frame(out, frame_header{frame_kind::hello, 0, 0, 0, 0, 0, 0}, {}, payload);
  frame_decoder d;
  hello_message got{};
  REQUIRE(decode_hello(single_frame(d, out), got));
  CHECK(got == hello_message{1024, 7, 2, 0});
}

TEST_CASE("a hello announcing streams carries its window after the 16 bytes of version 1", "[wire]") {
  byte_vector out;
  encode_hello(out, hello_message{16u << 20, 100, feature_streams, 32});
  const byte_vector expected = bytes({
      0x44, 0x55, 0x01, 0x0a, 0, 0, 0, 0,  // "DU", version 1, kind hello, flags, status
      0, 0, 0, 0, 0, 0, 0, 0,              // id 0, method 0
      0, 0, 0, 0, 0x14, 0, 0, 0,           // metadata length 0, payload length 20
      0x00, 0x00, 0x00, 0x01,              // max_frame_size 16 MiB
      0x64, 0x00, 0x00, 0x00,              // max_in_flight 100
      0x01, 0, 0, 0, 0, 0, 0, 0,           // features: streams
      0x20, 0x00, 0x00, 0x00,              // stream_window 32
  });
  CHECK(out == expected);
  frame_decoder d;
  hello_message got{};
  REQUIRE(decode_hello(single_frame(d, out), got));
  CHECK(got == hello_message{16u << 20, 100, feature_streams, 32});
}

TEST_CASE("a hello without streams says nothing of a window", "[wire]") {
  byte_vector out;
  encode_hello(out, hello_message{16u << 20, 100, 0, 32});
  frame_decoder d;
  const frame_view f = single_frame(d, out);
  CHECK(f.header.payload_length == 16);
  hello_message got{};
  REQUIRE(decode_hello(f, got));
  CHECK(got.stream_window == 0);
}

TEST_CASE("a hello announcing streams without a usable window is refused", "[wire]") {
  hello_message got{};
  SECTION("the window is missing") {
    const byte_vector payload = bytes({0, 4, 0, 0, 7, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9, 0});
    CHECK(!decode_hello(const_buffer(payload), got));
  }
  SECTION("the window is 0") {
    const byte_vector payload = bytes({0, 4, 0, 0, 7, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
    CHECK(!decode_hello(const_buffer(payload), got));
  }
  CHECK(got == hello_message{});
}

TEST_CASE("metadata round-trips through a request frame", "[wire]") {
  const std::string long_value(300, 'x');  // a two-byte varint length
  const std::vector<metadata_entry> sent{
      {"duet-timeout", "1500"}, {"trace-id", "abc.def"}, {"k", ""}, {"blob", long_value}, {"k", "again"}};
  byte_vector out;
  frame_encoder enc{out};
  enc.begin(frame_kind::request, 1, 2);
  encode_metadata(out, sent);
  enc.end_metadata();
  out.push_back(std::byte{42});
  enc.end();

  frame_decoder d;
  const frame_view f = single_frame(d, out);
  std::vector<metadata_entry> got;
  REQUIRE(decode_metadata(f.metadata, got));
  CHECK(got == sent);
  CHECK(f.payload.size() == 1);
}

TEST_CASE("no metadata encodes as nothing and decodes as no entries", "[wire]") {
  byte_vector out;
  encode_metadata(out, {});
  CHECK(out.empty());
  std::vector<metadata_entry> got{{"stale", "entry"}};
  CHECK(decode_metadata({}, got));
  CHECK(got.empty());
  CHECK(decode_metadata(bytes({0}), got));  // an explicit count of 0 is fine too
  CHECK(got.empty());
}

TEST_CASE("metadata entries have the documented encoding", "[wire]") {
  byte_vector out;
  const metadata_entry e[] = {{"ab", "xyz"}};
  encode_metadata(out, e);
  CHECK(out == bytes({1, 2, 'a', 'b', 3, 'x', 'y', 'z'}));
}

TEST_CASE("malformed metadata fails to decode", "[wire]") {
  const auto block = GENERATE(values<byte_vector>({
      bytes({0x80}),                                  // truncated count varint
      bytes({1}),                                     // count 1, no pairs
      bytes({2, 1, 'a', 0}),                          // fewer pairs than the count
      bytes({1, 5, 'a', 'b', 0}),                     // key length past the end
      bytes({1, 1, 'a', 4, 'v'}),                     // value length past the end
      bytes({1, 1, 'A', 0}),                          // uppercase key
      bytes({1, 0, 0}),                               // empty key
      bytes({1, 1, ' ', 0}),                          // space in a key
      bytes({1, 1, 'a', 0, 9}),                       // bytes after the last pair
      bytes({0, 9}),                                  // bytes after an empty list
      bytes({0x81, 0x00, 1, 'a', 0}),                 // non-minimal varint
      bytes({0xff, 0xff, 0xff, 0xff, 0x1f}),          // count over 32 bits
      bytes({0xff, 0xff, 0xff, 0xff, 0xff, 0x01}),    // varint longer than 5 bytes
      bytes({0xff, 0xff, 0xff, 0xff, 0x0f, 1, 'a'}),  // huge count, little data
  }));
  std::vector<metadata_entry> got{{"stale", "entry"}};
  CHECK(!decode_metadata(block, got));
  CHECK(got.empty());
}

TEST_CASE("the metadata reader stops at the first malformed pair", "[wire]") {
  const byte_vector block = bytes({2, 1, 'a', 1, 'x', 1, 'B', 0});
  metadata_reader r{block};
  metadata_entry e{};
  REQUIRE(r.next(e));
  CHECK(e == metadata_entry{"a", "x"});
  CHECK(!r.next(e));
  CHECK(r.failed());
  CHECK(e == metadata_entry{"a", "x"});
}

TEST_CASE("encoding metadata with an invalid key throws", "[wire]") {
  byte_vector out;
  const metadata_entry bad[] = {{"Content-Type", "x"}};
  CHECK_THROWS_AS(encode_metadata(out, bad), std::invalid_argument);
  const metadata_entry empty[] = {{"", "x"}};
  CHECK_THROWS_AS(encode_metadata(out, empty), std::invalid_argument);
}

TEST_CASE("only lowercase ASCII letters, digits, dash, underscore and dot make metadata keys", "[wire]") {
  STATIC_REQUIRE(is_valid_metadata_key("x-request-id_2.v"));
  STATIC_REQUIRE(!is_valid_metadata_key(""));
  STATIC_REQUIRE(!is_valid_metadata_key("Upper"));
  STATIC_REQUIRE(!is_valid_metadata_key("a:b"));
  STATIC_REQUIRE(!is_valid_metadata_key("caf\xc3\xa9"));
}
