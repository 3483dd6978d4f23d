// duet_bench_memory: what an idle connection and an in-flight call cost in
// resident memory (issue 3, part 6), on both sides of a TCP connection over
// loopback.
//
//     duet_bench_memory [--connections N] [--inflight N] [--only idle|inflight]
//                       [--timeout SECONDS] [--verbose 0|1]
//
// Prints one JSON line per measurement on stdout:
//
//     {"idle_connections":N,"server_bytes_per_idle_connection":X,"client_bytes_per_idle_connection":Y}
//     {"inflight_calls":N,"client_bytes_per_inflight_call":X,"server_bytes_per_inflight_call":Y}
//
// Method (see bench/README.md): each measurement runs in a fresh pair of
// processes, a client process and a server process it forks (each may hold
// up to the hard descriptor limit, raised to with setrlimit). After a warm-up
// the client reads both processes' VmRSS (/proc/<pid>/status) as a baseline,
// sets up the N connections or starts the N calls, waits until the server
// has them all and both sides are quiet, reads VmRSS again and divides the
// growth by N. A watchdog (alarm) ends a run that takes longer than the
// timeout; exit status 1 on any failure.
//
// With --verbose 1, stderr also gets the heap side of each measurement:
// bytes and allocations through the global operator new (replaced here to
// count) and malloc's bytes in use, per connection or call, on both sides.
#include "command_line.hpp"

#include <duet/coro/task.hpp>
#include <duet/loop/event_loop.hpp>
#include <duet/rpc/client.hpp>
#include <duet/rpc/method.hpp>
#include <duet/rpc/router.hpp>
#include <duet/rpc/server.hpp>
#include <duet/transport/tcp.hpp>

#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// ---------------------------------------------------------------------------
// Heap accounting: every operator new counts its call and requested bytes.
// Only for the --verbose breakdown; the JSON figures come from VmRSS.

namespace duet_memory {
inline std::atomic<std::uint64_t> g_new_calls{0};
inline std::atomic<std::uint64_t> g_new_bytes{0};

inline void* counted_malloc(std::size_t size) {
  g_new_calls.fetch_add(1, std::memory_order_relaxed);
  g_new_bytes.fetch_add(size, std::memory_order_relaxed);
  return std::malloc(size == 0 ? 1 : size);
}
}  // namespace duet_memory

