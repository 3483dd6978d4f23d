#pragma once

#include <duet/codec/buffer.hpp>
#include <duet/session/detail/session_core.hpp>
#include <duet/wire/metadata.hpp>

#include <cstdint>
#include <utility>

namespace duet::inline v0::detail {

/// One successful response being written: its header and metadata block
/// are queued, its payload is appended through `payload()`, and then it is
/// either sent (`send`) or abandoned (`abandon`: its value failed to
/// encode). Whichever happens, it happens once: a writer destroyed without
/// either abandons its response, so an exception thrown while encoding
/// never leaves half a frame in the output.
///
/// Move-only, and short-lived: nothing else may be queued on the session
/// while it is open (the frame is built in place, at the end of the output).
class response_writer {
 public:
  /// Begins the response to request `id` on `session`, with the metadata
  /// block of `response_metadata` if it is not null or empty.
  response_writer(session_core& session, std::uint32_t id, const metadata* response_metadata = nullptr)
      : m_session(&session), m_id(id), m_payload(session.begin_response(id, response_metadata)) {}

  response_writer(response_writer&& other) noexcept
      : m_session(std::exchange(other.m_session, nullptr)), m_id(other.m_id), m_payload(other.m_payload) {}
  response_writer(const response_writer&) = delete;
  response_writer& operator=(const response_writer&) = delete;
  response_writer& operator=(response_writer&&) = delete;

  ~response_writer() {
    if (m_session != nullptr) m_session->abandon_response();
  }

  /// Where the payload goes.
  [[nodiscard]] byte_writer& payload() noexcept { return m_payload; }

  /// Queues the response (one larger than the peer accepts is replaced by a
  /// `resource_exhausted` error). Precondition: neither sent nor abandoned.
  void send() { std::exchange(m_session, nullptr)->send_response(m_id); }

  /// Drops the response. Precondition: neither sent nor abandoned.
  void abandon() noexcept { std::exchange(m_session, nullptr)->abandon_response(); }

 private:
  session_core* m_session;  // null once sent or abandoned
  std::uint32_t m_id;
  byte_writer m_payload;
};

}  // namespace duet::inline v0::detail
