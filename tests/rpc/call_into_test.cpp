// A call may decode its result into storage the caller gives
// (`client::call_into`, `client::try_call_into`) instead of returning a new
// value: a byte vector keeps its capacity, so a caller that makes call after
// call into the same vector allocates nothing for the results.

#define DUET_TEST_ALLOCATION_COUNTER_ELSEWHERE  // rpc/allocation_test.cpp defines the counting operator new
#include "loop/allocation_counter.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <cstddef>
#include <span>
#include <stop_token>
#include <string>
#include <vector>

#include <duet/coro/async_scope.hpp>
#include <duet/coro/when_all.hpp>
#include <duet/rpc/method.hpp>

#include "rpc/rig.hpp"

namespace call_into_test {

namespace {

using bytes_view = std::span<const std::byte>;
constexpr duet::method<"into.echo", bytes_view(bytes_view)> echo_in_place;           // the server's
constexpr duet::method<"into.echo", std::vector<std::byte>(bytes_view)> echo_bytes;  // the client's
constexpr duet::method<"into.word", std::string()> word;
// The same name with a result that the server's answer cannot decode as.
constexpr duet::method<"into.word", std::array<std::byte, 16>()> word_as_block;

std::vector<std::byte> pattern(std::size_t n, unsigned salt) {
  std::vector<std::byte> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::byte>((i * 131 + salt) & 0xff);
  return v;
}

void serve(duet::router& router) {
  router.on(echo_in_place, [](bytes_view payload) { return payload; });
  router.on(word, [] { return std::string("abc"); });
}

}  // namespace

TEST_CASE("a call into the caller's vector decodes the result there and keeps its capacity", "[rpc]") {
  rig r;
  serve(r.router);
  auto client = r.connect();
  const std::vector<std::byte> big = pattern(200'000, 3);
  const std::vector<std::byte> small = pattern(40'000, 9);
  std::vector<std::byte> into;
  std::vector<std::byte> after_big;
  const std::byte* storage_after_big = nullptr;
  const std::byte* storage_after_small = nullptr;
  bool small_ok = false;
  r.run([&]() -> duet::task<void> {
    co_await client.call_into(into, echo_bytes, bytes_view(big));
    after_big = into;
    storage_after_big = into.data();
    duet::result<void> second = co_await client.try_call_into(into, echo_bytes, bytes_view(small));
    small_ok = second.has_value();
    storage_after_small = into.data();
    co_await client.close();
  });
  CHECK(after_big == big);
  CHECK(small_ok);
  CHECK(into == small);
  CHECK(storage_after_small == storage_after_big);  // the smaller result reused the vector's storage
}

TEST_CASE("a failed call into storage yields its status and leaves the storage as it was", "[rpc]") {
  rig r;
  serve(r.router);
  auto client = r.connect();
  int missing_result = 41;
  std::vector<std::byte> kept = pattern(10, 1);
  duet::status_code missing_code = duet::status_code::ok;
  duet::status_code cancelled_code = duet::status_code::ok;
  r.run([&]() -> duet::task<void> {
    duet::result<void> missing = co_await client.try_call_into(missing_result, rig_methods::missing, 1);
    if (!missing) missing_code = missing.error().code();
    duet::call_options options;
    std::stop_source stop;
    stop.request_stop();
    options.stop = stop.get_token();
    duet::result<void> cancelled = co_await client.try_call_into(kept, options, echo_bytes, bytes_view(kept));
    if (!cancelled) cancelled_code = cancelled.error().code();
    co_await client.close();
  });
  CHECK(missing_code == duet::status_code::not_found);
  CHECK(missing_result == 41);
  CHECK(cancelled_code == duet::status_code::cancelled);
  CHECK(kept == pattern(10, 1));
}

TEST_CASE("call_into throws rpc_error when the call fails, and a response that does not decode is internal", "[rpc]") {
  rig r;
  serve(r.router);
  auto client = r.connect();
  int missing_result = 0;
  std::array<std::byte, 16> block{};
  duet::status_code thrown = duet::status_code::ok;
  duet::status_code undecodable = duet::status_code::ok;
  std::string got;
  r.run([&]() -> duet::task<void> {
    try {
      co_await client.call_into(missing_result, rig_methods::missing, 1);
    } catch (const duet::rpc_error& e) {
      thrown = e.status().code();
    }
    duet::result<void> wrong = co_await client.try_call_into(block, word_as_block);
    if (!wrong) undecodable = wrong.error().code();
    co_await client.call_into(got, word);
    co_await client.close();
  });
  CHECK(thrown == duet::status_code::not_found);
  CHECK(undecodable == duet::status_code::internal);
  CHECK(got == "abc");
}

TEST_CASE("a call into storage converts to a task for when_all", "[rpc]") {
  rig r;
  serve(r.router);
  auto client = r.connect();
  std::string first;
  std::string second;
  bool both_ok = false;
  r.run([&]() -> duet::task<void> {
    std::vector<duet::task<duet::result<void>>> calls;
    calls.push_back(client.try_call_into(first, word));
    calls.push_back(client.try_call_into(second, word));
    std::vector<duet::result<void>> outcomes = co_await duet::when_all(std::move(calls));
    both_ok = outcomes.size() == 2 && outcomes[0].has_value() && outcomes[1].has_value();
    co_await client.close();
  });
  CHECK(both_ok);
  CHECK(first == "abc");
  CHECK(second == "abc");
}

TEST_CASE("byte-vector calls into the caller's storage allocate nothing once warmed up", "[rpc]") {
  if (!duet_test::allocation_counter::available) {
    WARN("the sanitizer owns operator new: allocation counting skipped");
    return;
  }
  rig r;
  serve(r.router);
  auto client = r.connect();
  constexpr int callers = 4;
  constexpr int calls = 20;
  std::size_t wrong = 0;
  std::size_t allocations = 1;
  r.run([&]() -> duet::task<void> {
    // Each caller's request and result storage is made before counting.
    // Payloads below the 16 KiB from which requests are sent from the
    // caller's memory: what is counted is the results' storage.
    std::vector<std::vector<std::byte>> requests;
    std::vector<std::vector<std::byte>> results(callers);
    for (int c = 0; c < callers; ++c) requests.push_back(pattern(8000, static_cast<unsigned>(c)));
    auto caller = [&](int c) -> duet::task<void> {
      for (int i = 0; i < calls; ++i) {
        requests[c][0] = static_cast<std::byte>(i);
        duet::result<void> ok = co_await client.try_call_into(results[c], echo_bytes, bytes_view(requests[c]));
        if (!ok || results[c] != requests[c]) ++wrong;
      }
    };
    duet::async_scope scope;
    constexpr int rounds = 8;  // the buffers (the in-memory transport's too) reach their working sizes first
    for (int round = 0; round < rounds; ++round) {
      if (round == rounds - 1) duet_test::allocation_counter::start();
      for (int c = 0; c < callers; ++c) scope.spawn(caller(c));
      co_await scope.join();
      if (round == rounds - 1) allocations = duet_test::allocation_counter::stop();
    }
    co_await client.close();
  });
  CHECK(wrong == 0);
  CHECK(allocations == 0);
}

}  // namespace call_into_test
