#include <duet/codec/buffer.hpp>

#include "codec/codec_support.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>

using codec_test::bytes;
using duet::byte_reader;
using duet::byte_vector;
using duet::byte_writer;
using duet::const_buffer;

TEST_CASE("a writer appends after what the vector already holds and counts only its own bytes", "[codec]") {
  byte_vector out = bytes({0xde, 0xad});
  byte_writer writer(out);
  CHECK(writer.size() == 0);
  writer.write_byte(std::byte{7});
  writer.write_bytes(bytes({1, 2, 3}));
  CHECK(writer.size() == 4);
  CHECK(out == bytes({0xde, 0xad, 7, 1, 2, 3}));
}

TEST_CASE("a session's writer fills the room past its end before growing the vector", "[codec]") {
  // The session's output queue keeps its buffer longer than its frames;
  // the writer appends at `end`, into that room, and grows the vector only
  // when the room runs out, with every byte where a plain append puts it.
  byte_vector out = bytes({0xde, 0xad, 0xbe, 0xef});
  std::size_t end = 2;  // 0xbe 0xef are room
  byte_writer writer(out, end, nullptr);
  writer.write_byte(std::byte{1});
  CHECK(end == 3);
  CHECK(out.size() == 4);  // filled the room, no resize
  CHECK(writer.size() == 1);
  const std::uint64_t big = 0x0807060504030201;
  writer.write_fixed(big);  // more than the room left: grows
  CHECK(end == 11);
  CHECK(out.size() >= 11);
  CHECK(writer.size() == 9);
  out.resize(end);
  CHECK(out == bytes({0xde, 0xad, 1, 1, 2, 3, 4, 5, 6, 7, 8}));
}

TEST_CASE("fixed-width values are written little-endian", "[codec]") {
  byte_vector out;
  byte_writer writer(out);
  writer.write_fixed(std::uint16_t{0x0102});
  writer.write_fixed(std::uint32_t{0x01020304});
  writer.write_fixed(std::int32_t{-2});
  writer.write_fixed(std::uint64_t{0x0102030405060708});
  writer.write_fixed(1.0f);
  writer.write_fixed(-2.0);
  CHECK(out == bytes({0x02, 0x01,                                           //
                      0x04, 0x03, 0x02, 0x01,                               //
                      0xfe, 0xff, 0xff, 0xff,                               //
                      0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,       //
                      0x00, 0x00, 0x80, 0x3f,                               //
                      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0}));
}

TEST_CASE("varints are LEB128 in their shortest form", "[codec]") {
  const auto [value, expected] = GENERATE(table<std::uint64_t, byte_vector>({
      {0, bytes({0x00})},
      {1, bytes({0x01})},
      {127, bytes({0x7f})},
      {128, bytes({0x80, 0x01})},
      {300, bytes({0xac, 0x02})},
      {16383, bytes({0xff, 0x7f})},
      {16384, bytes({0x80, 0x80, 0x01})},
      {std::numeric_limits<std::uint64_t>::max(),
       bytes({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})},
  }));
  byte_vector out;
  byte_writer writer(out);
  writer.write_varint(value);
  CHECK(out == expected);

  byte_reader reader(out);
  std::uint64_t back = 0;
  REQUIRE(reader.read_varint(back));
  CHECK(back == value);
  CHECK(reader.at_end());
}

TEST_CASE("a malformed varint fails to read", "[codec]") {
  const byte_vector bad = GENERATE(bytes({}),                    // nothing
                                   bytes({0x80}),                // truncated
                                   bytes({0xff, 0xff}),          // truncated
                                   bytes({0x80, 0x00}),          // overlong zero
                                   bytes({0xff, 0x00}),          // overlong 127
                                   bytes({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}),  // 2^64
                                   bytes({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x81, 0x00}));  // 11 bytes
  byte_reader reader(bad);
  std::uint64_t value = 42;
  CHECK_FALSE(reader.read_varint(value));
  CHECK(reader.failed());
  CHECK(value == 42);
}

