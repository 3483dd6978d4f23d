// duet::metadata (the value type users fill and read) and the metadata
// block it travels in (docs/protocol.md section 7).
#include <duet/wire/metadata.hpp>

#include "wire/wire_support.hpp"

#include <catch2/catch.hpp>

#include <cstddef>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <vector>

using wire_test::bytes;

TEST_CASE("metadata keeps its pairs in the order they were added, duplicates included", "[wire][metadata]") {
  duet::metadata m;
  CHECK(m.empty());
  m.add("x-request-id", "42").add("locale", "de").add("locale", "fr");
  REQUIRE(m.size() == 3);
  std::vector<std::string> keys;
  for (const auto& [key, value] : m) keys.push_back(key + "=" + value);
  CHECK(keys == std::vector<std::string>{"x-request-id=42", "locale=de", "locale=fr"});
  CHECK(m.find("locale") == std::optional<std::string_view>("de"));
  CHECK(m.contains("x-request-id"));
  CHECK_FALSE(m.find("missing").has_value());
  m.clear();
  CHECK(m.empty());
}

TEST_CASE("metadata refuses keys outside the protocol's charset and the reserved duet- prefix", "[wire][metadata]") {
  duet::metadata m;
  CHECK_THROWS_AS(m.add("", "v"), std::invalid_argument);
  CHECK_THROWS_AS(m.add("Authorization", "v"), std::invalid_argument);
  CHECK_THROWS_AS(m.add("a b", "v"), std::invalid_argument);
  CHECK_THROWS_AS(m.add("duet-timeout", "1"), std::invalid_argument);
  CHECK_NOTHROW(m.add("a-z_0.9", std::string("any\0bytes", 9)));
  CHECK_NOTHROW(m.add("duet", "the bare word is not the prefix"));
  CHECK(m.size() == 2);
}

TEST_CASE("a metadata block has the documented bytes, duet's own pairs first", "[wire][metadata]") {
  duet::metadata m;
  m.add("ab", "xyz");
  duet::byte_vector out;
  CHECK(duet::detail::write_metadata_block(out, {}, &m) == 8);
  CHECK(out == bytes({0x01, 0x02, 'a', 'b', 0x03, 'x', 'y', 'z'}));

  out.clear();
  const duet::metadata_entry own[] = {{"duet-x", "1"}};
  CHECK(duet::detail::write_metadata_block(out, own, &m) == 17);
  CHECK(out == bytes({0x02, 0x06, 'd', 'u', 'e', 't', '-', 'x', 0x01, '1', 0x02, 'a', 'b', 0x03, 'x', 'y', 'z'}));

  out.clear();
  const duet::metadata none;
  CHECK(duet::detail::write_metadata_block(out, {}, &none) == 0);
  CHECK(duet::detail::write_metadata_block(out, {}, nullptr) == 0);
  CHECK(out.empty());
}

TEST_CASE("a metadata block reads back into the same metadata", "[wire][metadata]") {
  duet::metadata sent;
  sent.add("trace", "abc").add("empty", "").add("trace", std::string(300, 'v'));
  duet::byte_vector block;
  (void)duet::detail::write_metadata_block(block, {}, &sent);
  CHECK(duet::detail::is_well_formed_metadata(block));
  duet::metadata got;
  got.add("stale", "replaced");
  REQUIRE(duet::detail::read_metadata_block(block, got));
  CHECK(got == sent);
}

TEST_CASE("malformed metadata blocks are recognised and read as nothing", "[wire][metadata]") {
  const duet::byte_vector malformed[] = {
      bytes({0x01}),                                   // a count, then no pair
      bytes({0x02, 0x01, 'a', 0x00}),                  // fewer pairs than the count
      bytes({0x01, 0x01, 'A', 0x00}),                  // an uppercase key
      bytes({0x01, 0x00, 0x00}),                       // an empty key
      bytes({0x01, 0x01, 'a', 0x05, 'x'}),             // a value running past the end
      bytes({0x01, 0x01, 'a', 0x00, 0x00}),            // a byte after the last pair
      bytes({0x81, 0x00, 0x01, 'a', 0x00}),            // a non-minimal count
      bytes({0xff, 0xff, 0xff, 0xff, 0x1f}),           // a count over 32 bits
      bytes({0x00, 0x00}),                             // bytes after an empty list
  };
  for (const duet::byte_vector& block : malformed) {
    CHECK_FALSE(duet::detail::is_well_formed_metadata(block));
    duet::metadata got;
    got.add("stale", "gone");
    CHECK_FALSE(duet::detail::read_metadata_block(block, got));
    CHECK(got.empty());
  }
  CHECK(duet::detail::is_well_formed_metadata({}));
  CHECK(duet::detail::is_well_formed_metadata(bytes({0x00})));
}

TEST_CASE("reserved keys are for duet's own use and survive the round trip", "[wire][metadata]") {
  duet::metadata m;
  duet::detail::metadata_access::add_reserved(m, "duet-idempotency-key", "k1");
  CHECK_THROWS_AS(duet::detail::metadata_access::add_reserved(m, "Duet-x", "v"), std::invalid_argument);
  duet::byte_vector block;
  (void)duet::detail::write_metadata_block(block, {}, &m);
  duet::metadata got;
  REQUIRE(duet::detail::read_metadata_block(block, got));
  CHECK(got.find("duet-idempotency-key") == std::optional<std::string_view>("k1"));
  CHECK(duet::metadata::is_reserved("duet-idempotency-key"));
}