// Never inline ([replacement.functions]; and g++ 12 would pair the inlined
// malloc and free with new and delete expressions and warn).
[[gnu::noinline]] void* operator new(std::size_t size) {
  if (void* p = duet_memory::counted_malloc(size)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void* operator new[](std::size_t size) {
  return ::operator new(size);
}
[[gnu::noinline]] void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  return duet_memory::counted_malloc(size);
}
[[gnu::noinline]] void* operator new[](std::size_t size, const std::nothrow_t& tag) noexcept {
  return ::operator new(size, tag);
}
[[gnu::noinline]] void* operator new(std::size_t size, std::align_val_t align) {
  duet_memory::g_new_calls.fetch_add(1, std::memory_order_relaxed);
  duet_memory::g_new_bytes.fetch_add(size, std::memory_order_relaxed);
  const auto a = static_cast<std::size_t>(align);
  const std::size_t rounded = (size + a - 1) / a * a;  // aligned_alloc wants a multiple
  if (void* p = std::aligned_alloc(a, rounded == 0 ? a : rounded)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void* operator new[](std::size_t size, std::align_val_t align) {
  return ::operator new(size, align);
}
[[gnu::noinline]] void operator delete(void* p) noexcept {
  std::free(p);
}
[[gnu::noinline]] void operator delete[](void* p) noexcept {
  std::free(p);
}
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
[[gnu::noinline]] void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
[[gnu::noinline]] void operator delete(void* p, std::align_val_t) noexcept {
  std::free(p);
}
[[gnu::noinline]] void operator delete[](void* p, std::align_val_t) noexcept {
  std::free(p);
}
[[gnu::noinline]] void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}
[[gnu::noinline]] void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}

namespace duet_memory {

// ---------------------------------------------------------------------------
// The methods. The payload is a fixed-size 16-byte value (no heap of its own).

using payload = std::array<std::byte, 16>;

/// The server's view of itself, asked for over the control connection.
struct server_stats {
  std::uint64_t held = 0;         // hold calls waiting at the gate
  std::uint64_t connections = 0;  // duet::server::connection_count()
  std::uint64_t new_calls = 0;    // operator new calls so far
  std::uint64_t new_bytes = 0;    // bytes asked of operator new so far
  std::uint64_t heap_in_use = 0;  // malloc's bytes in use (mallinfo2)
};

inline constexpr duet::method<"memory.echo", payload(payload)> echo;
inline constexpr duet::method<"memory.hold", payload(payload)> hold;  // answers once released
inline constexpr duet::method<"memory.release", std::uint64_t()> release;
inline constexpr duet::method<"memory.stats", server_stats()> stats;

// ---------------------------------------------------------------------------
// Options.

struct options {
  std::uint32_t connections = 10000;
  std::uint32_t inflight = 10000;
  bool idle = true;
  bool in_flight = true;
  unsigned timeout_s = 120;
  bool verbose = false;
};

[[noreturn]] inline void usage(const char* program) {
  std::fprintf(stderr,
               "usage: %s [--connections N] [--inflight N] [--only idle|inflight] [--timeout SECONDS] "
               "[--verbose 0|1]\n",
               program);
  std::exit(2);
}

inline options parse_options(int argc, char** argv) {
  options o;
  if (argc % 2 == 0) usage(argv[0]);
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    const std::string_view value = argv[i + 1];
    std::uint64_t v = 0;
    if (flag == "--only") {
      if (value == "idle") {
        o.in_flight = false;
      } else if (value == "inflight") {
        o.idle = false;
      } else {
        usage(argv[0]);
      }
    } else if (!duet_bench::parse_number(value, v)) {
      usage(argv[0]);
    } else if (flag == "--connections" && v >= 1 && v <= 1000000) {
      o.connections = static_cast<std::uint32_t>(v);
    } else if (flag == "--inflight" && v >= 1 && v <= (1u << 20)) {
      o.inflight = static_cast<std::uint32_t>(v);
    } else if (flag == "--timeout" && v >= 1 && v <= 3600) {
      o.timeout_s = static_cast<unsigned>(v);
    } else if (flag == "--verbose" && v <= 1) {
      o.verbose = v == 1;
    } else {
      usage(argv[0]);
    }
  }
  return o;
}

// ---------------------------------------------------------------------------
// Process helpers.

/// One process's resident set, from /proc/<pid>/status (kB): VmRSS, and its
/// anonymous part (heap, stacks) RssAnon.
struct rss_kb {
  long total = -1;
  long anon = -1;
};

inline rss_kb read_rss(pid_t pid) {
  std::ifstream in(pid == 0 ? std::string("/proc/self/status") : "/proc/" + std::to_string(pid) + "/status");
  rss_kb r;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) r.total = std::strtol(line.c_str() + 6, nullptr, 10);
    if (line.rfind("RssAnon:", 0) == 0) r.anon = std::strtol(line.c_str() + 8, nullptr, 10);
  }
  return r;
}

inline std::uint64_t heap_in_use() noexcept {
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;  // small chunks in use + mmapped chunks
}

/// A machine-wide counter in kB (pages for /proc/net/sockstat's TCP "mem"):
/// kernel memory no process's RSS shows. Other processes move it too.
inline long machine_kb(const char* file, const char* section, const char* key) {
  std::ifstream in(file);
  std::string word;
  bool in_section = section == nullptr;
  while (in >> word) {
    if (section != nullptr && word == section) in_section = true;
    if (in_section && word == key) {
      long value = -1;
      in >> value;
      return value;
    }
  }
  return -1;
}

[[noreturn]] inline void fail(const char* what) {
  std::fprintf(stderr, "duet_bench_memory: %s\n", what);
  std::fflush(stderr);
  std::_Exit(1);
}

extern "C" inline void on_watchdog(int) {
  static constexpr char message[] = "duet_bench_memory: timed out (watchdog); see --timeout\n";
  (void)!::write(2, message, sizeof message - 1);
  std::_Exit(3);
}

/// Ends this process after `seconds` whatever it is doing, and when its parent dies.
inline void arm_watchdog(unsigned seconds) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  struct sigaction sa {};
  sa.sa_handler = &on_watchdog;
  ::sigaction(SIGALRM, &sa, nullptr);
  ::alarm(seconds);
}

