// The stream mode of duet's benchmark binaries (see bench/README.md, "Streams"):
// the method, the messages' payloads, and what the client measures and prints.
// Include after bench_common.hpp.
#pragma once

#include "bench_common.hpp"

#include <duet/duet.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace duet_bench {

// ---------------------------------------------------------------------------
// The method: one request (how many messages of how many bytes), then the
// messages. Each side holds a message as a view of its bytes: the server
// sends from its one buffer, the client checks each message where it arrived
// (valid until its next co_await), so neither allocates per message.

struct stream_request {
  std::uint64_t messages = 0;
  std::uint64_t bytes = 0;
};

inline constexpr duet::method<"bench.stream", duet::stream<bytes_view>(stream_request)> stream_messages;

// The payloads of one stream, as the kit's: message i (from 0) is the pattern
// of salt 0 (fill_pattern) with i stamped over its first bytes (stamp).
class stream_payload {
public:
  explicit stream_payload(std::size_t bytes) : m_pattern(bytes) { fill_pattern(m_pattern, 0); }

  // Whether `message` is message `sequence`.
  [[nodiscard]] bool check(bytes_view message, std::uint64_t sequence) const noexcept {
    const std::size_t n = m_pattern.size();
    const std::size_t k = std::min(n, sizeof sequence);
    return message.size() == n && (n == 0 || (std::memcmp(message.data(), &sequence, k) == 0 &&
                                              std::memcmp(message.data() + k, m_pattern.data() + k, n - k) == 0));
  }

private:
  std::vector<std::byte> m_pattern;
};

// ---------------------------------------------------------------------------
// What the client measures: from start() (before the streams open) to the
// first message of any stream and to the last expected one; messages
// received and wrong ones.

class stream_stats {
public:
  explicit stream_stats(std::uint64_t expected) noexcept : m_expected(expected) {}

  void start() noexcept { m_start = bench_clock::now(); }

  // One message arrived; `ok`: its bytes and its place in its stream were right.
  void record(bool ok) noexcept {
    if (m_received == 0) m_first = bench_clock::now();
    if (++m_received == m_expected) m_last = bench_clock::now();
    if (!ok) ++m_mismatches;
  }

  // A stream that ended with an error.
  void fail() noexcept { ++m_mismatches; }

  // Once every stream ended: the clock stops now if messages are missing.
  void stop() noexcept {
    if (m_received != m_expected) m_last = bench_clock::now();
  }

  [[nodiscard]] std::uint64_t received() const noexcept { return m_received; }
  [[nodiscard]] std::uint64_t expected() const noexcept { return m_expected; }
  [[nodiscard]] std::uint64_t mismatches() const noexcept { return m_mismatches; }
  [[nodiscard]] double seconds() const noexcept { return std::chrono::duration<double>(m_last - m_start).count(); }
  [[nodiscard]] double first_message_us() const noexcept {
    return m_received == 0 ? 0.0 : std::chrono::duration<double, std::micro>(m_first - m_start).count();
  }

private:
  std::uint64_t m_expected;
  std::uint64_t m_received = 0;
  std::uint64_t m_mismatches = 0;
  bench_clock::time_point m_start{};
  bench_clock::time_point m_first{};
  bench_clock::time_point m_last{};
};

// The process's peak resident set (VmHWM) in KiB; 0 if unknown.
[[nodiscard]] inline long peak_rss_kb() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return 0;
}

// The kit's stream result line, with duet's allocation count appended.
inline void print_stream_result(const char* peer, const options& o, const stream_stats& stats,
                                double allocs_per_message) {
  const double seconds = stats.seconds();
  const auto received = static_cast<double>(stats.received());
  std::printf(
      "{\"peer\":\"%s\",\"mode\":\"stream\",\"connections\":%u,\"payload\":%zu,\"messages\":%llu,\"seconds\":%.6f,"
      "\"messages_per_s\":%.0f,\"mb_per_s\":%.1f,\"first_message_us\":%.1f,\"mismatches\":%llu,"
      "\"peak_rss_kb\":%ld,\"allocs_per_message\":%.2f}\n",
      peer, o.connections, o.payload, static_cast<unsigned long long>(stats.received()), seconds,
      seconds > 0 ? received / seconds : 0.0, seconds > 0 ? received * static_cast<double>(o.payload) / seconds / 1e6 : 0.0,
      stats.first_message_us(), static_cast<unsigned long long>(stats.mismatches()), peak_rss_kb(),
      allocs_per_message);
  std::fflush(stdout);
}

}  // namespace duet_bench
