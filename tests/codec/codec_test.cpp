#include <duet/codec/codec.hpp>

#include "codec/codec_support.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

using codec_test::bytes;
using codec_test::encoded;
using codec_test::require_every_truncation_fails;
using codec_test::round_trip;

namespace user {

// Full tier: a class with private state and its own wire form (a version
// byte, then the value as a decimal string).
class money {
 public:
  money() = default;
  explicit money(std::int64_t cents) : m_cents(cents) {}
  std::int64_t cents() const { return m_cents; }
  bool operator==(const money&) const = default;

 private:
  std::int64_t m_cents = 0;
};

// A tree: a type that contains itself needs the full tier.
struct tree {
  std::string name;
  std::vector<tree> children;
  bool operator==(const tree&) const = default;
};

// Easy tier: encoded exactly as the number it wraps.
class user_id {
 public:
  user_id() = default;
  explicit user_id(std::uint32_t v) : m_value(v) {}
  std::uint32_t duet_codec_as() const { return m_value; }
  bool operator==(const user_id&) const = default;

 private:
  std::uint32_t m_value = 0;
};

// An aggregate with a specialisation: the specialisation wins.
struct celsius {
  double degrees;
};

// An aggregate with duet_codec_as: the mapping wins.
struct flag {
  bool on;
  std::uint8_t duet_codec_as() const { return on ? 0xAA : 0x55; }
  flag() = default;
  explicit flag(std::uint8_t b) : on(b == 0xAA) {}
};

// Picked up through the Enable parameter.
template <class T>
struct tagged {
  T value;
};

}  // namespace user

template <>
struct duet::codec<user::money> {
  static constexpr std::size_t min_encoded_size = 2;

  static void encode(byte_writer& w, const user::money& m) {
    w.write_byte(std::byte{1});
    duet::encode(w, std::to_string(m.cents()));
  }

  static bool decode(byte_reader& r, user::money& m) {
    std::byte version{};
    std::string digits;
    if (!r.read_byte(version) || !duet::decode(r, digits)) return false;
    if (version != std::byte{1} || digits.empty() || digits.size() > 18) return false;  // not marked: decode() marks it
    std::int64_t cents = 0;
    bool negative = false;
    for (std::size_t i = 0; i < digits.size(); ++i) {
      if (i == 0 && digits[i] == '-') {
        negative = true;
        continue;
      }
      if (digits[i] < '0' || digits[i] > '9') return r.mark_failed();
      cents = cents * 10 + (digits[i] - '0');
    }
    m = user::money(negative ? -cents : cents);
    return true;
  }
};

template <>
struct duet::codec<user::tree> {
  static void encode(byte_writer& w, const user::tree& t) { duet::encode(w, t.name, t.children); }
  static bool decode(byte_reader& r, user::tree& t) { return duet::decode(r, t.name, t.children); }
};

template <>
struct duet::codec<user::celsius> {
  static void encode(byte_writer& w, const user::celsius& c) {
    w.write_fixed(static_cast<std::int16_t>(c.degrees * 10));
  }
  static bool decode(byte_reader& r, user::celsius& c) {
    std::int16_t tenths = 0;
    if (!r.read_fixed(tenths)) return false;
    c.degrees = tenths / 10.0;
    return true;
  }
};

template <class T>
struct duet::codec<user::tagged<T>, std::enable_if_t<std::is_integral_v<T>>> {
  static void encode(byte_writer& w, const user::tagged<T>& t) {
    w.write_byte(std::byte{0x7a});
    duet::encode(w, t.value);
  }
  static bool decode(byte_reader& r, user::tagged<T>& t) {
    std::byte tag{};
    if (!r.read_byte(tag) || tag != std::byte{0x7a}) return false;
    return duet::decode(r, t.value);
  }
};

TEST_CASE("a codec specialisation defines its type's wire form", "[codec]") {
  STATIC_REQUIRE(duet::encodable<user::money>);
  STATIC_REQUIRE(duet::decodable<user::money>);
  CHECK(encoded(user::money(-125)) == bytes({1, 4, '-', '1', '2', '5'}));
  CHECK(round_trip(user::money(123456)) == user::money(123456));
  require_every_truncation_fails<user::money>(encoded(user::money(42)));
}

TEST_CASE("a specialised type nests inside standard containers and aggregates", "[codec]") {
  const std::map<std::string, std::vector<std::optional<user::money>>> ledger{
      {"alice", {user::money(1), std::nullopt}},
      {"bob", {}},
  };
  CHECK(round_trip(ledger) == ledger);
}

TEST_CASE("a specialisation that returns false fails the whole decode", "[codec]") {
  user::money m;
  duet::byte_vector wire = encoded(user::money(5));
  wire[0] = std::byte{2};  // unknown version: the codec returns false without marking the reader
  duet::byte_reader reader(wire);
  CHECK_FALSE(duet::decode(reader, m));
  CHECK(reader.failed());
  CHECK_FALSE(duet::decode_all(bytes({1, 2, '1', 'x'}), m));
}

TEST_CASE("a recursive type works through a specialisation", "[codec]") {
  const user::tree t{"root", {{"a", {}}, {"b", {{"b1", {}}, {"b2", {}}}}}};
  CHECK(encoded(user::tree{"x", {}}) == bytes({1, 'x', 0}));
  CHECK(round_trip(t) == t);
  require_every_truncation_fails<user::tree>(encoded(t));
}