/// Raises the soft descriptor limit to the hard one; returns the new limit.
inline rlim_t raise_fd_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  limit.rlim_cur = limit.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  return limit.rlim_cur;
}

// ---------------------------------------------------------------------------
// The server process.

/// Where hold handlers wait: an intrusive list of waiters living in the
/// handlers' own frames, so waiting costs no allocation of its own.
/// `open_once` resumes every waiter (through the loop) and the gate stays
/// closed for later arrivals.
class gate {
public:
  explicit gate(duet::event_loop& loop) : m_loop(loop) {}

  struct waiter {
    gate& self;
    std::coroutine_handle<> handle{};
    waiter* next = nullptr;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) noexcept {
      handle = h;
      next = self.m_head;
      self.m_head = this;
      ++self.m_waiting;
    }
    void await_resume() const noexcept {}
  };

  [[nodiscard]] waiter wait() noexcept { return waiter{*this}; }

  /// Resumes every current waiter in a later loop turn; returns how many.
  std::uint64_t open_once() {
    const std::uint64_t n = m_waiting;
    for (waiter* w = std::exchange(m_head, nullptr); w != nullptr;) {
      waiter* next = w->next;  // read first: the resumed frame may be gone by the time we look
      m_loop.post(w->handle);
      w = next;
    }
    m_waiting = 0;
    return n;
  }

  [[nodiscard]] std::uint64_t waiting() const noexcept { return m_waiting; }

private:
  duet::event_loop& m_loop;
  waiter* m_head = nullptr;
  std::uint64_t m_waiting = 0;
};

[[noreturn]] inline void run_server(int port_pipe, const options& o) {
  arm_watchdog(o.timeout_s);
  try {
    duet::event_loop loop;
    duet::router router;
    gate g(loop);
    duet::server_options server_options;
    server_options.max_connections = std::size_t{o.connections} + 64;
    server_options.session.max_in_flight = std::max<std::uint32_t>(o.inflight + 64, 16384);
    duet::server server(loop, router, server_options);

    router.on(echo, [](payload p) { return p; });
    router.on(hold, [&g](payload p) -> duet::task<payload> {
      co_await g.wait();
      co_return p;
    });
    router.on(release, [&g] { return g.open_once(); });
    router.on(stats, [&] {
      return server_stats{g.waiting(), server.connection_count(), g_new_calls.load(), g_new_bytes.load(),
                          heap_in_use()};
    });

    auto listener = duet::tcp_listener::listen(loop, duet::endpoint::loopback_v4(0), 4096);
    const std::uint16_t port = listener.local_endpoint().port();
    if (::write(port_pipe, &port, sizeof port) != sizeof port) fail("server: cannot report its port");
    ::close(port_pipe);
    // Serves until the client process ends it with SIGTERM (or dies: PDEATHSIG).
    loop.block_on(server.serve(std::move(listener)));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "duet_bench_memory: server: %s\n", e.what());
  }
  std::_Exit(1);
}

/// Forks the server process; returns its pid and port.
inline std::pair<pid_t, std::uint16_t> start_server(const options& o) {
  int fds[2];
  if (::pipe(fds) != 0) fail("pipe failed");
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) fail("fork failed");
  if (pid == 0) {
    ::close(fds[0]);
    run_server(fds[1], o);
  }
  ::close(fds[1]);
  pollfd p{fds[0], POLLIN, 0};
  std::uint16_t port = 0;
  if (::poll(&p, 1, 10000) != 1 || ::read(fds[0], &port, sizeof port) != sizeof port) {
    fail("the server process did not start");
  }
  ::close(fds[0]);
  return {pid, port};
}

inline void stop_server(pid_t pid) {
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
}

// ---------------------------------------------------------------------------
// The client process.

using rpc_client = duet::client<duet::tcp_stream>;

/// A started, detached coroutine that frees its own frame when done: the
/// smallest caller that keeps one call in flight.
struct detached {
  struct promise_type {
    detached get_return_object() noexcept { return {}; }
    std::suspend_never initial_suspend() const noexcept { return {}; }
    std::suspend_never final_suspend() const noexcept { return {}; }
    void return_void() const noexcept {}
    [[noreturn]] void unhandled_exception() const noexcept { std::terminate(); }
  };
};

struct phase_context {
  duet::event_loop& loop;
  const options& opts;
  pid_t server_pid;
  duet::endpoint where;
  rpc_client* control = nullptr;
};

