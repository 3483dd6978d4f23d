// A live ticker feed, a server stream: a client asks for one symbol's prices
// and receives a tick every millisecond. One client watches ten ticks, then
// cancels; another asks for five and the server ends the feed after them.
// Server and clients share one loop and talk over TCP on 127.0.0.1. Exits 0
// when every tick arrives in order and each feed ends as it should.
#include <duet/duet.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <optional>
#include <stop_token>
#include <string>

struct query {
  std::string symbol;
  std::uint32_t limit = 0;  // ticks to send; 0: until the client cancels
};

struct tick {
  std::string symbol;
  std::uint64_t seq = 0;
  double price = 0;
};

inline constexpr duet::method<"ticker.feed", duet::stream<tick>(query)> feed;

// What `co_await client.open(feed, q)` yields: the client sends nothing, receives ticks, and the
// feed ends with a status only.
using tick_stream = duet::client_stream_of<decltype(feed)>;

// The price of tick `seq`, made up but the same on both sides, so the client can check it.
double price_at(std::uint64_t seq) { return 100.0 + static_cast<double>((seq * 37) % 11) * 0.25; }

// Reads `want` ticks (all of them when 0), checks each, and returns how many arrived.
duet::task<std::uint64_t> read_ticks(tick_stream& ticks, const std::string& symbol, std::uint64_t want, int& failures) {
  std::uint64_t seen = 0;
  while (want == 0 || seen < want) {
    std::optional<tick> t = co_await ticks.next();
    if (!t) break;  // the feed ended
    if (t->symbol != symbol || t->seq != seen || t->price != price_at(seen)) {
      std::printf("  wrong tick: %s #%llu at %.2f\n", t->symbol.c_str(), static_cast<unsigned long long>(t->seq),
                  t->price);
      ++failures;
    }
    if (seen < 3) std::printf("  %s #%llu  %.2f\n", t->symbol.c_str(), static_cast<unsigned long long>(t->seq), t->price);
    ++seen;
  }
  co_return seen;
}

duet::task<int> watch(duet::event_loop& loop, duet::endpoint where) {
  duet::client client(loop, (co_await duet::tcp_stream::connect(loop, where)).value());
  int failures = 0;

  // An endless feed: watch ten ticks, then cancel.
  const query acme{"ACME", 0};
  tick_stream ticks = co_await client.open(feed, acme);
  std::printf("ACME, until the client cancels:\n");
  const std::uint64_t seen = co_await read_ticks(ticks, acme.symbol, 10, failures);
  ticks.cancel();
  std::printf("  ... %llu ticks, then %s\n", static_cast<unsigned long long>(seen),
              ticks.final_status().to_string().c_str());
  if (seen != 10 || ticks.final_status().code() != duet::status_code::cancelled) ++failures;

  // A feed the server ends: five ticks, then ok.
  const query duet_inc{"DUET", 5};
  tick_stream five = co_await client.open(feed, duet_inc);
  std::printf("DUET, five ticks:\n");
  const std::uint64_t got = co_await read_ticks(five, duet_inc.symbol, 0, failures);
  const duet::result<void> end = co_await five.finish();
  std::printf("  ... %llu ticks, then %s\n", static_cast<unsigned long long>(got),
              end ? "ok" : end.error().to_string().c_str());
  if (got != 5 || !end) ++failures;

  co_await client.close();
  co_return failures;
}

int main() {
  duet::event_loop loop;
  duet::router router;
  router.on(feed, [&loop](duet::call_context& ctx, query q, duet::stream_writer<tick>& out) -> duet::task<void> {
    const std::stop_token stop = ctx.stop_token();  // fires when the client cancels
    tick t{q.symbol, 0, 0};
    for (; q.limit == 0 || t.seq < q.limit; ++t.seq) {
      const bool slept = co_await loop.sleep_for(std::chrono::milliseconds(1), stop);
      if (!slept) co_return;
      t.price = price_at(t.seq);
      const bool sent = co_await out.send(t);  // waits for the client's credit
      if (!sent) co_return;                    // the client cancelled or went away
    }
  });  // returning ends the feed with ok

  duet::server server(loop, router);
  auto listener = duet::tcp_listener::listen(loop, duet::endpoint::loopback_v4(0));
  const duet::endpoint where = listener.local_endpoint();

  const int failures = loop.block_on([&]() -> duet::task<int> {
    duet::async_scope serving;
    serving.spawn(server.serve(std::move(listener)));
    int failed = 1;
    try {
      failed = co_await watch(loop, where);
    } catch (const std::exception& e) {
      std::printf("the client failed: %s\n", e.what());
    }
    server.stop();
    co_await serving.join();
    co_return failed;
  }());
  return failures == 0 ? 0 : 1;
}
