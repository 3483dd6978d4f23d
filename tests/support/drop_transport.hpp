#pragma once

// A transport wrapper for tests that loses answers the way a faulty network
// path or a crashed middlebox would, without closing the connection: the
// first `drop` response frames written through it never reach the peer.
//
// It parses the frames in each write, so it assumes what a duet session
// does: every write holds whole frames.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <utility>
#include <vector>

#include <duet/bytes.hpp>
#include <duet/transport/transport.hpp>
#include <duet/wire/frame.hpp>

namespace duet_test {

template <duet::transport Inner>
class response_dropping_transport {
public:
  response_dropping_transport(Inner inner, std::size_t drop) : m_inner(std::move(inner)), m_to_drop(drop) {}

  auto read_some(duet::mutable_buffer buffer) { return m_inner.read_some(buffer); }

  auto write(std::span<const duet::const_buffer> buffers) {
    m_pieces.clear();
    for (const duet::const_buffer& b : buffers) keep_all_but_dropped(b);
    return m_inner.write(std::span<const duet::const_buffer>(m_pieces));
  }

  void close() noexcept { m_inner.close(); }

  /// Responses dropped so far.
  [[nodiscard]] std::size_t dropped() const noexcept { return m_dropped; }

private:
  void keep_all_but_dropped(duet::const_buffer b) {
    std::size_t kept_from = 0;
    std::size_t at = 0;
    while (m_to_drop > 0 && b.size() - at >= duet::frame_header_size) {
      duet::frame_header h{};
      if (duet::load_frame_header(b.data() + at, h, std::numeric_limits<std::uint32_t>::max()) !=
          duet::frame_error::none) {
        break;  // not ours to judge: pass the rest on untouched
      }
      const auto size = static_cast<std::size_t>(duet::frame_size(h));
      if (h.kind == duet::frame_kind::response) {
        if (at > kept_from) m_pieces.push_back(b.subspan(kept_from, at - kept_from));
        kept_from = at + size;
        --m_to_drop;
        ++m_dropped;
      }
      at += size;
    }
    if (kept_from < b.size()) m_pieces.push_back(b.subspan(kept_from));
  }

  Inner m_inner;
  std::size_t m_to_drop;
  std::size_t m_dropped = 0;
  std::vector<duet::const_buffer> m_pieces;
};

}  // namespace duet_test
