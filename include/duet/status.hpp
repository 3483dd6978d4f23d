#pragma once

#include <duet/config.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace duet::inline v0 {

/// How an RPC ended. The numbers are the wire values of the frame header's
/// status field (docs/protocol.md) and never change meaning.
enum class status_code : std::uint16_t {
  ok = 0,
  cancelled = 1,            ///< the caller gave up (stop token), or the peer cancelled
  unknown = 2,              ///< an error with no better code
  invalid_argument = 3,     ///< the request's payload does not decode as the method's arguments
  deadline_exceeded = 4,    ///< the call's deadline passed before its response arrived
  not_found = 5,            ///< no handler for the method, or an entity the handler looked for
  already_exists = 6,
  permission_denied = 7,
  resource_exhausted = 8,   ///< too many requests, a limit was reached
  failed_precondition = 9,
  aborted = 10,
  out_of_range = 11,
  unimplemented = 12,
  internal = 13,            ///< the handler threw, or a response did not decode
  unavailable = 14,         ///< the connection was lost or closed, or the server is draining
  data_loss = 15,
  unauthenticated = 16,
  protocol_error = 17,      ///< the peer broke the wire protocol (bad frame); the connection closed
};

/// The status code's name as written in docs, e.g. "deadline_exceeded".
[[nodiscard]] constexpr std::string_view to_string(status_code code) noexcept {
  switch (code) {
    case status_code::ok: return "ok";
    case status_code::cancelled: return "cancelled";
    case status_code::unknown: return "unknown";
    case status_code::invalid_argument: return "invalid_argument";
    case status_code::deadline_exceeded: return "deadline_exceeded";
    case status_code::not_found: return "not_found";
    case status_code::already_exists: return "already_exists";
    case status_code::permission_denied: return "permission_denied";
    case status_code::resource_exhausted: return "resource_exhausted";
    case status_code::failed_precondition: return "failed_precondition";
    case status_code::aborted: return "aborted";
    case status_code::out_of_range: return "out_of_range";
    case status_code::unimplemented: return "unimplemented";
    case status_code::internal: return "internal";
    case status_code::unavailable: return "unavailable";
    case status_code::data_loss: return "data_loss";
    case status_code::unauthenticated: return "unauthenticated";
    case status_code::protocol_error: return "protocol_error";
  }
  return "unrecognised";
}

/// True for the codes the wire may carry; anything else from a peer is
/// mapped to `unknown` before a user sees it.
[[nodiscard]] constexpr bool is_known(status_code code) noexcept {
  return static_cast<std::uint16_t>(code) <= static_cast<std::uint16_t>(status_code::protocol_error);
}

/// The std::error_category of duet's status codes, so an RPC failure can
/// travel as a std::error_code. Its name is "duet".
class status_category_impl final : public std::error_category {
 public:
  [[nodiscard]] const char* name() const noexcept override { return "duet"; }
  [[nodiscard]] std::string message(int value) const override;
};

/// The single instance of duet's error category.
[[nodiscard]] DUET_INLINE const std::error_category& status_category() noexcept;

/// Makes `status_code` usable wherever a std::error_code is expected.
[[nodiscard]] inline std::error_code make_error_code(status_code code) noexcept {
  return {static_cast<int>(code), status_category()};
}

/// The outcome of a call that did not return a value: a code and a
/// human-readable message. A default-constructed status is `ok`.
class status {
 public:
  status() = default;
  status(status_code code, std::string message = {}) : m_code(code), m_message(std::move(message)) {}

  [[nodiscard]] status_code code() const noexcept { return m_code; }
  [[nodiscard]] const std::string& message() const noexcept { return m_message; }
  [[nodiscard]] bool ok() const noexcept { return m_code == status_code::ok; }
  [[nodiscard]] std::error_code error_code() const noexcept { return make_error_code(m_code); }

  /// "code: message", or just "code" when there is no message.
  [[nodiscard]] std::string to_string() const;

  friend bool operator==(const status&, const status&) = default;

 private:
  status_code m_code = status_code::ok;
  std::string m_message;
};

/// Thrown by `client::call` (and `result::value`) when a call ends without
/// a value. `code()` is the std::error_code form; `status()` the duet form.
class rpc_error : public std::system_error {
 public:
  explicit rpc_error(duet::status s);

  [[nodiscard]] const duet::status& status() const noexcept { return m_status; }

 private:
  duet::status m_status;
};

}  // namespace duet::inline v0

template <>
struct std::is_error_code_enum<duet::status_code> : std::true_type {};

// ------------------------------------------------------------ definitions ---
// Inline in every translation unit, or compiled once by <duet/src.hpp> when
// DUET_SEPARATE_COMPILATION is defined (see <duet/config.hpp>).
#if DUET_HEADER_DEFINITIONS
namespace duet::inline v0 {

DUET_INLINE std::string status_category_impl::message(int value) const {
  return std::string(to_string(static_cast<status_code>(value)));
}

DUET_INLINE const std::error_category& status_category() noexcept {
  static const status_category_impl instance;
  return instance;
}

DUET_INLINE std::string status::to_string() const {
  std::string text(duet::to_string(m_code));
  if (!m_message.empty()) {
    text += ": ";
    text += m_message;
  }
  return text;
}

DUET_INLINE rpc_error::rpc_error(duet::status s)
    : std::system_error(s.error_code(), s.message()), m_status(std::move(s)) {}

}  // namespace duet::inline v0
#endif