/// A snapshot of both processes once they are quiet.
struct snapshot {
  rss_kb client;
  rss_kb server;
  server_stats server_heap;
  std::uint64_t client_new_calls = 0;
  std::uint64_t client_new_bytes = 0;
  std::uint64_t client_heap = 0;
  long tcp_buffer_pages = 0;  // socket buffers (machine-wide)
  long slab_kb = 0;           // kernel slab: socket, file, epoll structures (machine-wide)
};

/// Waits until both resident sets stop moving (three equal readings 20 ms
/// apart, at most 2 s), then takes a snapshot. A stats call first makes sure
/// the server has handled everything sent before.
duet::task<snapshot> quiet_snapshot(phase_context& ctx) {
  snapshot s;
  s.server_heap = co_await ctx.control->call(stats);
  long last_client = -1;
  long last_server = -1;
  int same = 0;
  for (int i = 0; i < 100 && same < 3; ++i) {
    (void)co_await ctx.loop.sleep_for(std::chrono::milliseconds(20));
    const rss_kb c = read_rss(0);
    const rss_kb sv = read_rss(ctx.server_pid);
    same = c.total == last_client && sv.total == last_server ? same + 1 : 0;
    last_client = c.total;
    last_server = sv.total;
  }
  s.server_heap = co_await ctx.control->call(stats);
  s.client = read_rss(0);
  s.server = read_rss(ctx.server_pid);
  s.client_new_calls = g_new_calls.load();
  s.client_new_bytes = g_new_bytes.load();
  s.client_heap = heap_in_use();
  s.tcp_buffer_pages = machine_kb("/proc/net/sockstat", "TCP:", "mem");
  s.slab_kb = machine_kb("/proc/meminfo", nullptr, "Slab:");
  co_return s;
}

inline double per(long kb_after, long kb_before, std::uint64_t n) {
  return static_cast<double>(kb_after - kb_before) * 1024.0 / static_cast<double>(n);
}
inline double per(std::uint64_t after, std::uint64_t before, std::uint64_t n) {
  return (static_cast<double>(after) - static_cast<double>(before)) / static_cast<double>(n);
}

inline void print_breakdown(const char* what, const snapshot& a, const snapshot& b, std::uint64_t n) {
  std::fprintf(stderr,
               "duet_bench_memory: per %s (N=%llu):\n"
               "  client: VmRSS %+.0f B (RssAnon %+.0f B); operator new %.2f calls, %.0f B; malloc in use %+.0f B\n"
               "  server: VmRSS %+.0f B (RssAnon %+.0f B); operator new %.2f calls, %.0f B; malloc in use %+.0f B\n"
               "  kernel, machine-wide (other processes too): TCP buffers %+.0f B, slab %+.0f B\n"
               "  VmRSS kB before/after: client %ld/%ld, server %ld/%ld\n",
               what, static_cast<unsigned long long>(n), per(b.client.total, a.client.total, n),
               per(b.client.anon, a.client.anon, n), per(b.client_new_calls, a.client_new_calls, n),
               per(b.client_new_bytes, a.client_new_bytes, n), per(b.client_heap, a.client_heap, n),
               per(b.server.total, a.server.total, n), per(b.server.anon, a.server.anon, n),
               per(b.server_heap.new_calls, a.server_heap.new_calls, n),
               per(b.server_heap.new_bytes, a.server_heap.new_bytes, n),
               per(b.server_heap.heap_in_use, a.server_heap.heap_in_use, n),
               per(b.tcp_buffer_pages * 4, a.tcp_buffer_pages * 4, n), per(b.slab_kb, a.slab_kb, n), a.client.total,
               b.client.total, a.server.total, b.server.total);
}

/// Connects one client and completes one call on it.
duet::task<std::unique_ptr<rpc_client>> open_connection(phase_context& ctx, const duet::session_options& session) {
  auto stream = co_await duet::tcp_stream::connect(ctx.loop, ctx.where, std::chrono::seconds(10));
  if (!stream) {
    std::fprintf(stderr, "duet_bench_memory: connect: %s\n", stream.error().message().c_str());
    co_return nullptr;
  }
  // Closing with a reset leaves no TIME_WAIT behind: 10,000 of them would
  // eat into the ephemeral ports of later runs.
  const linger abortive{1, 0};
  ::setsockopt(stream->native_handle(), SOL_SOCKET, SO_LINGER, &abortive, sizeof abortive);
  auto c = std::make_unique<rpc_client>(ctx.loop, std::move(stream).value(), session);
  payload p{};
  p[0] = std::byte{42};
  const duet::result<payload> r = co_await c->try_call(echo, p);
  if (!r || *r != p) {
    std::fprintf(stderr, "duet_bench_memory: the first call on a connection failed: %s\n",
                 r ? "wrong answer" : r.error().to_string().c_str());
    co_return nullptr;
  }
  co_return c;
}

