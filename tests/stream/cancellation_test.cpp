// A stream ends for both sides when either gives up: a cancel, a stop
// token, a deadline, a handler's error, or a connection that vanishes.
#include "stream/stream_rig.hpp"

#include "rpc/rig.hpp"

#include <duet/wire/decoder.hpp>
#include <duet/wire/native.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <stop_token>
#include <string>

using namespace stream_methods;
using namespace std::chrono_literals;

namespace {

inline constexpr duet::method<"stream.refuse", duet::stream<int>(int)> refuse;
inline constexpr duet::method<"stream.picky", int(duet::stream<int>)> picky;

// A client stream's value whose encoding throws something that is not a
// std::exception once part of the response's payload is written.
struct fragile {
  int fail = 0;
};

}  // namespace

template <>
struct duet::codec<fragile> {
  static void encode(byte_writer& w, const fragile& f) {
    duet::encode(w, std::string(64, 'x'));
    if (f.fail != 0) throw 42;
    duet::encode(w, f.fail);
  }
  static bool decode(byte_reader& r, fragile& f) {
    std::string filler;
    return duet::decode(r, filler) && duet::decode(r, f.fail);
  }
};

namespace {

inline constexpr duet::method<"stream.fragile", fragile(duet::stream<int>)> fragile_sum;

// Lets the loop run until `done()` or a bounded number of turns passed.
template <class Done>
duet::task<bool> turns_until(duet::event_loop& loop, Done done) {
  for (int turns = 0; turns < 10000; ++turns) {
    if (done()) co_return true;
    co_await loop.schedule();
  }
  co_return done();
}

}  // namespace

TEST_CASE("a caller's cancel ends the stream here at once and the handler's sends fail", "[stream]") {
  rig r;
  endless_log log;
  serve_stream_methods(r.router, &log);
  r.run([&]() -> duet::task<void> {
    auto client = r.connect();
    auto s = co_await client.open(endless, 0);
    std::optional<std::uint64_t> first = co_await s.next();
    REQUIRE(first.has_value());
    s.cancel();
    CHECK(s.ended());
    CHECK(s.final_status().code() == duet::status_code::cancelled);
    std::optional<std::uint64_t> after = co_await s.next();
    CHECK_FALSE(after.has_value());
    const bool handler_ended = co_await turns_until(r.loop, [&] { return log.ended; });
    CHECK(handler_ended);
    CHECK(log.stop_fired);
    // The connection serves on.
    const int sum = co_await client.call(add, 2, 3);
    CHECK(sum == 5);
    CHECK(client.underlying_session().calls_in_flight() == 0);
    co_await client.close();
  });
}

TEST_CASE("a caller's stop token cancels the stream, and a stream dropped while open is cancelled", "[stream]") {
  rig r;
  endless_log log;
  serve_stream_methods(r.router, &log);
  r.run([&]() -> duet::task<void> {
    auto client = r.connect();
    {
      std::stop_source stop;
      duet::call_options options;
      options.stop = stop.get_token();
      auto s = co_await client.open(options, endless, 0);
      std::optional<std::uint64_t> first = co_await s.next();
      REQUIRE(first.has_value());
      stop.request_stop();
      for (;;) {
        std::optional<std::uint64_t> v = co_await s.next();
        if (!v) break;
      }
      CHECK(s.final_status().code() == duet::status_code::cancelled);
      const bool ended = co_await turns_until(r.loop, [&] { return log.ended; });
      CHECK(ended);
    }
    log = {};
    {
      auto s = co_await client.open(endless, 0);
      std::optional<std::uint64_t> first = co_await s.next();
      REQUIRE(first.has_value());
    }  // dropped while open
    const bool ended = co_await turns_until(r.loop, [&] { return log.ended; });
    CHECK(ended);
    CHECK(log.stop_fired);
    co_await client.close();
  });
}

TEST_CASE("a deadline ends a stream on time at both ends", "[stream]") {
  rig r;
  endless_log log;
  serve_stream_methods(r.router, &log);
  r.run([&]() -> duet::task<void> {
    auto client = r.connect();
    duet::call_options options;
    options.timeout = 50ms;
    const auto start = duet::clock::now();
    auto s = co_await client.open(options, endless, 0);
    // Read slowly enough that the stream outlives its deadline.
    for (;;) {
      std::optional<std::uint64_t> v = co_await s.next();
      if (!v) break;
      co_await r.loop.sleep_for(1ms);
    }
    const auto took = duet::clock::now() - start;
    duet::result<void> end = co_await s.finish();
    REQUIRE_FALSE(end.has_value());
    CHECK(end.error().code() == duet::status_code::deadline_exceeded);
    CHECK(took >= 45ms);
    CHECK(took < 1s);
    const bool ended = co_await turns_until(r.loop, [&] { return log.ended; });
    CHECK(ended);
    CHECK(log.stop_fired);
    co_await client.close();
  });
}

namespace {
duet::task<void> stop_after_a_turn(duet::event_loop& loop, std::stop_source& stop) {
  co_await loop.schedule();
  stop.request_stop();
}
}  // namespace

