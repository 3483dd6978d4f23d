#include <duet/codec/std_types.hpp>

#include "codec/codec_support.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <deque>
#include <limits>
#include <list>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

using codec_test::bytes;
using codec_test::encoded;
using codec_test::require_every_truncation_fails;
using codec_test::round_trip;
using duet::byte_vector;

namespace {

enum class small_enum : std::uint16_t { a = 1, b = 0x0203 };
enum sized_plain_enum : std::int8_t { minus_one = -1 };
enum unsized_plain_enum { x, y };

}  // namespace

TEMPLATE_TEST_CASE("every integer type round-trips its extremes", "[codec]", char, signed char, unsigned char,
                   char8_t, char16_t, char32_t, wchar_t, short, unsigned short, int, unsigned, long, unsigned long,
                   long long, unsigned long long) {
  const TestType value = GENERATE(std::numeric_limits<TestType>::min(), std::numeric_limits<TestType>::max(),
                                  TestType{0}, TestType{1});
  CHECK(encoded(value).size() == sizeof(TestType));
  CHECK(round_trip(value) == value);
}

TEMPLATE_TEST_CASE("floating point round-trips by bit pattern", "[codec]", float, double) {
  const TestType value = GENERATE(TestType{0}, -TestType{0}, TestType{1.5}, std::numeric_limits<TestType>::infinity(),
                                  std::numeric_limits<TestType>::denorm_min(), std::numeric_limits<TestType>::max(),
                                  std::numeric_limits<TestType>::quiet_NaN());
  using bits = std::conditional_t<sizeof(TestType) == 4, std::uint32_t, std::uint64_t>;
  CHECK(std::bit_cast<bits>(round_trip(value)) == std::bit_cast<bits>(value));
}

TEST_CASE("scalars have their documented byte layouts", "[codec]") {
  CHECK(encoded(true) == bytes({1}));
  CHECK(encoded(false) == bytes({0}));
  CHECK(encoded(std::int32_t{-2}) == bytes({0xfe, 0xff, 0xff, 0xff}));
  CHECK(encoded(1.0) == bytes({0, 0, 0, 0, 0, 0, 0xf0, 0x3f}));
  CHECK(encoded(small_enum::b) == bytes({0x03, 0x02}));
  CHECK(encoded(minus_one) == bytes({0xff}));
  CHECK(encoded(std::byte{0xab}) == bytes({0xab}));
}

TEST_CASE("containers have their documented byte layouts", "[codec]") {
  CHECK(encoded(std::string("hi")) == bytes({2, 'h', 'i'}));
  CHECK(encoded(std::string_view("hi")) == bytes({2, 'h', 'i'}));
  CHECK(encoded(std::string()) == bytes({0}));
  CHECK(encoded(std::vector<std::uint16_t>{1, 0x0302}) == bytes({2, 1, 0, 2, 3}));
  CHECK(encoded(std::vector<bool>{true, false, true}) == bytes({3, 1, 0, 1}));
  CHECK(encoded(std::array<std::uint8_t, 3>{7, 8, 9}) == bytes({7, 8, 9}));
  CHECK(encoded(std::optional<std::int32_t>{}) == bytes({0}));
  CHECK(encoded(std::optional<std::int32_t>{5}) == bytes({1, 5, 0, 0, 0}));
  CHECK(encoded(std::variant<std::int32_t, std::string>{std::string("a")}) == bytes({1, 1, 'a'}));
  CHECK(encoded(std::map<std::string, std::int32_t>{{"a", 1}, {"b", 2}}) ==
        bytes({2, 1, 'a', 1, 0, 0, 0, 1, 'b', 2, 0, 0, 0}));
  CHECK(encoded(std::set<std::uint8_t>{3, 1}) == bytes({2, 1, 3}));
  CHECK(encoded(std::pair<std::uint8_t, bool>{4, true}) == bytes({4, 1}));
  CHECK(encoded(std::tuple<std::uint8_t, std::string, std::int16_t>{1, "z", -1}) == bytes({1, 1, 'z', 0xff, 0xff}));
  CHECK(encoded(std::tuple<>{}).empty());
  CHECK(encoded(std::monostate{}).empty());
  const std::string long_string(200, 'q');
  const byte_vector wire = encoded(long_string);
  CHECK(wire.size() == 202);
  CHECK(wire[0] == std::byte{0xc8});
  CHECK(wire[1] == std::byte{0x01});
}

