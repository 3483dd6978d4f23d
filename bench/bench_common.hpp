// Shared by duet's benchmark binaries (duet_bench_server, duet_bench_client):
// the command line of the peer benchmark kit, request payloads, latency
// statistics, the JSON result line and allocation counting.
//
// This header REPLACES the global operator new/delete, so it must be included
// by exactly one translation unit of each program (each benchmark binary is a
// single source file).
#pragma once

#include <duet/duet.hpp>

#include "command_line.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace duet_bench {

// ---------------------------------------------------------------------------
// The methods: the response is the request's bytes.
//
// Any payload size: "bench.echo". The two sides declare it with types of the
// same wire form, as a user moving large payloads would: the server reads the
// request where it arrived and answers from there (views, no copy of its own
// beyond encoding the response); the client sends from its own buffer and
// receives an owning vector.
using bytes_view = std::span<const std::byte>;
inline constexpr duet::method<"bench.echo", bytes_view(bytes_view)> echo_in_place;  // the server's
inline constexpr duet::method<"bench.echo", std::vector<std::byte>(bytes_view)> echo;  // the client's

// The kit's 16-byte payload: a fixed-size type, which owns no heap memory, so
// a call allocates nothing at all in steady state.
inline constexpr std::size_t small_payload = 16;
using small_bytes = std::array<std::byte, small_payload>;
inline constexpr duet::method<"bench.echo16", small_bytes(small_bytes)> echo16;

// ---------------------------------------------------------------------------
// Allocation counting: every operator new (any form) bumps one counter.

inline std::atomic<std::uint64_t> g_allocations{0};

[[nodiscard]] inline std::uint64_t allocations() noexcept { return g_allocations.load(std::memory_order_relaxed); }

}  // namespace duet_bench

