#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>

#include "duet/stream/flow_control.hpp"

using namespace duet;

TEST_CASE("a sender starts with the receiver's window and spends each message's bytes", "[stream]") {
  send_credit c{100};
  CHECK(c.available() == 100);
  CHECK(c.consume(40));
  CHECK(c.consume(40));
  CHECK(c.available() == 20);
  CHECK(c.can_send());
}

TEST_CASE("a sender with any credit left sends one message of any size, then waits", "[stream]") {
  send_credit c{100};
  REQUIRE(c.consume(90));
  CHECK(c.can_send());  // 10 bytes left: enough for a message of any size
  CHECK(c.consume(65560));
  CHECK(c.available() == 10 - 65560);
  CHECK(!c.can_send());
  CHECK(!c.consume(24));  // below zero: nothing changes
  CHECK(c.available() == 10 - 65560);
}

TEST_CASE("a sender at exactly zero credit waits", "[stream]") {
  send_credit c{48};
  REQUIRE(c.consume(24));
  REQUIRE(c.consume(24));
  CHECK(c.available() == 0);
  CHECK(!c.can_send());
  CHECK(!c.consume(24));
}

TEST_CASE("a grant lets a sender without credit go on once it is above zero", "[stream]") {
  send_credit c{10};
  REQUIRE(c.consume(100));  // -90
  CHECK(c.grant(90));
  CHECK(c.available() == 0);
  CHECK(!c.can_send());
  CHECK(c.grant(1));
  CHECK(c.can_send());
}

TEST_CASE("a grant of 0 or one that takes the credit past 2^32 - 1 is refused", "[stream]") {
  send_credit c{5};
  CHECK(!c.grant(0));
  CHECK(!c.grant(~std::uint32_t{0}));
  CHECK(c.available() == 5);
  CHECK(c.grant(~std::uint32_t{0} - 5));
  CHECK(c.available() == ~std::uint32_t{0});
  // Below zero, a grant up to 2^32 - 1 past zero is fine.
  send_credit d{1};
  REQUIRE(d.consume(1001));
  CHECK(d.grant(~std::uint32_t{0}));
  CHECK(d.available() == std::int64_t{~std::uint32_t{0}} - 1000);
}

TEST_CASE("a receiver refuses a message that arrives while the sender's credit is zero or below", "[stream]") {
  receive_credit r{100};
  CHECK(r.receive(60));
  CHECK(r.receive(60));  // 40 left: accepted, and the credit is now -20
  CHECK(r.outstanding() == -20);
  CHECK(!r.receive(24));
  CHECK(r.buffered() == 120);

  receive_credit exact{48};
  CHECK(exact.receive(24));
  CHECK(exact.receive(24));
  CHECK(!exact.receive(24));
}

TEST_CASE("a receiver grants the bytes consumed once half its window has been", "[stream]") {
  receive_credit r{400};
  CHECK(r.grant_threshold() == 200);
  for (int i = 0; i < 10; ++i) REQUIRE(r.receive(40));
  for (int i = 0; i < 4; ++i) {
    r.consume(40);
    CHECK(r.take_grant() == 0);
  }
  r.consume(40);
  CHECK(r.take_grant() == 200);
  CHECK(r.outstanding() == 200);
  CHECK(r.buffered() == 200);
  CHECK(r.take_grant() == 0);  // nothing consumed since
}

TEST_CASE("a message larger than the window still flows, one per grant", "[stream]") {
  // Window 1 KiB, messages of 64 KiB: each goes alone, and its consumption
  // gives back exactly what lets the next one go.
  constexpr std::size_t message = 65536 + 24;
  send_credit sender{1024};
  receive_credit receiver{1024};
  for (int i = 0; i < 5; ++i) {
    REQUIRE(sender.can_send());
    REQUIRE(sender.consume(message));
    REQUIRE(receiver.receive(message));
    CHECK(!sender.can_send());
    receiver.consume(message);
    const std::uint32_t n = receiver.take_grant();
    CHECK(n == message);
    REQUIRE(sender.grant(n));
    CHECK(sender.available() == 1024);
    CHECK(receiver.outstanding() == 1024);
  }
}

TEST_CASE("a window of 1 byte passes one message per grant, and 0 is taken as 1", "[stream]") {
  receive_credit r{0};
  CHECK(r.window() == 1);
  CHECK(r.grant_threshold() == 1);
  for (int i = 0; i < 5; ++i) {
    REQUIRE(r.receive(24));
    CHECK(!r.receive(24));
    r.consume(24);
    CHECK(r.take_grant() == 24);
  }
}

TEST_CASE("sender and receiver agree: the receiver never holds more than its window plus one message",
          "[stream]") {
  // A slow consumer: the producer sends messages of varying sizes whenever
  // it has credit, the consumer takes one message every third step.
  constexpr std::uint32_t window = 1000;
  constexpr std::size_t sizes[] = {24, 130, 24, 700, 56, 1500, 24, 300};
  constexpr std::size_t largest = 1500;
  send_credit sender{window};
  receive_credit receiver{window};
  std::size_t in_queue[64]{};  // sizes of the received messages, oldest first (a ring)
  std::size_t head = 0;
  std::size_t count = 0;
  std::size_t next = 0;
  std::uint32_t in_flight_grants = 0;
  std::uint64_t delivered = 0;
  for (int step = 0; step < 10000; ++step) {
    while (sender.can_send()) {
      const std::size_t n = sizes[next++ % std::size(sizes)];
      REQUIRE(sender.consume(n));
      REQUIRE(receiver.receive(n));
      REQUIRE(count < std::size(in_queue));
      in_queue[(head + count++) % std::size(in_queue)] = n;
    }
    REQUIRE(receiver.buffered() < window + largest);
    if (step % 3 == 0 && count > 0) {
      receiver.consume(in_queue[head]);
      head = (head + 1) % std::size(in_queue);
      --count;
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