TEST_CASE("an enum decodes any value of its underlying type", "[codec]") {
  small_enum e{};
  REQUIRE(duet::decode_all(bytes({0x34, 0x12}), e));
  CHECK(static_cast<std::uint16_t>(e) == 0x1234);
  CHECK(round_trip(small_enum::a) == small_enum::a);
}

TEST_CASE("strings, byte vectors and sequences round-trip", "[codec]") {
  CHECK(round_trip(std::string("hello, world")) == "hello, world");
  CHECK(round_trip(std::string(1000, '\0')) == std::string(1000, '\0'));
  CHECK(round_trip(std::u16string(u"h\u00e9llo")) == u"h\u00e9llo");
  byte_vector blob(4096);
  for (std::size_t i = 0; i < blob.size(); ++i) blob[i] = static_cast<std::byte>(i * 7);
  CHECK(round_trip(blob) == blob);
  CHECK(round_trip(std::vector<std::int64_t>{-1, 0, 1, 1ll << 40}) == std::vector<std::int64_t>{-1, 0, 1, 1ll << 40});
  CHECK(round_trip(std::vector<bool>{true, false, false, true}) == std::vector<bool>{true, false, false, true});
  CHECK(round_trip(std::deque<int>{3, 2, 1}) == std::deque<int>{3, 2, 1});
  CHECK(round_trip(std::list<std::string>{"a", "", "c"}) == std::list<std::string>{"a", "", "c"});
  CHECK(round_trip(std::vector<std::vector<int>>{{}, {1}, {2, 3}}) == std::vector<std::vector<int>>{{}, {1}, {2, 3}});
}

TEST_CASE("fixed-size arrays carry no count", "[codec]") {
  const std::array<std::int32_t, 4> ints{1, -2, 3, -4};
  CHECK(encoded(ints).size() == 16);
  CHECK(round_trip(ints) == ints);
  const std::array<std::string, 2> strings{"x", "yz"};
  CHECK(encoded(strings) == bytes({1, 'x', 2, 'y', 'z'}));
  CHECK(round_trip(strings) == strings);
  const std::array<std::array<std::uint16_t, 2>, 2> nested{{{1, 2}, {3, 4}}};
  CHECK(encoded(nested) == bytes({1, 0, 2, 0, 3, 0, 4, 0}));
  CHECK(round_trip(nested) == nested);
  std::int16_t c_array[3] = {};
  REQUIRE(duet::decode_all(bytes({1, 0, 2, 0, 0xff, 0xff}), c_array));
  CHECK(c_array[0] == 1);
  CHECK(c_array[1] == 2);
  CHECK(c_array[2] == -1);
  CHECK(encoded(c_array) == bytes({1, 0, 2, 0, 0xff, 0xff}));
}

TEST_CASE("maps and sets of every flavour round-trip", "[codec]") {
  const std::map<int, std::string> ordered{{1, "one"}, {2, "two"}};
  CHECK(round_trip(ordered) == ordered);
  const std::unordered_map<std::string, std::vector<int>> hashed{{"a", {1, 2}}, {"b", {}}};
  CHECK(round_trip(hashed) == hashed);
  const std::multimap<int, int> multi{{1, 1}, {1, 2}, {2, 3}};
  CHECK(round_trip(multi) == multi);
  const std::set<std::string> keys{"x", "y"};
  CHECK(round_trip(keys) == keys);
  const std::unordered_set<int> hashed_keys{5, 6, 7};
  CHECK(round_trip(hashed_keys) == hashed_keys);
  const std::multiset<int> multi_keys{1, 1, 2};
  CHECK(round_trip(multi_keys) == multi_keys);
}

TEST_CASE("optional, variant, tuple and pair round-trip", "[codec]") {
  CHECK(round_trip(std::optional<std::string>{}) == std::nullopt);
  CHECK(round_trip(std::optional<std::string>{"x"}) == "x");
  using v = std::variant<std::monostate, int, std::string, std::vector<int>>;
  CHECK(round_trip(v{}) == v{});
  CHECK(round_trip(v{7}) == v{7});
  CHECK(round_trip(v{std::string("s")}) == v{std::string("s")});
  CHECK(round_trip(v{std::vector<int>{1, 2}}) == v{std::vector<int>{1, 2}});
  // Two alternatives of one type stay distinct: the index travels.
  using twins = std::variant<int, int>;
  CHECK(round_trip(twins{std::in_place_index<1>, 3}).index() == 1);
  const std::tuple<int, std::string, double> t{1, "a", 2.5};
  CHECK(round_trip(t) == t);
  const std::pair<std::string, std::optional<int>> p{"k", 4};
  CHECK(round_trip(p) == p);
}