duet::task<bool> close_all(std::vector<std::unique_ptr<rpc_client>>& clients) {
  for (auto& c : clients) {
    if (c) co_await c->close();
    c.reset();
  }
  co_return true;
}

/// (a) Bytes per idle connection.
duet::task<bool> measure_idle(phase_context& ctx) {
  const std::uint32_t n = ctx.opts.connections;
  const duet::session_options session{};

  // Warm-up: a few connections made, used and closed, so that code, the
  // loops' tables and malloc's arenas are in place before the baseline.
  {
    std::vector<std::unique_ptr<rpc_client>> warm(8);
    for (auto& c : warm) {
      c = co_await open_connection(ctx, session);
      if (!c) co_return false;
    }
    co_await close_all(warm);
  }
  // Sized (and so touched) before the baseline: the benchmark's own table.
  std::vector<std::unique_ptr<rpc_client>> clients(n);

  const snapshot before = co_await quiet_snapshot(ctx);
  for (auto& c : clients) {
    c = co_await open_connection(ctx, session);
    if (!c) co_return false;
  }
  const snapshot after = co_await quiet_snapshot(ctx);
  if (after.server_heap.connections != n + 1) {  // + the control connection
    std::fprintf(stderr, "duet_bench_memory: the server holds %llu connections, expected %u\n",
                 static_cast<unsigned long long>(after.server_heap.connections), n + 1);
    co_return false;
  }
  std::printf(
      "{\"idle_connections\":%u,\"server_bytes_per_idle_connection\":%.0f,"
      "\"client_bytes_per_idle_connection\":%.0f}\n",
      n, per(after.server.total, before.server.total, n), per(after.client.total, before.client.total, n));
  std::fflush(stdout);
  if (ctx.opts.verbose) print_breakdown("idle connection", before, after, n);
  co_await close_all(clients);
  co_return true;
}

struct inflight_state {
  std::uint64_t completed = 0;
  std::uint64_t wrong = 0;
};

inline payload payload_for(std::uint64_t i) {
  payload p{};
  std::memcpy(p.data(), &i, sizeof i);
  p[15] = std::byte{0x5a};
  return p;
}

detached hold_call(rpc_client& client, std::uint64_t i, inflight_state& state) {
  const payload p = payload_for(i);
  const duet::result<payload> r = co_await client.try_call(hold, p);
  if (!r || *r != p) {
    if (state.wrong++ < 5) {
      std::fprintf(stderr, "duet_bench_memory: held call %llu: %s\n", static_cast<unsigned long long>(i),
                   r ? "wrong answer" : r.error().to_string().c_str());
    }
  }
  ++state.completed;
}

/// Polls (every 5 ms, bounded by the watchdog) until `done()`.
template <class Done>
duet::task<bool> wait_until(phase_context& ctx, Done done, std::chrono::seconds limit) {
  const auto give_up = std::chrono::steady_clock::now() + limit;
  while (!(co_await done())) {
    if (std::chrono::steady_clock::now() > give_up) co_return false;
    (void)co_await ctx.loop.sleep_for(std::chrono::milliseconds(5));
  }
  co_return true;
}

