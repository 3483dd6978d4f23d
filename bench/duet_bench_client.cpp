// duet's client for the peer benchmark kit (see bench/README.md):
//
//     duet_bench_client --port P --connections C --inflight N --calls TOTAL --payload BYTES
//     duet_bench_client --port P --stream-messages N --payload BYTES [--connections C]
//
// Opens C connections to 127.0.0.1:P, makes one untimed echo call on each, then
// keeps N calls in flight on each connection (N caller coroutines per
// connection, each issuing its next call when the last one completes) until
// TOTAL calls have completed. One thread, one event loop. Prints the kit's JSON
// line plus "allocs_per_call" (operator new calls during the timed phase over
// the calls made); exits nonzero on a mismatch, a failed or a missing call.
//
// With --stream-messages, after the untimed calls it opens one server stream
// per connection asking for N messages of BYTES bytes, checks every message
// (its bytes, so its place in its stream) and prints the kit's stream JSON line
// plus "allocs_per_message"; exits nonzero on a wrong or missing message or a
// stream that ended with an error.
#include "bench_common.hpp"
#include "bench_stream.hpp"

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace duet_bench {

using rpc_client = duet::client<duet::tcp_stream>;

struct run_state {
  options opts;
  latency_stats stats;
  std::uint64_t issued = 0;  // calls handed out to callers (the sequence numbers)
  std::uint64_t failures_reported = 0;
  stream_stats streams{opts.stream_messages * opts.connections};  // the stream mode's
  double allocs_per_message = 0;
};

// Prints why a call failed (the first few failures only).
void report_failure(std::uint64_t& failures, const duet::result<void>& outcome) {
  if (failures++ >= 5) return;
  const std::string why = outcome ? std::string("response differs from request") : outcome.error().to_string();
  std::fprintf(stderr, "duet_bench_client: call failed: %s\n", why.c_str());
}

// One caller: issues call after call on `client` until the total is handed
// out, each awaited in this loop as a user would (no frame per call; on
// success nothing is built but the result).
duet::task<void> caller(run_state& state, rpc_client& client, std::uint64_t slot) {
  std::vector<std::byte> request(state.opts.payload);
  std::vector<std::byte> response;  // the result of each large-payload call
  fill_pattern(request, slot);
  const bool small = request.size() == small_payload;
  while (state.issued < state.opts.calls) {
    const std::uint64_t sequence = state.issued++;
    const auto issued_at = bench_clock::now();
    bool ok = false;
    if (small) {
      // The same bytes as stamp() makes, straight into the argument.
      static_assert(small_payload >= sizeof sequence);
      small_bytes sent;
      std::memcpy(sent.data(), request.data(), small_payload);
      std::memcpy(sent.data(), &sequence, sizeof sequence);
      duet::result<small_bytes> reply = co_await client.try_call(echo16, sent);
      ok = reply && same_bytes(*reply, sent);
      if (!ok) report_failure(state.failures_reported, reply ? duet::result<void>() : duet::result<void>(reply.error()));
    } else {
      // Into the caller's own vector, as a user making call after call would:
      // it keeps its capacity, so results allocate nothing.
      stamp(request, sequence);
      duet::result<void> reply = co_await client.try_call_into(response, echo, bytes_view(request));
      ok = reply && same_bytes(response, request);
      if (!ok) report_failure(state.failures_reported, reply);
    }
    state.stats.record(issued_at, ok);
  }
}

// One stream of the stream mode: reads every message, checking each where it
// arrived, then the stream's end.
duet::task<void> read_stream(run_state& state, const stream_payload& payload, rpc_client& client) {
  const stream_request request{state.opts.stream_messages, state.opts.payload};
  auto stream = co_await client.open(stream_messages, request);
  std::uint64_t sequence = 0;
  while (std::optional<bytes_view> message = co_await stream.next()) {
    state.streams.record(sequence < request.messages && payload.check(*message, sequence));
    ++sequence;
  }
  const duet::result<void> end = co_await stream.finish();
  if (!end) {
    state.streams.fail();
    if (state.failures_reported++ < 5) {
      std::fprintf(stderr, "duet_bench_client: a stream failed: %s\n", end.error().to_string().c_str());
    }
  }
}

// The timed phase of the stream mode: one stream per connection, all at once.
duet::task<void> run_streams(run_state& state, std::vector<std::unique_ptr<rpc_client>>& clients) {
  const stream_payload payload(state.opts.payload);
  std::vector<duet::task<void>> readers;
  readers.reserve(clients.size());
  for (auto& c : clients) readers.push_back(read_stream(state, payload, *c));

  // Counted from here: the streams' opening (their state, once each) and every message.
  const std::uint64_t allocs_before = allocations();
  state.streams.start();
  co_await duet::when_all(std::move(readers));
  state.streams.stop();
  const std::uint64_t allocs_after = allocations();
  const std::uint64_t received = state.streams.received();
  state.allocs_per_message =
      received == 0 ? 0.0 : static_cast<double>(allocs_after - allocs_before) / static_cast<double>(received);
}

duet::task<int> run(duet::event_loop& loop, run_state& state, double& allocs_per_call) {
  const options& o = state.opts;
  std::vector<std::unique_ptr<rpc_client>> clients;
  clients.reserve(o.connections);
  for (std::uint32_t i = 0; i < o.connections; ++i) {
    auto stream = co_await duet::tcp_stream::connect(loop, duet::endpoint::loopback_v4(o.port));
    if (!stream) {
      std::fprintf(stderr, "duet_bench_client: connect to 127.0.0.1:%u: %s\n", o.port,
                   stream.error().message().c_str());
      co_return 1;
    }
    clients.push_back(std::make_unique<rpc_client>(loop, std::move(stream).value()));
  }

  // Untimed: one call per connection, so the clock starts on live connections.
  for (auto& c : clients) {
    run_state warm{o, latency_stats(1)};
    warm.opts.calls = 1;
    co_await caller(warm, *c, 0);
    if (warm.stats.completed() != 1 || warm.stats.mismatches() != 0) {
      std::fprintf(stderr, "duet_bench_client: the untimed call failed\n");
      co_return 1;
    }
  }

  if (o.stream_messages != 0) {
    co_await run_streams(state, clients);
    for (auto& c : clients) co_await c->close();
    co_return 0;
  }

  std::vector<duet::task<void>> callers;
  callers.reserve(static_cast<std::size_t>(o.connections) * o.inflight);
  for (std::uint32_t c = 0; c < o.connections; ++c) {
    for (std::uint32_t s = 0; s < o.inflight; ++s) {
      callers.push_back(caller(state, *clients[c], std::uint64_t{c} * o.inflight + s));
    }
  }

  // Counted from here: the timed phase only (each caller's request buffer is
  // made inside it, a fixed cost of C x N allocations spread over every call).
  const std::uint64_t allocs_before = allocations();
  state.stats.start();
  co_await duet::when_all(std::move(callers));
  state.stats.stop();
  const std::uint64_t allocs_after = allocations();
  allocs_per_call = state.stats.completed() == 0
                        ? 0.0
                        : static_cast<double>(allocs_after - allocs_before) / static_cast<double>(state.stats.completed());

  for (auto& c : clients) co_await c->close();
  co_return 0;
}

}  // namespace duet_bench

int main(int argc, char** argv) {
  using namespace duet_bench;
  const options o = parse_options(argc, argv, true);
  run_state state{o, latency_stats(o.stream_messages == 0 ? o.calls : 0)};
  double allocs_per_call = 0;
  int status = 0;
  try {
    duet::event_loop loop;
    status = loop.block_on(run(loop, state, allocs_per_call));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "duet_bench_client: %s\n", e.what());
    return 1;
  }
  if (status != 0) return status;
  if (o.stream_messages != 0) {
    print_stream_result("duet", o, state.streams, state.allocs_per_message);
    return state.streams.mismatches() == 0 && state.streams.received() == state.streams.expected() ? 0 : 1;
  }
  print_result("duet", o, state.stats, allocs_per_call);
  return state.stats.mismatches() == 0 && state.stats.completed() == o.calls ? 0 : 1;
}
