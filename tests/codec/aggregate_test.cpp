#include <duet/codec/aggregate.hpp>

#include "codec/codec_support.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

using codec_test::bytes;
using codec_test::encoded;
using codec_test::require_every_truncation_fails;
using codec_test::round_trip;

namespace {

struct point {
  std::int16_t x;
  std::int16_t y;
  bool operator==(const point&) const = default;
};

struct labelled {
  std::string label;
  point where;
  std::uint8_t tag;
  bool operator==(const labelled&) const = default;
};

struct empty {
  bool operator==(const empty&) const = default;
};

struct shape {
  std::string name;
  std::vector<point> points;
  std::optional<labelled> label;
  std::map<std::string, std::vector<labelled>> groups;
  std::variant<std::monostate, point, std::string> extra;
  std::array<point, 2> box;
  empty nothing;
  bool operator==(const shape&) const = default;
};

struct sixteen {
  int f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15;
  bool operator==(const sixteen&) const = default;
};

struct thirty_two {
  std::uint8_t f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15;
  std::string g0, g1, g2, g3, g4, g5, g6, g7, g8, g9, g10, g11, g12, g13, g14, g15;
  bool operator==(const thirty_two&) const = default;
};

struct thirty_three {
  int f0, g0, g1, g2, g3, g4, g5, g6, g7, g8, g9, g10, g11, g12, g13, g14, g15, g16, g17, g18, g19, g20, g21, g22,
      g23, g24, g25, g26, g27, g28, g29, g30, g31;
};

struct with_pointer {
  int value;
  int* next;
};

struct with_unique_ptr {
  std::unique_ptr<int> value;
};

class with_private {
 public:
  int get() const { return m_value; }

 private:
  int m_value = 0;
};

struct with_constructor {
  explicit with_constructor(int v) : value(v) {}
  int value;
};

struct with_const_field {
  const int value;
};

}  // namespace

TEST_CASE("an aggregate encodes as its fields in order with nothing between them", "[codec]") {
  CHECK(encoded(point{1, -1}) == bytes({1, 0, 0xff, 0xff}));
  CHECK(encoded(labelled{"ab", {2, 3}, 9}) == bytes({2, 'a', 'b', 2, 0, 3, 0, 9}));
  CHECK(encoded(empty{}).empty());
}

TEST_CASE("an aggregate round-trips", "[codec]") {
  CHECK(round_trip(point{-7, 300}) == point{-7, 300});
  CHECK(round_trip(labelled{"x", {1, 2}, 3}) == labelled{"x", {1, 2}, 3});
  CHECK(round_trip(empty{}) == empty{});
}

TEST_CASE("aggregates nest freely with standard types", "[codec]") {
  shape s;
  s.name = "triangle";
  s.points = {{0, 0}, {1, 0}, {0, 1}};
  s.label = labelled{"t", {5, 5}, 1};
  s.groups["edges"] = {labelled{"a", {0, 0}, 1}, labelled{"b", {1, 1}, 2}};
  s.groups["none"] = {};
  s.extra = point{9, 9};
  s.box = {point{0, 0}, point{1, 1}};
  CHECK(round_trip(s) == s);
  require_every_truncation_fails<shape>(encoded(s));

  const std::vector<shape> many{s, shape{}, s};
  CHECK(round_trip(many) == many);
}

TEST_CASE("aggregates of 16 and 32 fields round-trip", "[codec]") {
  const sixteen a{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, -15};
  CHECK(encoded(a).size() == 16 * sizeof(int));
  CHECK(round_trip(a) == a);

  thirty_two b{};
  b.f0 = 1;
  b.f15 = 15;
  b.g0 = "first";
  b.g15 = "last";
  const duet::byte_vector wire = encoded(b);
  CHECK(wire.size() == 16 + 16 + 5 + 4);
  CHECK(wire.front() == std::byte{1});
  CHECK(wire.back() == std::byte{'t'});
  CHECK(round_trip(b) == b);
}

TEST_CASE("only plain aggregates of encodable fields get the automatic codec", "[codec]") {
  STATIC_REQUIRE(duet::encodable<point>);
  STATIC_REQUIRE(duet::decodable<point>);
  STATIC_REQUIRE(duet::encodable<shape>);
  STATIC_REQUIRE(duet::decodable<shape>);
  STATIC_REQUIRE(duet::encodable<empty>);
  STATIC_REQUIRE_FALSE(duet::encodable<with_pointer>);
  STATIC_REQUIRE_FALSE(duet::encodable<with_unique_ptr>);
  STATIC_REQUIRE_FALSE(duet::encodable<with_private>);
  STATIC_REQUIRE_FALSE(duet::encodable<with_constructor>);
  STATIC_REQUIRE_FALSE(duet::encodable<thirty_three>);
  STATIC_REQUIRE_FALSE(duet::encodable<std::vector<with_pointer>>);
  // A const field can be written but not read back into.
  STATIC_REQUIRE(duet::encodable<with_const_field>);
  STATIC_REQUIRE_FALSE(duet::decodable<with_const_field>);
  // A struct whose fields are all empty is itself empty: no container of it.
  STATIC_REQUIRE_FALSE(duet::encodable<std::vector<empty>>);
}

TEST_CASE("std::array and std::pair keep their own codecs although they are aggregate-like", "[codec]") {
  // std::array's codec copies arithmetic elements in one go; the aggregate
  // codec would reach the same bytes field by field. Both are fine on the
  // wire, but the kinds must not compete: each has exactly one codec.
  CHECK(encoded(std::array<std::uint8_t, 2>{1, 2}) == bytes({1, 2}));
  CHECK(encoded(std::pair<std::uint8_t, std::string>{1, "a"}) == bytes({1, 1, 'a'}));
  CHECK(encoded(std::pair<point, point>{{1, 2}, {3, 4}}) == encoded(point{1, 2}, point{3, 4}));
}
