#include <catch2/catch.hpp>

#include <cstdint>

#include "duet/stream/flow_control.hpp"

using namespace duet;

TEST_CASE("a sender starts with the receiver's window and spends one credit per message", "[stream]") {
  send_credit c{3};
  CHECK(c.available() == 3);
  CHECK(c.consume());
  CHECK(c.consume());
  CHECK(c.consume());
  CHECK(!c.can_send());
  CHECK(!c.consume());
  CHECK(c.available() == 0);
}

TEST_CASE("a grant lets a sender without credit go on", "[stream]") {
  send_credit c{1};
  REQUIRE(c.consume());
  REQUIRE(!c.can_send());
  CHECK(c.grant(2));
  CHECK(c.available() == 2);
  CHECK(c.consume());
}

TEST_CASE("a grant of 0 or one that overflows the credit is refused", "[stream]") {
  send_credit c{5};
  CHECK(!c.grant(0));
  CHECK(!c.grant(~std::uint32_t{0}));
  CHECK(c.available() == 5);
  CHECK(c.grant(~std::uint32_t{0} - 5));
  CHECK(c.available() == ~std::uint32_t{0});
}

TEST_CASE("a receiver refuses a message beyond the credit it gave", "[stream]") {
  receive_credit r{2};
  CHECK(r.receive());
  CHECK(r.receive());
  CHECK(!r.receive());
  CHECK(r.buffered() == 2);
  CHECK(r.outstanding() == 0);
}

TEST_CASE("a receiver grants once half its window has been consumed", "[stream]") {
  receive_credit r{8};
  CHECK(r.grant_threshold() == 4);
  for (int i = 0; i < 8; ++i) REQUIRE(r.receive());
  for (int i = 0; i < 3; ++i) {
    r.consume();
    CHECK(r.take_grant() == 0);
  }
  r.consume();
  CHECK(r.take_grant() == 4);
  CHECK(r.outstanding() == 4);
  CHECK(r.buffered() == 4);
  CHECK(r.take_grant() == 0);  // nothing consumed since
}

TEST_CASE("a window of 1 grants after every message, and 0 is taken as 1", "[stream]") {
  receive_credit r{0};
  CHECK(r.window() == 1);
  for (int i = 0; i < 5; ++i) {
    REQUIRE(r.receive());
    CHECK(!r.receive());
    r.consume();
    CHECK(r.take_grant() == 1);
  }
}

TEST_CASE("sender and receiver agree: the receiver never holds more than its window", "[stream]") {
  // A slow consumer: the producer sends whenever it has credit, the
  // consumer takes one message every third step.
  constexpr std::uint32_t window = 7;
  send_credit sender{window};
  receive_credit receiver{window};
  std::uint32_t in_flight_grants = 0;
  std::uint64_t delivered = 0;
  for (int step = 0; step < 10000; ++step) {
    while (sender.consume()) REQUIRE(receiver.receive());
    REQUIRE(receiver.buffered() <= window);
    if (step % 3 == 0 && receiver.buffered() > 0) {
      receiver.consume();
      ++delivered;
      in_flight_grants += receiver.take_grant();
    }
    if (in_flight_grants != 0) {
      REQUIRE(sender.grant(in_flight_grants));
      in_flight_grants = 0;
    }
  }
  CHECK(delivered > 3000);
}