TEST_CASE("a deadline ends a stream whose peer never sends its hello", "[stream]") {
  rig r;
  r.run([&]() -> duet::task<void> {
    // The far end is a transport nobody reads or writes: no hello comes.
    auto [near_end, far_end] = duet::make_memory_pair(r.loop);
    duet::client<duet::memory_stream> client(r.loop, std::move(near_end));
    duet::call_options options;
    options.timeout = 50ms;
    const auto start = duet::clock::now();
    auto s = co_await client.open(options, count, 3);
    const auto took = duet::clock::now() - start;
    CHECK(s.ended());
    CHECK(s.final_status().code() == duet::status_code::deadline_exceeded);
    CHECK(took >= 45ms);
    CHECK(took < 1s);
    std::optional<std::uint64_t> v = co_await s.next();
    CHECK_FALSE(v.has_value());
    // One without a deadline is still ended by its stop token.
    std::stop_source stop;
    duet::call_options stoppable;
    stoppable.stop = stop.get_token();
    duet::async_scope side;
    side.spawn(stop_after_a_turn(r.loop, stop));
    auto t = co_await client.open(stoppable, count, 3);
    CHECK(t.final_status().code() == duet::status_code::cancelled);
    co_await side.join();
    co_await client.close();
    far_end.close();
  });
}

TEST_CASE("a handler's error ends the stream with its status at the caller", "[stream]") {
  rig r;
  r.router.on(refuse, [](int n, duet::stream_writer<int>& out) -> duet::task<void> {
    for (int i = 0; i < n; ++i) {
      const bool sent = co_await out.send(i);
      if (!sent) co_return;
    }
    throw duet::rpc_error(duet::status(duet::status_code::aborted, "enough"));
  });
  r.router.on(picky, [](duet::stream_reader<int>& in) -> duet::task<duet::result<int>> {
    std::optional<int> first = co_await in.next();
    (void)first;
    co_return duet::status(duet::status_code::failed_precondition, "one is plenty");
  });
  r.run([&]() -> duet::task<void> {
    auto client = r.connect();
    auto s = co_await client.open(refuse, 3);
    int got = 0;
    for (;;) {
      std::optional<int> v = co_await s.next();
      if (!v) break;
      ++got;
    }
    CHECK(got == 3);
    duet::result<void> end = co_await s.finish();
    REQUIRE_FALSE(end.has_value());
    CHECK(end.error().code() == duet::status_code::aborted);
    CHECK(end.error().message() == "enough");

    // The callee ended while the caller still sends: its sends fail.
    auto p = co_await client.open(picky);
    bool refused = false;
    for (int i = 0; i < 1000 && !refused; ++i) {
      const bool sent = co_await p.send(i);
      if (!sent) refused = true;
      co_await r.loop.schedule();
    }
    CHECK(refused);
    duet::result<int> value = co_await p.finish();
    REQUIRE_FALSE(value.has_value());
    CHECK(value.error().code() == duet::status_code::failed_precondition);
    co_await client.close();
  });
}

TEST_CASE("a client stream's value that fails to encode ends the stream internal and the connection goes on",
          "[stream]") {
  rig r;
  r.router.on(fragile_sum, [](duet::stream_reader<int>& in) -> duet::task<fragile> {
    std::optional<int> first = co_await in.next();
    co_return fragile{first.value_or(0)};
  });
  r.run([&]() -> duet::task<void> {
    auto client = r.connect();
    auto s = co_await client.open(fragile_sum);
    const bool sent = co_await s.send(1);
    CHECK(sent);
    duet::result<fragile> odd = co_await s.finish();
    REQUIRE_FALSE(odd.has_value());
    CHECK(odd.error().code() == duet::status_code::internal);
    // Nothing of the abandoned response reached the wire.
    auto t = co_await client.open(fragile_sum);
    const bool sent_again = co_await t.send(0);
    CHECK(sent_again);
    duet::result<fragile> fine = co_await t.finish();
    REQUIRE(fine.has_value());
    CHECK(fine->fail == 0);
    CHECK(client.is_open());
    co_await client.close();
  });
}

TEST_CASE("a vanished peer ends every open stream with unavailable", "[stream]") {
  duet::event_loop loop;
  loop.block_on([&]() -> duet::task<void> {
    auto [near_end, far_end] = duet::make_memory_pair(loop);
    duet::client<duet::memory_stream> client(loop, std::move(near_end));
    // The peer: says hello with streams, reads a little, and goes.
    duet::byte_vector hello;
    duet::encode_hello(hello, duet::hello_message{duet::default_max_frame_size, 100, duet::feature_streams, 16});
    const duet::const_buffer piece(hello);
    const duet::io_result w = co_await far_end.write(std::span<const duet::const_buffer>(&piece, 1));
    REQUIRE_FALSE(w.error);
    auto a = co_await client.open(count, 10);
    auto b = co_await client.open(echo);
    std::byte buffer[256];
    const duet::io_result got = co_await far_end.read_some(buffer);
    CHECK(got.bytes > 0);
    far_end.close();
    std::optional<std::uint64_t> na = co_await a.next();
    std::optional<std::string> nb = co_await b.next();
    CHECK_FALSE(na.has_value());
    CHECK_FALSE(nb.has_value());
    CHECK(a.final_status().code() == duet::status_code::unavailable);
    CHECK(b.final_status().code() == duet::status_code::unavailable);
    co_await client.close();
  }());
}