TEST_CASE("fixed-width values read back what was written", "[codec]") {
  byte_vector out;
  byte_writer writer(out);
  writer.write_fixed(std::int64_t{-1234567890123});
  writer.write_fixed(3.5);
  writer.write_fixed(true);
  byte_reader reader(out);
  std::int64_t i = 0;
  double d = 0;
  bool b = false;
  REQUIRE(reader.read_fixed(i));
  REQUIRE(reader.read_fixed(d));
  REQUIRE(reader.read_fixed(b));
  CHECK(i == -1234567890123);
  CHECK(d == 3.5);
  CHECK(b);
  CHECK(reader.at_end());
}

TEST_CASE("a bool byte other than 0 or 1 fails to read", "[codec]") {
  const byte_vector in = bytes({2});
  byte_reader reader(in);
  bool b = false;
  CHECK_FALSE(reader.read_fixed(b));
  CHECK(reader.failed());
}

TEST_CASE("reading past the end fails, consumes nothing and stays failed", "[codec]") {
  const byte_vector in = bytes({1, 2, 3});
  byte_reader reader(in);
  std::uint16_t small = 0;
  REQUIRE(reader.read_fixed(small));
  CHECK(reader.remaining() == 1);
  std::uint32_t big = 0;
  CHECK_FALSE(reader.read_fixed(big));
  CHECK(reader.failed());
  CHECK(reader.remaining() == 1);
  CHECK(reader.position() == 2);
  // The one byte left would fit, but failure is sticky.
  std::byte b{};
  CHECK_FALSE(reader.read_byte(b));
  CHECK_FALSE(reader.at_end());
}

TEST_CASE("reading from an empty buffer fails without touching memory", "[codec]") {
  byte_reader reader{const_buffer{}};
  CHECK(reader.at_end());
  std::byte one[1]{};
  CHECK(reader.read_bytes(duet::mutable_buffer(one, 0)));
  CHECK_FALSE(reader.read_bytes(one));
  CHECK(reader.failed());
}

TEST_CASE("read_view points into the reader's bytes without copying", "[codec]") {
  const byte_vector in = bytes({9, 8, 7, 6});
  byte_reader reader(in);
  std::byte first{};
  REQUIRE(reader.read_byte(first));
  const_buffer view;
  REQUIRE(reader.read_view(2, view));
  CHECK(view.data() == in.data() + 1);
  CHECK(view.size() == 2);
  CHECK(reader.remaining() == 1);
  CHECK_FALSE(reader.read_view(2, view));
}

TEST_CASE("a count larger than the input left could hold fails before anything is allocated", "[codec]") {
  byte_vector in;
  byte_writer writer(in);
  writer.write_varint(std::uint64_t{1} << 60);
  writer.write_bytes(bytes({1, 2, 3}));
  byte_reader reader(in);
  std::size_t count = 0;
  CHECK_FALSE(reader.read_count(count));
  CHECK(reader.failed());
}

TEST_CASE("a count is checked against the minimum size of its elements", "[codec]") {
  const byte_vector in = bytes({3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});  // count 3, then 11 bytes
  {
    byte_reader reader(in);
    std::size_t count = 0;
    REQUIRE(reader.read_count(count, 3));
    CHECK(count == 3);
  }
  {
    byte_reader reader(in);
    std::size_t count = 0;
    CHECK_FALSE(reader.read_count(count, 4));  // 12 bytes needed
  }
  {
    byte_reader reader(in);
    std::size_t count = 0;
    REQUIRE(reader.read_count(count, 0));  // 0 counts as 1
    CHECK(count == 3);
  }
}

TEST_CASE("mark_failed lets a codec reject a well-formed value", "[codec]") {
  const byte_vector in = bytes({1});
  byte_reader reader(in);
  CHECK_FALSE(reader.mark_failed());
  CHECK(reader.failed());
  std::byte b{};
  CHECK_FALSE(reader.read_byte(b));
}