/// Starts `n` hold calls on `client`, waits for the server to hold them all,
/// takes `*measured` (if given), releases them and checks every answer.
duet::task<bool> hold_round(phase_context& ctx, rpc_client& client, std::uint32_t n,
                            std::optional<std::pair<snapshot, snapshot>>* measured) {
  inflight_state state;
  std::optional<snapshot> before;
  if (measured != nullptr) before = co_await quiet_snapshot(ctx);
  for (std::uint64_t i = 0; i < n; ++i)
    hold_call(client, i, state);
  const auto limit = std::chrono::seconds(ctx.opts.timeout_s);
  const bool all_held = co_await wait_until(
      ctx, [&]() -> duet::task<bool> { co_return (co_await ctx.control->call(stats)).held >= n; }, limit);
  if (!all_held) {
    std::fprintf(stderr, "duet_bench_memory: the server never held all %u calls\n", n);
    co_return false;
  }
  if (measured != nullptr) *measured = std::pair{*before, co_await quiet_snapshot(ctx)};
  const std::uint64_t released = co_await ctx.control->call(release);
  const bool all_done = co_await wait_until(
      ctx, [&]() -> duet::task<bool> { co_return state.completed == n; }, limit);
  if (released != n || !all_done || state.wrong != 0) {
    std::fprintf(stderr, "duet_bench_memory: released %llu of %u held calls; %llu completed, %llu wrong\n",
                 static_cast<unsigned long long>(released), n, static_cast<unsigned long long>(state.completed),
                 static_cast<unsigned long long>(state.wrong));
    co_return false;
  }
  co_return true;
}

/// (b) Bytes per in-flight call.
duet::task<bool> measure_inflight(phase_context& ctx) {
  const std::uint32_t n = ctx.opts.inflight;
  duet::session_options session{};
  session.max_in_flight = std::max<std::uint32_t>(n + 64, session.max_in_flight);
  std::unique_ptr<rpc_client> client = co_await open_connection(ctx, session);
  if (!client) co_return false;
  // Warm-up: a few held calls, released, so that code and the loops are in place.
  if (!co_await hold_round(ctx, *client, 8, nullptr)) co_return false;

  std::optional<std::pair<snapshot, snapshot>> measured;
  if (!co_await hold_round(ctx, *client, n, &measured)) co_return false;
  const auto& [before, after] = *measured;
  std::printf(
      "{\"inflight_calls\":%u,\"client_bytes_per_inflight_call\":%.0f,"
      "\"server_bytes_per_inflight_call\":%.0f}\n",
      n, per(after.client.total, before.client.total, n), per(after.server.total, before.server.total, n));
  std::fflush(stdout);
  if (ctx.opts.verbose) print_breakdown("in-flight call", before, after, n);
  co_await client->close();
  co_return true;
}

duet::task<bool> run_phase(duet::event_loop& loop, const options& o, pid_t server_pid, std::uint16_t port, bool idle) {
  phase_context ctx{loop, o, server_pid, duet::endpoint::loopback_v4(port)};
  std::unique_ptr<rpc_client> control = co_await open_connection(ctx, {});
  if (!control) co_return false;
  ctx.control = control.get();
  const bool ok = idle ? co_await measure_idle(ctx) : co_await measure_inflight(ctx);
  co_await control->close();
  co_return ok;
}

/// One measurement in a fresh pair of processes (this one forked from main,
/// and the server it forks), so that no memory one measurement freed and
/// kept (malloc's free lists, duet's frame cache) serves the next one.
[[noreturn]] inline void run_client_process(const options& o, bool idle) {
  arm_watchdog(o.timeout_s);
  const auto [server_pid, port] = start_server(o);
  bool ok = false;
  try {
    duet::event_loop loop;
    ok = loop.block_on(run_phase(loop, o, server_pid, port, idle));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "duet_bench_memory: %s\n", e.what());
  }
  stop_server(server_pid);
  std::fflush(nullptr);
  std::_Exit(ok ? 0 : 1);
}

inline bool run_measurement(const options& o, bool idle) {
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) fail("fork failed");
  if (pid == 0) run_client_process(o, idle);
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return false;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace duet_memory

int main(int argc, char** argv) {
  using namespace duet_memory;
  const options o = parse_options(argc, argv);
  // Each process holds one side of every connection, plus a few descriptors
  // of its own (the listener, the loop's epoll and wake-up fds, stdio).
  const rlim_t limit = raise_fd_limit();
  if (o.idle && limit < rlim_t{o.connections} + 64) {
    std::fprintf(stderr, "duet_bench_memory: %u connections need %u descriptors per process; the limit is %llu\n",
                 o.connections, o.connections + 64, static_cast<unsigned long long>(limit));
    return 2;
  }
  // The whole run is bounded too: both measurements, each under its own watchdog.
  ::alarm(2 * o.timeout_s + 10);
  bool ok = true;
  if (o.idle) ok = run_measurement(o, true) && ok;
  if (o.in_flight) ok = run_measurement(o, false) && ok;
  return ok ? 0 : 1;
}