TEST_CASE("deeply nested standard types round-trip", "[codec]") {
  using element = std::optional<std::variant<int, std::string>>;
  using nested = std::map<std::string, std::vector<element>>;
  const nested value{
      {"empty", {}},
      {"mixed", {element{}, element{1}, element{std::string("two")}, element{-3}}},
      {"", {element{std::string()}}},
  };
  CHECK(round_trip(value) == value);
  require_every_truncation_fails<nested>(encoded(value));
}

TEST_CASE("decoding replaces what the target held", "[codec]") {
  std::vector<int> ints{9, 9, 9, 9};
  REQUIRE(duet::decode_all(encoded(std::vector<int>{1}), ints));
  CHECK(ints == std::vector<int>{1});
  std::map<int, int> m{{5, 5}};
  REQUIRE(duet::decode_all(encoded(std::map<int, int>{{1, 2}}), m));
  CHECK(m == std::map<int, int>{{1, 2}});
  std::optional<int> o{3};
  REQUIRE(duet::decode_all(bytes({0}), o));
  CHECK_FALSE(o.has_value());
  std::list<int> l{1, 2};
  REQUIRE(duet::decode_all(bytes({0}), l));
  CHECK(l.empty());
}

TEST_CASE("a decoded string_view views the input bytes", "[codec]") {
  const byte_vector wire = encoded(std::string("view me"));
  std::string_view view;
  REQUIRE(duet::decode_all(wire, view));
  CHECK(view == "view me");
  CHECK(static_cast<const void*>(view.data()) == static_cast<const void*>(wire.data() + 1));
  // The same bytes decode as an owning string.
  std::string owned;
  REQUIRE(duet::decode_all(wire, owned));
  CHECK(owned == view);
}

TEST_CASE("a decoded byte span views the input bytes", "[codec]") {
  const byte_vector payload = bytes({1, 2, 3});
  const byte_vector wire = encoded(payload);
  std::span<const std::byte> view;
  REQUIRE(duet::decode_all(wire, view));
  CHECK(view.size() == 3);
  CHECK(view.data() == wire.data() + 1);
  CHECK(encoded(view) == wire);
}

TEST_CASE("every truncation of a valid encoding fails", "[codec]") {
  require_every_truncation_fails<std::string>(encoded(std::string("abc")));
  require_every_truncation_fails<std::vector<std::int32_t>>(encoded(std::vector<std::int32_t>{1, 2, 3}));
  require_every_truncation_fails<std::vector<std::string>>(encoded(std::vector<std::string>{"a", "bc", ""}));
  require_every_truncation_fails<std::array<std::int64_t, 2>>(encoded(std::array<std::int64_t, 2>{1, 2}));
  require_every_truncation_fails<std::optional<double>>(encoded(std::optional<double>{1.0}));
  require_every_truncation_fails<std::tuple<int, std::string>>(encoded(std::tuple<int, std::string>{1, "x"}));
  require_every_truncation_fails<std::unordered_map<int, std::string>>(
      encoded(std::unordered_map<int, std::string>{{1, "a"}, {2, "b"}}));
  require_every_truncation_fails<std::variant<int, std::string>>(encoded(std::variant<int, std::string>{"long"}));
  require_every_truncation_fails<std::uint64_t>(encoded(std::uint64_t{1}));
}

TEST_CASE("a bool or optional byte other than 0 or 1 fails to decode", "[codec]") {
  bool b = false;
  CHECK_FALSE(duet::decode_all(bytes({2}), b));
  CHECK_FALSE(duet::decode_all(bytes({0xff}), b));
  std::optional<std::uint8_t> o;
  CHECK_FALSE(duet::decode_all(bytes({2, 0}), o));
  std::vector<bool> bits;
  CHECK_FALSE(duet::decode_all(bytes({2, 1, 3}), bits));
}

