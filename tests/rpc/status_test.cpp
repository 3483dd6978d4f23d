#include <duet/result.hpp>
#include <duet/status.hpp>

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <system_error>

TEST_CASE("status codes convert to std::error_code in the duet category", "[rpc]") {
  const std::error_code ec = duet::status_code::deadline_exceeded;
  CHECK(ec.category().name() == std::string("duet"));
  CHECK(ec.value() == 4);
  CHECK(ec.message() == "deadline_exceeded");
  CHECK(ec == duet::status_code::deadline_exceeded);
  CHECK(ec != duet::status_code::cancelled);
  CHECK(ec != std::errc::timed_out);  // different categories never compare equal
}

TEST_CASE("status wire values are fixed", "[rpc]") {
  STATIC_REQUIRE(static_cast<int>(duet::status_code::ok) == 0);
  STATIC_REQUIRE(static_cast<int>(duet::status_code::not_found) == 5);
  STATIC_REQUIRE(static_cast<int>(duet::status_code::internal) == 13);
  STATIC_REQUIRE(static_cast<int>(duet::status_code::unavailable) == 14);
  STATIC_REQUIRE(static_cast<int>(duet::status_code::protocol_error) == 17);
  CHECK(duet::is_known(duet::status_code::protocol_error));
  CHECK_FALSE(duet::is_known(static_cast<duet::status_code>(18)));
  CHECK(duet::to_string(static_cast<duet::status_code>(99)) == "unrecognised");
}

TEST_CASE("a status prints its code and message", "[rpc]") {
  CHECK(duet::status().ok());
  CHECK(duet::status().to_string() == "ok");
  const duet::status s(duet::status_code::not_found, "no such key");
  CHECK_FALSE(s.ok());
  CHECK(s.to_string() == "not_found: no such key");
  CHECK(s.error_code() == duet::status_code::not_found);
}

TEST_CASE("rpc_error carries the status and is a std::system_error", "[rpc]") {
  try {
    throw duet::rpc_error(duet::status(duet::status_code::unavailable, "connection lost"));
  } catch (const std::system_error& e) {
    CHECK(e.code() == duet::status_code::unavailable);
    CHECK(std::string(e.what()).find("connection lost") != std::string::npos);
    const auto* rpc = dynamic_cast<const duet::rpc_error*>(&e);
    REQUIRE(rpc != nullptr);
    CHECK(rpc->status().message() == "connection lost");
  }
}

TEST_CASE("a result holds a value or a status, and value() throws the status", "[rpc]") {
  duet::result<int> good = 42;
  CHECK(good.has_value());
  CHECK(*good == 42);
  CHECK(good.value() == 42);
  CHECK(good.code() == duet::status_code::ok);
  CHECK(good.error().ok());

  duet::result<int> bad = duet::status(duet::status_code::permission_denied, "no");
  CHECK_FALSE(bad);
  CHECK(bad.code() == duet::status_code::permission_denied);
  CHECK(bad.error().message() == "no");
  CHECK_THROWS_AS(bad.value(), duet::rpc_error);
}

TEST_CASE("a result cannot hold an ok status without a value", "[rpc]") {
  duet::result<std::string> r = duet::status();
  CHECK_FALSE(r.has_value());
  CHECK(r.code() == duet::status_code::internal);
  duet::result<void> v;
  CHECK(v.has_value());
  CHECK_NOTHROW(v.value());
  duet::result<void> failed = duet::status_code::cancelled;
  CHECK_THROWS_AS(failed.value(), duet::rpc_error);
}

TEST_CASE("a result moves a move-only value out", "[rpc]") {
  duet::result<std::unique_ptr<int>> r = std::make_unique<int>(7);
  std::unique_ptr<int> p = std::move(r).value();
  REQUIRE(p);
  CHECK(*p == 7);
}
