#pragma once

// A transport wrapper for tests that injects the faults real networks
// produce: reads split into tiny pieces, a stream that ends (or breaks)
// after N bytes, writes that fail. Wraps any duet::transport whose
// read_some / write return awaiters (every duet model does).

#include <algorithm>
#include <coroutine>
#include <cstddef>
#include <limits>
#include <optional>
#include <span>
#include <system_error>
#include <utility>

#include <duet/bytes.hpp>
#include <duet/transport/transport.hpp>

namespace duet_test {

struct fault_options {
  /// Largest number of bytes one read delivers (1: one byte at a time).
  std::size_t max_read_chunk = std::numeric_limits<std::size_t>::max();
  /// Bytes delivered in total before the stream "ends"...
  std::optional<std::size_t> read_limit;
  /// ...with this error, or end of stream when empty.
  std::error_code read_limit_error;
  /// Writes fail (without reaching the inner stream) once this many bytes
  /// were written; 0 fails every write.
  std::optional<std::size_t> write_limit;
  std::error_code write_error = std::make_error_code(std::errc::connection_reset);
};

template <duet::transport Inner>
class fault_transport {
public:
  fault_transport(Inner inner, fault_options options) : m_inner(std::move(inner)), m_options(options) {}

  using inner_read = decltype(std::declval<Inner&>().read_some(std::declval<duet::mutable_buffer>()));
  using inner_write = decltype(std::declval<Inner&>().write(std::declval<std::span<const duet::const_buffer>>()));

  class [[nodiscard]] read_awaiter {
  public:
    read_awaiter(fault_transport& parent, duet::mutable_buffer buffer)
        : m_parent(&parent), m_cut(parent.read_exhausted()), m_inner(parent.m_inner.read_some(parent.clip(buffer))) {}

    bool await_ready() {
      if (m_cut) return true;
      return m_inner.await_ready();
    }
    decltype(auto) await_suspend(std::coroutine_handle<> awaiter) { return m_inner.await_suspend(awaiter); }
    duet::io_result await_resume() {
      if (m_cut) return duet::io_result{0, m_parent->m_options.read_limit_error};
      duet::io_result result = m_inner.await_resume();
      m_parent->m_read += result.bytes;
      return result;
    }

  private:
    fault_transport* m_parent;
    bool m_cut;
    inner_read m_inner;
  };

  class [[nodiscard]] write_awaiter {
  public:
    write_awaiter(fault_transport& parent, std::span<const duet::const_buffer> buffers)
        : m_parent(&parent), m_fail(parent.write_exhausted()), m_inner(parent.m_inner.write(buffers)) {}

    bool await_ready() {
      if (m_fail) return true;
      return m_inner.await_ready();
    }
    decltype(auto) await_suspend(std::coroutine_handle<> awaiter) { return m_inner.await_suspend(awaiter); }
    duet::io_result await_resume() {
      if (m_fail) return duet::io_result{0, m_parent->m_options.write_error};
      duet::io_result result = m_inner.await_resume();
      m_parent->m_written += result.bytes;
      return result;
    }

  private:
    fault_transport* m_parent;
    bool m_fail;
    inner_write m_inner;
  };

  read_awaiter read_some(duet::mutable_buffer buffer) { return read_awaiter(*this, buffer); }
  write_awaiter write(std::span<const duet::const_buffer> buffers) { return write_awaiter(*this, buffers); }
  void close() noexcept { m_inner.close(); }

  /// The wrapped stream, e.g. to close it behind the wrapper's back.
  Inner& inner() noexcept { return m_inner; }
  [[nodiscard]] std::size_t bytes_read() const noexcept { return m_read; }
  [[nodiscard]] std::size_t bytes_written() const noexcept { return m_written; }

private:
  bool read_exhausted() const noexcept { return m_options.read_limit && m_read >= *m_options.read_limit; }
  bool write_exhausted() const noexcept { return m_options.write_limit && m_written >= *m_options.write_limit; }

  duet::mutable_buffer clip(duet::mutable_buffer buffer) const noexcept {
    std::size_t size = std::min(buffer.size(), m_options.max_read_chunk);
    if (m_options.read_limit && *m_options.read_limit > m_read) size = std::min(size, *m_options.read_limit - m_read);
    return buffer.first(std::max<std::size_t>(size, std::min<std::size_t>(1, buffer.size())));
  }

  Inner m_inner;
  fault_options m_options;
  std::size_t m_read = 0;
  std::size_t m_written = 0;
};

}  // namespace duet_test