TEST_CASE("a type with duet_codec_as encodes as the value it maps to", "[codec]") {
  STATIC_REQUIRE(duet::encodable<user::user_id>);
  STATIC_REQUIRE(duet::decodable<user::user_id>);
  CHECK(encoded(user::user_id(0x01020304)) == encoded(std::uint32_t{0x01020304}));
  CHECK(round_trip(user::user_id(77)) == user::user_id(77));
  CHECK(round_trip(std::vector<user::user_id>{user::user_id(1), user::user_id(2)}) ==
        std::vector<user::user_id>{user::user_id(1), user::user_id(2)});
}

TEST_CASE("a specialisation or a mapping wins over the aggregate codec", "[codec]") {
  CHECK(encoded(user::celsius{21.5}) == bytes({215, 0}));
  CHECK(round_trip(user::celsius{-3.0}).degrees == -3.0);
  CHECK(encoded(user::flag(0xAA)) == bytes({0xAA}));
  CHECK(round_trip(user::flag(0xAA)).on);
}

TEST_CASE("a specialisation may select types through the Enable parameter", "[codec]") {
  STATIC_REQUIRE(duet::encodable<user::tagged<int>>);
  CHECK(encoded(user::tagged<std::uint8_t>{5}) == bytes({0x7a, 5}));
  CHECK(round_trip(user::tagged<int>{-9}).value == -9);
  // Not selected: a tagged<std::string> is a plain aggregate.
  CHECK(encoded(user::tagged<std::string>{"s"}) == bytes({1, 's'}));
}

TEST_CASE("values encode one after another with no separator", "[codec]") {
  CHECK(encoded(std::uint8_t{1}, std::string("ab"), true) == bytes({1, 2, 'a', 'b', 1}));
  std::uint8_t a = 0;
  std::string b;
  bool c = false;
  REQUIRE(duet::decode_all(bytes({1, 2, 'a', 'b', 1}), a, b, c));
  CHECK(a == 1);
  CHECK(b == "ab");
  CHECK(c);
}

TEST_CASE("encoding appends to a buffer that already holds a header", "[codec]") {
  duet::byte_vector out = bytes({0xf0, 0xf1, 0xf2});
  duet::byte_writer writer(out);
  duet::encode(writer, std::string("p"), std::uint16_t{7});
  CHECK(writer.size() == 4);
  CHECK(out == bytes({0xf0, 0xf1, 0xf2, 1, 'p', 7, 0}));
}

TEST_CASE("decode_all fails when bytes are left over, decode leaves them", "[codec]") {
  const duet::byte_vector wire = bytes({5, 0, 0, 0, 9});
  std::int32_t v = 0;
  CHECK_FALSE(duet::decode_all(wire, v));
  duet::byte_reader reader(wire);
  REQUIRE(duet::decode(reader, v));
  CHECK(v == 5);
  CHECK(reader.remaining() == 1);
  CHECK(duet::decode_all(duet::const_buffer{}));
  CHECK_FALSE(duet::decode_all(bytes({0})));
}

TEST_CASE("garbage bytes decode or fail, never crash", "[codec]") {
  // No map (its entries may come in any order) and no money (its digits may
  // carry leading zeros), so that every accepted input is canonical.
  using target = std::vector<std::pair<std::string, std::vector<std::optional<std::variant<int, std::string, user::user_id>>>>>;
  // A fixed linear congruential sequence: the same inputs on every run.
  std::uint64_t state = 0x9e3779b97f4a7c15u;
  auto next = [&] {
    state = state * 6364136223846793005u + 1442695040888963407u;
    return static_cast<std::uint8_t>(state >> 56);
  };
  int decoded = 0;
  for (int round = 0; round < 2000; ++round) {
    duet::byte_vector input(1 + round % 64);
    for (auto& b : input) b = static_cast<std::byte>(next() % (round % 2 == 0 ? 4 : 256));
    target value;
    if (duet::decode_all(input, value)) {
      ++decoded;
      // What decodes re-encodes to the same bytes: every value has one encoding.
      CHECK(encoded(value) == input);
    }
  }
  CHECK(decoded > 0);
}

TEST_CASE("the examples in docs/encoding.md hold", "[codec]") {
  CHECK(encoded(std::map<std::string, std::int32_t>{{"a", 1}}) == bytes({0x01, 0x01, 0x61, 0x01, 0x00, 0x00, 0x00}));
  CHECK(encoded(std::optional<std::variant<std::int32_t, std::string>>{"hi"}) ==
        bytes({0x01, 0x01, 0x02, 0x68, 0x69}));
  struct example {
    std::uint16_t x;
    std::vector<bool> v;
  };
  CHECK(encoded(example{258, {true}}) == bytes({0x02, 0x01, 0x01, 0x01}));
}

TEST_CASE("the encodable and decodable concepts answer for whole types", "[codec]") {
  struct unsupported {
    int* pointer;
  };
  STATIC_REQUIRE(duet::encodable<int>);
  STATIC_REQUIRE_FALSE(duet::encodable<unsupported>);
  STATIC_REQUIRE_FALSE(duet::decodable<unsupported>);
  STATIC_REQUIRE_FALSE(duet::encodable<std::vector<unsupported>>);
  STATIC_REQUIRE(duet::encodable<std::variant<user::money, user::user_id, user::tree>>);
}