TEST_CASE("a variant index out of range fails to decode", "[codec]") {
  std::variant<int, std::string> v;
  CHECK_FALSE(duet::decode_all(bytes({2, 0, 0, 0, 0}), v));
  CHECK_FALSE(duet::decode_all(bytes({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}), v));
  CHECK(duet::decode_all(bytes({0, 1, 0, 0, 0}), v));
  CHECK(std::get<int>(v) == 1);
}

TEST_CASE("a duplicate key in a map or set with unique keys fails to decode", "[codec]") {
  std::map<std::uint8_t, std::uint8_t> m;
  CHECK_FALSE(duet::decode_all(bytes({2, 1, 10, 1, 11}), m));
  std::unordered_map<std::uint8_t, std::uint8_t> um;
  CHECK_FALSE(duet::decode_all(bytes({2, 1, 10, 1, 11}), um));
  std::set<std::uint8_t> s;
  CHECK_FALSE(duet::decode_all(bytes({2, 1, 1}), s));
  std::multimap<std::uint8_t, std::uint8_t> mm;
  CHECK(duet::decode_all(bytes({2, 1, 10, 1, 11}), mm));
  CHECK(mm.size() == 2);
}

TEST_CASE("a huge count fails fast without allocating", "[codec]") {
  // 2^60 elements announced, three bytes follow.
  const byte_vector wire = bytes({0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10, 1, 2, 3});
  std::string s;
  CHECK_FALSE(duet::decode_all(wire, s));
  std::vector<std::uint64_t> ints;
  CHECK_FALSE(duet::decode_all(wire, ints));
  CHECK(ints.capacity() == 0);
  std::vector<std::string> strings;
  CHECK_FALSE(duet::decode_all(wire, strings));
  CHECK(strings.capacity() == 0);
  std::unordered_map<int, int> m;
  CHECK_FALSE(duet::decode_all(wire, m));
  std::vector<bool> bits;
  CHECK_FALSE(duet::decode_all(wire, bits));
  // A count that fits the bytes left but not the element size also fails.
  std::vector<std::uint32_t> four_byte;
  CHECK_FALSE(duet::decode_all(bytes({2, 1, 0, 0, 0, 2, 0, 0}), four_byte));
}

TEST_CASE("the standard shapes are encodable exactly when they should be", "[codec]") {
  STATIC_REQUIRE(duet::encodable<int>);
  STATIC_REQUIRE(duet::decodable<int>);
  STATIC_REQUIRE(duet::encodable<const std::string&>);
  STATIC_REQUIRE_FALSE(duet::decodable<const int>);
  STATIC_REQUIRE_FALSE(duet::encodable<long double>);
  STATIC_REQUIRE_FALSE(duet::encodable<int*>);
  STATIC_REQUIRE_FALSE(duet::encodable<std::nullptr_t>);
  STATIC_REQUIRE_FALSE(duet::encodable<unsized_plain_enum>);
  STATIC_REQUIRE(duet::encodable<sized_plain_enum>);
  STATIC_REQUIRE_FALSE(duet::encodable<std::vector<int*>>);
  STATIC_REQUIRE_FALSE(duet::encodable<std::optional<int*>>);
  STATIC_REQUIRE_FALSE(duet::encodable<std::map<int, int*>>);
  STATIC_REQUIRE_FALSE(duet::encodable<std::variant<int, int*>>);
  STATIC_REQUIRE_FALSE(duet::encodable<std::tuple<int, int*>>);
  // Elements that encode to nothing could not bound their count.
  STATIC_REQUIRE_FALSE(duet::encodable<std::vector<std::monostate>>);
  STATIC_REQUIRE(duet::encodable<std::vector<std::optional<std::monostate>>>);
  // Views encode; only views of single bytes decode, by pointing into the input.
  STATIC_REQUIRE(duet::decodable<std::string_view>);
  STATIC_REQUIRE(duet::decodable<std::span<const std::byte>>);
  STATIC_REQUIRE(duet::encodable<std::span<const int>>);
  STATIC_REQUIRE_FALSE(duet::decodable<std::span<const int>>);
  STATIC_REQUIRE_FALSE(duet::decodable<std::span<std::byte>>);
  STATIC_REQUIRE(duet::encodable<std::pair<const int, int>>);
  STATIC_REQUIRE_FALSE(duet::decodable<std::pair<const int, int>>);
}
