// next_into(v): each message decoded into the consumer's own value, which
// keeps its capacity from message to message, on both sides of a stream.

#define DUET_TEST_ALLOCATION_COUNTER_ELSEWHERE  // stream/allocation_test.cpp defines the counting operator new
#include "loop/allocation_counter.hpp"

#include "rpc/rig.hpp"

#include <duet/duet.hpp>

#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

namespace next_into_test {

/// Sends `count` words of 4,096 characters, word i made of the letter
/// 'a' + i % 26 (longer than any short-string buffer).
inline constexpr duet::method<"into.words", duet::stream<std::string>(std::uint32_t)> words;
/// Counts the caller's words and the characters in them (as count * 1000 + characters / count).
inline constexpr duet::method<"into.count", std::uint64_t(duet::stream<std::string>)> count_words;

constexpr std::size_t word_size = 4096;

std::string word(std::uint32_t i) { return std::string(word_size, static_cast<char>('a' + i % 26)); }

/// Whether `w` is word i (without making one: the check allocates nothing).
bool is_word(const std::string& w, std::uint32_t i) {
  return w.size() == word_size && w.find_first_not_of(static_cast<char>('a' + i % 26)) == std::string::npos;
}

void serve(duet::router& router) {
  router.on(words, [](std::uint32_t count, duet::stream_writer<std::string>& out) -> duet::task<void> {
    std::string w(word_size, 'a');
    for (std::uint32_t i = 0; i < count; ++i) {
      w.assign(word_size, static_cast<char>('a' + i % 26));
      const bool sent = co_await out.send(w);
      if (!sent) co_return;
    }
  });
  router.on(count_words, [](duet::stream_reader<std::string>& in) -> duet::task<std::uint64_t> {
    std::string w;
    std::uint64_t n = 0;
    std::uint64_t characters = 0;
    for (;;) {
      const bool got = co_await in.next_into(w);
      if (!got) break;
      ++n;
      characters += w.size();
    }
    co_return n * 1000 + (n == 0 ? 0 : characters / n);
  });
}

}  // namespace next_into_test

using namespace next_into_test;

TEST_CASE("next_into decodes every message of a stream into the caller's value, in order, then yields false",
          "[stream]") {
  rig r;
  serve(r.router);
  r.run([&]() -> duet::task<void> {
    auto client = r.connect();
    constexpr std::uint32_t count = 2000;
    auto s = co_await client.open(words, count);
    std::string w;
    std::uint32_t received = 0;
    std::uint32_t wrong = 0;
    std::size_t allocations = 0;
    for (;;) {
      // Counted once warmed up: the first message gives `w` its capacity,
      // and the stream's queue has grown its slots for what the producer may
      // send ahead (the window: about 250 such messages).
      if (received == count / 2) duet_test::allocation_counter::start();
      const bool got = co_await s.next_into(w);
      if (!got) break;
      if (!is_word(w, received)) ++wrong;
      ++received;
    }
    allocations = duet_test::allocation_counter::stop();
    CHECK(received == count);
    CHECK(wrong == 0);
    if (duet_test::allocation_counter::available) CHECK(allocations == 0);
    const bool again = co_await s.next_into(w);  // the end stays the end
    CHECK_FALSE(again);
    duet::result<void> end = co_await s.finish();
    CHECK(end.has_value());
    co_await client.close();
  });
}

TEST_CASE("a handler's next_into reads each message of a client stream into one value", "[stream]") {
  rig r;
  serve(r.router);
  r.run([&]() -> duet::task<void> {
    auto client = r.connect();
    auto s = co_await client.open(count_words);
    for (std::uint32_t i = 0; i < 300; ++i) {
      const std::string w = word(i);
      const bool sent = co_await s.send(w);
      if (!sent) break;
    }
    duet::result<std::uint64_t> counted = co_await s.finish();
    REQUIRE(counted.has_value());
    CHECK(*counted == 300 * 1000 + word_size);
    co_await client.close();
  });
}
