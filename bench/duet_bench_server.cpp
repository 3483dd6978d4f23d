// duet's server for the peer benchmark kit (see bench/README.md):
//
//     duet_bench_server --port P
//
// Serves the echo methods and the stream method on 127.0.0.1:P with
// duet::server on one event loop, prints "ready" once it listens, and runs
// until SIGTERM (or SIGINT). Then it prints {"allocs_per_call": X, "calls": N}:
// operator new calls from the first call served on, over the calls served
// after that first one, and exits 0. After streams it adds
// "allocs_per_message": Y, "messages": M: operator new calls from the first
// stream message sent on, over the messages sent after that first one.
#include "bench_common.hpp"
#include "bench_stream.hpp"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <thread>
#include <utility>
#include <vector>

namespace duet_bench {

// Touched on the loop's thread only (the handler and the stop coroutine).
struct server_counts {
  std::uint64_t served = 0;
  std::uint64_t allocs_at_first_call = 0;  // after the first call's handler ran
  std::uint64_t allocs_at_stop = 0;
  std::uint64_t served_at_stop = 0;
  std::uint64_t streamed = 0;  // stream messages sent
  std::uint64_t allocs_at_first_message = 0;  // after the first stream message was queued
  std::uint64_t streamed_at_stop = 0;
};

// Sends the messages a stream request asks for, as fast as the client's
// credit allows, from one buffer.
duet::task<void> send_stream(server_counts& counts, stream_request request, duet::stream_writer<bytes_view>& out) {
  if (request.bytes > (64u << 20)) {
    throw duet::rpc_error(duet::status(duet::status_code::invalid_argument, "messages of at most 64 MiB"));
  }
  std::vector<std::byte> message(static_cast<std::size_t>(request.bytes));
  fill_pattern(message, 0);  // message i is this pattern with i stamped over its first bytes
  const bytes_view view(message);
  for (std::uint64_t i = 0; i < request.messages; ++i) {
    stamp(message, i);
    const bool sent = co_await out.send(view);
    if (!sent) co_return;  // the client cancelled or went away
    if (++counts.streamed == 1) counts.allocs_at_first_message = allocations();
  }
}

}  // namespace duet_bench

int main(int argc, char** argv) {
  using namespace duet_bench;
  const options o = parse_options(argc, argv, false);

  // Blocked before any thread exists, so every thread inherits the mask and
  // only the sigwait() below ever sees these signals.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  if (pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr) != 0) {
    std::fprintf(stderr, "duet_bench_server: pthread_sigmask failed\n");
    return 1;
  }

  server_counts counts;
  duet::event_loop loop;
  duet::router router;
  // Plain handlers: each answers inside the reader, from the request's bytes.
  router.on(echo_in_place, [&counts](bytes_view payload) {
    if (++counts.served == 1) counts.allocs_at_first_call = allocations();
    return payload;
  });
  router.on(echo16, [&counts](const small_bytes& payload) {
    if (++counts.served == 1) counts.allocs_at_first_call = allocations();
    return payload;
  });
  router.on(stream_messages, [&counts](stream_request request, duet::stream_writer<bytes_view>& out) {
    return send_stream(counts, request, out);
  });
  duet::server server(loop, router);

  duet::tcp_listener listener = [&] {
    try {
      return duet::tcp_listener::listen(loop, duet::endpoint::loopback_v4(o.port));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "duet_bench_server: %s\n", e.what());
      std::exit(1);
    }
  }();

  std::atomic<bool> stop_requested{false};
  std::thread signal_waiter([&] {
    int signal_number = 0;
    sigwait(&stop_signals, &signal_number);
    stop_requested.store(true);
    // stop() belongs to the loop's thread: hop there to call it.
    duet::sync_wait([&]() -> duet::task<void> {
      co_await loop.schedule();
      counts.allocs_at_stop = allocations();
      counts.served_at_stop = counts.served;
      counts.streamed_at_stop = counts.streamed;
      server.stop();
    }());
  });

  std::puts("ready");
  std::fflush(stdout);

  try {
    loop.block_on(server.serve(std::move(listener)));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "duet_bench_server: %s\n", e.what());
    std::_Exit(1);  // the signal waiter may be blocked for good: do not join it
  }
  if (!stop_requested.load()) {
    std::fprintf(stderr, "duet_bench_server: serving ended before SIGTERM\n");
    std::_Exit(1);
  }
  signal_waiter.join();

  const std::uint64_t calls = counts.served_at_stop > 1 ? counts.served_at_stop - 1 : 0;
  const double per_call =
      calls == 0 ? 0.0 : static_cast<double>(counts.allocs_at_stop - counts.allocs_at_first_call) / static_cast<double>(calls);
  if (counts.streamed_at_stop == 0) {
    std::printf("{\"allocs_per_call\": %.2f, \"calls\": %llu}\n", per_call, static_cast<unsigned long long>(calls));
  } else {
    const std::uint64_t messages = counts.streamed_at_stop - 1;
    const double per_message =
        messages == 0 ? 0.0
                      : static_cast<double>(counts.allocs_at_stop - counts.allocs_at_first_message) /
                            static_cast<double>(messages);
    std::printf("{\"allocs_per_call\": %.2f, \"calls\": %llu, \"allocs_per_message\": %.2f, \"messages\": %llu}\n",
                per_call, static_cast<unsigned long long>(calls), per_message,
                static_cast<unsigned long long>(messages));
  }
  std::fflush(stdout);
  return 0;
}