// Replacements of the global allocation functions (never inline: [replacement.functions]).
// Relaxed atomic increments: the server's library threads may allocate too.
// All are noinline: inlined into a caller, g++ 12 pairs the malloc() and free()
// it sees with new and delete expressions and warns (-Wmismatched-new-delete).
[[gnu::noinline]] void* operator new(std::size_t size) {
  duet_bench::g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (size == 0) size = 1;
  if (void* p = std::malloc(size)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void* operator new[](std::size_t size) { return ::operator new(size); }
[[gnu::noinline]] void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  duet_bench::g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(size == 0 ? 1 : size);
}
[[gnu::noinline]] void* operator new[](std::size_t size, const std::nothrow_t& tag) noexcept { return ::operator new(size, tag); }
[[gnu::noinline]] void* operator new(std::size_t size, std::align_val_t align) {
  duet_bench::g_allocations.fetch_add(1, std::memory_order_relaxed);
  const auto a = static_cast<std::size_t>(align);
  // aligned_alloc wants a size that is a multiple of the alignment.
  const std::size_t rounded = (size + a - 1) / a * a;
  if (void* p = std::aligned_alloc(a, rounded == 0 ? a : rounded)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void* operator new[](std::size_t size, std::align_val_t align) { return ::operator new(size, align); }
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

namespace duet_bench {

// ---------------------------------------------------------------------------
// Command line: `--port P` for both; the client also takes --connections,
// --inflight, --calls and --payload, or --stream-messages (the stream mode,
// which takes neither --inflight nor --calls). Every flag takes one decimal
// value.

struct options {
  std::uint16_t port = 0;
  std::uint32_t connections = 1;
  std::uint32_t inflight = 1;  // per connection
  std::uint64_t calls = 10000;  // in total, over all connections
  std::size_t payload = 16;  // bytes per request (per message in the stream mode)
  std::uint64_t stream_messages = 0;  // per connection; nonzero: one server stream per connection
};

[[noreturn]] inline void usage(const char* program, bool client) {
  if (client) {
    std::fprintf(stderr,
                 "usage: %s --port P --connections C --inflight N --calls TOTAL --payload BYTES\n"
                 "       %s --port P --stream-messages N --payload BYTES [--connections C]\n",
                 program, program);
  } else {
    std::fprintf(stderr, "usage: %s --port P\n", program);
  }
  std::exit(2);
}

[[nodiscard]] inline options parse_options(int argc, char** argv, bool client) {
  options o;
  bool have_port = false;
  bool unary_flags = false;
  if (argc % 2 == 0) usage(argv[0], client);  // flags come in pairs
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    std::uint64_t v = 0;
    if (!parse_number(argv[i + 1], v)) usage(argv[0], client);
    if (flag == "--port" && v >= 1 && v <= 65535) {
      o.port = static_cast<std::uint16_t>(v);
      have_port = true;
    } else if (client && flag == "--connections" && v >= 1 && v <= 100000) {
      o.connections = static_cast<std::uint32_t>(v);
    } else if (client && flag == "--inflight" && v >= 1 && v <= 1000000) {
      o.inflight = static_cast<std::uint32_t>(v);
      unary_flags = true;
    } else if (client && flag == "--calls" && v >= 1) {
      o.calls = v;
      unary_flags = true;
    } else if (client && flag == "--payload" && v <= (64u << 20)) {
      o.payload = static_cast<std::size_t>(v);
    } else if (client && flag == "--stream-messages" && v >= 1) {
      o.stream_messages = v;
    } else {
      usage(argv[0], client);
    }
  }
  if (!have_port || (o.stream_messages != 0 && unary_flags)) usage(argv[0], client);
  return o;
}

// ---------------------------------------------------------------------------
// Payloads: the same bytes as the kit's peers send (a pattern that depends on
// the calling slot, with the call's sequence number in native byte order over
// the first up-to-8 bytes), so a response routed to the wrong call differs.

inline void fill_pattern(std::vector<std::byte>& payload, std::uint64_t salt) {
  for (std::size_t i = 0; i < payload.size(); ++i) {
    payload[i] = static_cast<std::byte>(static_cast<unsigned char>(i * 31 + salt * 7 + 1));
  }
}

inline void stamp(std::vector<std::byte>& payload, std::uint64_t sequence) {
  std::memcpy(payload.data(), &sequence, std::min(payload.size(), sizeof sequence));
}

// Whether a response equals its request. Not vector's ==: libstdc++ 12 compares
// std::byte elements one at a time, which cost the client ~40 % of its time
// with 64 KiB payloads; memcmp is what the kit's peers use in effect.
[[nodiscard]] inline bool same_bytes(bytes_view a, bytes_view b) noexcept {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

// ---------------------------------------------------------------------------
// Latencies of every timed call, the timed phase's wall time, and the JSON line.

using bench_clock = std::chrono::steady_clock;

class latency_stats {
public:
  explicit latency_stats(std::uint64_t expected) { m_ns.reserve(expected); }

  void start() noexcept { m_start = bench_clock::now(); }
  void stop() noexcept { m_stop = bench_clock::now(); }

  void record(bench_clock::time_point issued, bool ok) {
    m_ns.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(bench_clock::now() - issued).count());
    if (!ok) ++m_mismatches;
  }

  [[nodiscard]] std::uint64_t completed() const noexcept { return m_ns.size(); }
  [[nodiscard]] std::uint64_t mismatches() const noexcept { return m_mismatches; }
  [[nodiscard]] double seconds() const noexcept { return std::chrono::duration<double>(m_stop - m_start).count(); }

  // Nearest-rank percentile in microseconds (q in (0, 1]); sorts on first use.
  [[nodiscard]] double percentile_us(double q) {
    if (m_ns.empty()) return 0;
    if (!m_sorted) {
      std::sort(m_ns.begin(), m_ns.end());
      m_sorted = true;
    }
    const double rank = q * static_cast<double>(m_ns.size());
    auto index = static_cast<std::size_t>(rank);
    if (static_cast<double>(index) < rank) ++index;  // ceil
    index = std::clamp<std::size_t>(index, 1, m_ns.size()) - 1;
    return static_cast<double>(m_ns[index]) / 1000.0;
  }

private:
  std::vector<std::int64_t> m_ns;
  std::uint64_t m_mismatches = 0;
  bool m_sorted = false;
  bench_clock::time_point m_start{};
  bench_clock::time_point m_stop{};
};

// The kit's result line, with duet's allocation count appended.
inline void print_result(const char* peer, const options& o, latency_stats& stats, double allocs_per_call) {
  const double seconds = stats.seconds();
  const double rate = seconds > 0 ? static_cast<double>(stats.completed()) / seconds : 0.0;
  std::printf(
      "{\"peer\":\"%s\",\"connections\":%u,\"inflight\":%u,\"payload\":%zu,\"calls\":%llu,\"seconds\":%.4f,"
      "\"calls_per_s\":%.0f,\"p50_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,\"mismatches\":%llu,"
      "\"allocs_per_call\":%.2f}\n",
      peer, o.connections, o.inflight, o.payload, static_cast<unsigned long long>(stats.completed()), seconds, rate,
      stats.percentile_us(0.5), stats.percentile_us(0.99), stats.percentile_us(0.999),
      static_cast<unsigned long long>(stats.mismatches()), allocs_per_call);
  std::fflush(stdout);
}

}  // namespace duet_bench
