// Deadlines on both ends: a call's timeout travels with the request as the
// time left (duet-timeout); the handler's context shows it; a request that
// arrives with no time left is not run; a coroutine handler still running
// at its deadline sees its stop token fire. Over TCP.
#include "rig.hpp"
#include "tcp_rig.hpp"

#include <duet/coro/async_event.hpp>
#include <duet/coro/when_all.hpp>
#include <duet/wire/frame.hpp>
#include <duet/wire/metadata.hpp>
#include <duet/wire/native.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <optional>
#include <span>
#include <string>

namespace deadline_test {

using namespace rig_methods;
using namespace std::chrono_literals;

namespace {

struct seen_by_handler {
  int runs = 0;
  bool had_deadline = false;
  bool had_timeout_pair = false;
  duet::duration remaining{};
};

void serve_recording(duet::router& router, seen_by_handler& seen) {
  router.on(add, [&seen](duet::call_context& ctx, int a, int b) {
    ++seen.runs;
    seen.had_deadline = ctx.deadline().has_value();
    seen.had_timeout_pair = ctx.request_metadata().contains("duet-timeout");
    seen.remaining = ctx.remaining();
    return a + b;
  });
}

duet::task<void> deadline_is_visible(tcp_rig& r, seen_by_handler& seen) {
  auto client = co_await r.connect();
  duet::call_options o;
  o.timeout = 500ms;
  const int sum = co_await client.call(o, add, 1, 2);
  CHECK(sum == 3);
  CHECK(seen.had_deadline);
  CHECK_FALSE(seen.had_timeout_pair);  // duet's own pair: shown as the deadline
  CHECK(seen.remaining > 0ms);
  CHECK(seen.remaining <= 500ms);

  const int plain = co_await client.call(add, 3, 4);  // no timeout: no deadline
  CHECK(plain == 7);
  CHECK_FALSE(seen.had_deadline);
  CHECK_FALSE(seen.had_timeout_pair);
  CHECK(seen.remaining == duet::duration::max());
  co_await client.close();
}

duet::task<void> past_deadline_is_not_sent(tcp_rig& r, seen_by_handler& seen) {
  auto client = co_await r.connect();
  duet::call_options o;
  o.deadline = duet::clock::now() - 1ms;
  duet::result<int> late = co_await client.try_call(o, add, 1, 2);
  CHECK(late.code() == duet::status_code::deadline_exceeded);
  const int sum = co_await client.call(add, 5, 6);  // the connection carries on
  CHECK(sum == 11);
  CHECK(seen.runs == 1);  // only the second call ran
  co_await client.close();
}

struct long_handler_state {
  duet::async_event finished;
  bool slept_through = true;
  bool deadline_passed = false;
  bool cancelled = true;
};

duet::task<void> long_call_times_out(tcp_rig& r, long_handler_state& state) {
  auto client = co_await r.connect();
  duet::call_options o;
  o.timeout = 30ms;
  const duet::time_point start = duet::clock::now();
  duet::result<std::string> r1 = co_await client.try_call(o, echo, "slow");
  CHECK(r1.code() == duet::status_code::deadline_exceeded);
  co_await state.finished;  // the handler gave up at its own deadline, not after its 2 s sleep
  CHECK(duet::clock::now() - start < 1s);
  CHECK_FALSE(state.slept_through);
  CHECK(state.deadline_passed);
  CHECK_FALSE(state.cancelled);  // a deadline is not a cancel frame
  co_await client.close();
}

duet::byte_vector hello_frame() {
  duet::byte_vector out;
  duet::encode_hello(out, duet::hello_message{});
  return out;
}

// A request for add(1, 2) carrying duet-timeout `value`.
duet::byte_vector request_with_timeout(std::uint32_t id, std::string_view value) {
  duet::metadata m;
  duet::detail::metadata_access::add_reserved(m, "duet-timeout", std::string(value));
  duet::byte_vector block;
  (void)duet::detail::write_metadata_block(block, {}, &m);
  duet::byte_vector payload;
  duet::byte_writer w(payload);
  duet::encode(w, 1, 2);
  duet::byte_vector out;
  duet::encode_frame(out, duet::frame_header{duet::frame_kind::request, 0, 0, id, add.id, 0, 0}, block, payload);
  return out;
}

// Sends the hello and `requests` on a raw socket; returns the statuses of
// the first `answers` responses.
duet::task<std::vector<duet::status_code>> raw_exchange(tcp_rig& r, const duet::byte_vector& requests, int answers) {
  duet::tcp_stream raw = co_await r.connect_raw();
  duet::byte_vector out = hello_frame();
  out.insert(out.end(), requests.begin(), requests.end());
  const duet::const_buffer piece(out);
  const duet::io_result wrote = co_await raw.write(std::span<const duet::const_buffer>(&piece, 1));
  REQUIRE_FALSE(wrote.error);
  std::vector<duet::status_code> codes;
  duet::frame_decoder decoder;
  bool hello = false;
  for (int reads = 0; reads < 1000 && static_cast<int>(codes.size()) < answers; ++reads) {
    const duet::io_result got = co_await raw.read_some(decoder.prepare(4096));
    REQUIRE_FALSE(got.error);
    REQUIRE(got.bytes > 0);
    decoder.commit(got.bytes);
    for (duet::frame_view f{}; decoder.next(f) == duet::decode_status::frame;) {
      if (!hello) {
        hello = true;
        continue;
      }
      codes.push_back(static_cast<duet::status_code>(f.header.status));
    }
  }
  raw.close();
  co_return codes;
}

duet::task<void> expired_requests_are_refused(tcp_rig& r, seen_by_handler& seen) {
  duet::byte_vector requests = request_with_timeout(1, "0");
  const duet::byte_vector bad = request_with_timeout(2, "soon");
  const duet::byte_vector fine = request_with_timeout(3, "1000000");
  requests.insert(requests.end(), bad.begin(), bad.end());
  requests.insert(requests.end(), fine.begin(), fine.end());
  const std::vector<duet::status_code> codes = co_await raw_exchange(r, requests, 3);
  const std::vector<duet::status_code> expected{duet::status_code::deadline_exceeded,
                                                duet::status_code::invalid_argument, duet::status_code::ok};
  CHECK(codes == expected);
  CHECK(seen.runs == 1);  // only the request with time left ran
}

}  // namespace

TEST_CASE("a handler sees the caller's deadline as the time left, and no deadline without a timeout",
          "[rpc][deadline][socket]") {
  tcp_rig r;
  seen_by_handler seen;
  serve_recording(r.router, seen);
  r.run([&]() -> duet::task<void> { co_await deadline_is_visible(r, seen); });
}

TEST_CASE("a call whose deadline passed before its request could be sent ends without sending it",
          "[rpc][deadline][socket]") {
  tcp_rig r;
  seen_by_handler seen;
  serve_recording(r.router, seen);
  r.run([&]() -> duet::task<void> { co_await past_deadline_is_not_sent(r, seen); });
}

TEST_CASE("a coroutine handler still running at its deadline sees its stop token fire", "[rpc][deadline][socket]") {
  tcp_rig r;
  long_handler_state state;
  r.router.on(echo, [&](duet::call_context& ctx, std::string s) -> duet::task<std::string> {
    state.slept_through = co_await ctx.loop().sleep_for(2s, ctx.stop_token());
    state.deadline_passed = ctx.deadline_passed();
    state.cancelled = ctx.cancelled();
    state.finished.set();
    co_return s;
  });
  r.run([&]() -> duet::task<void> { co_await long_call_times_out(r, state); });
}

TEST_CASE("a coroutine handler that finishes in time never sees its deadline", "[rpc][deadline]") {
  rig r;
  bool passed = true;
  bool stopped = true;
  r.router.on(echo, [&](duet::call_context& ctx, std::string s) -> duet::task<std::string> {
    co_await ctx.loop().schedule();
    passed = ctx.deadline_passed();
    stopped = ctx.stop_token().stop_requested();
    co_return s;
  });
  auto client = r.connect();
  r.run([&]() -> duet::task<void> {
    duet::call_options o;
    o.timeout = 10s;
    const std::string back = co_await client.call(o, echo, "quick");
    CHECK(back == "quick");
    co_await client.close();
  });
  CHECK_FALSE(passed);
  CHECK_FALSE(stopped);
}

TEST_CASE("a request that arrives with no time left is answered deadline_exceeded without running its handler",
          "[rpc][deadline][bad-input][socket]") {
  tcp_rig r;
  seen_by_handler seen;
  serve_recording(r.router, seen);
  r.run([&]() -> duet::task<void> { co_await expired_requests_are_refused(r, seen); });
}

}  // namespace deadline_test
