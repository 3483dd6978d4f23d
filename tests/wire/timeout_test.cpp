// The duet-timeout metadata value: the time left, in whole microseconds, as
// decimal digits (docs/protocol.md section 7.1).
#include <duet/wire/timeout.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <string>

using namespace std::chrono_literals;

TEST_CASE("the time left is written in whole microseconds, rounded up", "[wire][deadline]") {
  const duet::time_point now = duet::clock::now();
  char digits[duet::detail::timeout_value_capacity];
  CHECK(duet::detail::timeout_value(now + 1500ms, now, digits) == std::optional<std::string_view>("1500000"));
  CHECK(duet::detail::timeout_value(now + 1ns, now, digits) == std::optional<std::string_view>("1"));
  CHECK(duet::detail::timeout_value(now + 2001ns, now, digits) == std::optional<std::string_view>("3"));
  CHECK_FALSE(duet::detail::timeout_value(now, now, digits).has_value());
  CHECK_FALSE(duet::detail::timeout_value(now - 1ms, now, digits).has_value());
}

TEST_CASE("a duet-timeout value is 1 to 20 decimal digits and nothing else", "[wire][deadline]") {
  std::uint64_t v = 7;
  CHECK(duet::detail::parse_timeout_value("0", v));
  CHECK(v == 0);
  CHECK(duet::detail::parse_timeout_value("250000", v));
  CHECK(v == 250000);
  CHECK(duet::detail::parse_timeout_value("18446744073709551615", v));
  CHECK(v == 18446744073709551615u);
  v = 7;
  for (const char* bad : {"", "-1", "+1", "1a", " 1", "1.5", "18446744073709551616", "000000000000000000001"}) {
    CHECK_FALSE(duet::detail::parse_timeout_value(bad, v));
  }
  CHECK(v == 7);
}

TEST_CASE("a duet-timeout becomes a deadline counted from arrival; one too far ahead is none", "[wire][deadline]") {
  const duet::time_point now = duet::clock::now();
  CHECK(duet::detail::deadline_from_timeout(250000, now) == std::optional<duet::time_point>(now + 250ms));
  CHECK(duet::detail::deadline_from_timeout(0, now) == std::optional<duet::time_point>(now));
  CHECK_FALSE(duet::detail::deadline_from_timeout(18446744073709551615u, now).has_value());
}
