#pragma once

#include <duet/config.hpp>

#include <algorithm>  // std::copy
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>  // std::invalid_argument
#include <string>
#include <string_view>
#include <utility>

// Parsing and printing are written here rather than with inet_pton/ntop so
// that endpoint values stay free of OS headers (transport/detail/socket.hpp
// converts them to sockaddr).

namespace duet::inline v0 {

/// Where a stream connects or a listener listens: an IPv4 or IPv6 address
/// with a port, or a Unix-domain socket path. A plain value: copyable,
/// comparable, printable.
///
/// Text forms (`parse`, `to_string`):
///   - `"127.0.0.1:8080"`: IPv4, dotted decimal;
///   - `"[::1]:8080"`: IPv6, brackets required (`::` compression and a
///     trailing dotted IPv4 part are accepted; no zone ids);
///   - `"localhost:8080"`: the one host name understood, meaning 127.0.0.1;
///     duet does no DNS lookups — resolve names yourself and pass numbers;
///   - `"unix:/run/app.sock"`: a Unix-domain socket path.
/// Ports are decimal 0..65535; 0 asks a listener to pick a free port.
class endpoint {
public:
  enum class family : unsigned char { none, ipv4, ipv6, unix_path };

  /// An empty endpoint (`family::none`), what a failed parse would hold.
  endpoint() = default;

  [[nodiscard]] static endpoint ipv4(std::array<std::uint8_t, 4> address, std::uint16_t port) noexcept {
    endpoint e;
    e.m_family = family::ipv4;
    std::copy(address.begin(), address.end(), e.m_address.begin());
    e.m_port = port;
    return e;
  }

  [[nodiscard]] static endpoint ipv6(std::array<std::uint8_t, 16> address, std::uint16_t port) noexcept {
    endpoint e;
    e.m_family = family::ipv6;
    e.m_address = address;
    e.m_port = port;
    return e;
  }

  /// 127.0.0.1:port.
  [[nodiscard]] static endpoint loopback_v4(std::uint16_t port) noexcept { return ipv4({127, 0, 0, 1}, port); }

  /// [::1]:port.
  [[nodiscard]] static endpoint loopback_v6(std::uint16_t port) noexcept {
    std::array<std::uint8_t, 16> address{};
    address[15] = 1;
    return ipv6(address, port);
  }

  /// A Unix-domain socket at `path`.
  [[nodiscard]] static endpoint unix_socket(std::string path) {
    endpoint e;
    e.m_family = family::unix_path;
    e.m_path = std::move(path);
    return e;
  }

  /// Parses one of the text forms above; std::nullopt if `text` is not one.
  [[nodiscard]] static std::optional<endpoint> parse(std::string_view text);

  /// As `parse`, but throws std::invalid_argument naming the bad text.
  [[nodiscard]] static endpoint from_string(std::string_view text);

  [[nodiscard]] family kind() const noexcept { return m_family; }
  [[nodiscard]] bool is_ip() const noexcept { return m_family == family::ipv4 || m_family == family::ipv6; }

  /// The port of an IP endpoint (0 otherwise).
  [[nodiscard]] std::uint16_t port() const noexcept { return m_port; }

  /// The address bytes of an IP endpoint in network order: 4 for IPv4, 16
  /// for IPv6, none otherwise.
  [[nodiscard]] std::span<const std::uint8_t> address() const noexcept {
    switch (m_family) {
      case family::ipv4: return std::span<const std::uint8_t>(m_address.data(), 4);
      case family::ipv6: return std::span<const std::uint8_t>(m_address.data(), 16);
      default: return {};
    }
  }

  /// The path of a Unix-domain endpoint (empty otherwise).
  [[nodiscard]] const std::string& path() const noexcept { return m_path; }

  /// The canonical text form (`parse(to_string())` gives the same endpoint);
  /// IPv6 is printed the RFC 5952 way. Empty for `family::none`.
  [[nodiscard]] std::string to_string() const;

  friend bool operator==(const endpoint&, const endpoint&) = default;

private:
  static std::optional<std::uint16_t> parse_port(std::string_view text) noexcept;
  static bool parse_v4(std::string_view text, std::uint8_t* out) noexcept;
  static bool parse_v6(std::string_view text, std::array<std::uint8_t, 16>& out) noexcept;

  family m_family = family::none;
  std::uint16_t m_port = 0;
  std::array<std::uint8_t, 16> m_address{};
  std::string m_path;
};

}  // namespace duet::inline v0

// ------------------------------------------------------------ definitions ---
// Inline in every translation unit, or compiled once by <duet/src.hpp> when
// DUET_SEPARATE_COMPILATION is defined (see <duet/config.hpp>).
#if DUET_HEADER_DEFINITIONS
namespace duet::inline v0 {

DUET_INLINE endpoint endpoint::from_string(std::string_view text) {
  if (auto parsed = parse(text)) return *std::move(parsed);
  throw std::invalid_argument("duet::endpoint: cannot parse \"" + std::string(text) + "\"");
}

DUET_INLINE std::optional<std::uint16_t> endpoint::parse_port(std::string_view text) noexcept {
  if (text.empty() || text.size() > 5) return std::nullopt;
  unsigned value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

DUET_INLINE bool endpoint::parse_v4(std::string_view text, std::uint8_t* out) noexcept {
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (text.empty() || text.front() != '.') return false;
      text.remove_prefix(1);
    }
    std::size_t digits = 0;
    unsigned value = 0;
    while (digits < text.size() && digits < 4 && text[digits] >= '0' && text[digits] <= '9') {
      value = value * 10 + static_cast<unsigned>(text[digits] - '0');
      ++digits;
    }
    // No empty parts, no values over 255, no leading zeros (octal ambiguity).
    if (digits == 0 || digits > 3 || value > 255 || (digits > 1 && text[0] == '0')) return false;
    out[part] = static_cast<std::uint8_t>(value);
    text.remove_prefix(digits);
  }
  return text.empty();
}

DUET_INLINE bool endpoint::parse_v6(std::string_view text, std::array<std::uint8_t, 16>& out) noexcept {
  // Groups before and after a "::", as 16-bit values; a trailing dotted IPv4
  // part counts as two groups.
  std::array<std::uint16_t, 8> head{};
  std::array<std::uint16_t, 8> tail{};
  std::size_t head_count = 0;
  std::size_t tail_count = 0;
  bool compressed = false;
  if (text.starts_with("::")) {
    compressed = true;
    text.remove_prefix(2);
  } else if (text.starts_with(":")) {
    return false;
  }
  while (!text.empty()) {
    std::array<std::uint16_t, 8>& groups = compressed ? tail : head;
    std::size_t& count = compressed ? tail_count : head_count;
    if (head_count + tail_count >= 8) return false;
    // A dotted IPv4 ending.
    const std::size_t colon = text.find(':');
    const std::string_view piece = text.substr(0, colon);
    if (colon == std::string_view::npos && piece.find('.') != std::string_view::npos) {
      std::uint8_t v4[4];
      if (head_count + tail_count > 6 || !parse_v4(piece, v4)) return false;
      groups[count++] = static_cast<std::uint16_t>(v4[0] << 8 | v4[1]);
      groups[count++] = static_cast<std::uint16_t>(v4[2] << 8 | v4[3]);
      text = {};
      break;
    }
    if (piece.empty() || piece.size() > 4) return false;
    unsigned value = 0;
    for (char c : piece) {
      unsigned digit = 0;
      if (c >= '0' && c <= '9') {
        digit = static_cast<unsigned>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        digit = static_cast<unsigned>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        digit = static_cast<unsigned>(c - 'A' + 10);
      } else {
        return false;
      }
      value = value * 16 + digit;
    }
    groups[count++] = static_cast<std::uint16_t>(value);
    if (colon == std::string_view::npos) {
      text = {};
      break;
    }
    text.remove_prefix(colon + 1);
    if (text.starts_with(":")) {
      if (compressed) return false;  // a second "::"
      compressed = true;
      text.remove_prefix(1);
    } else if (text.empty()) {
      return false;  // a trailing single ':'
    }
  }
  if (compressed ? head_count + tail_count > 7 : head_count != 8) return false;
  std::array<std::uint16_t, 8> all{};
  for (std::size_t i = 0; i < head_count; ++i) all[i] = head[i];
  for (std::size_t i = 0; i < tail_count; ++i) all[8 - tail_count + i] = tail[i];
  for (std::size_t i = 0; i < 8; ++i) {
    out[2 * i] = static_cast<std::uint8_t>(all[i] >> 8);
    out[2 * i + 1] = static_cast<std::uint8_t>(all[i] & 0xff);
  }
  return true;
}

DUET_INLINE std::optional<endpoint> endpoint::parse(std::string_view text) {
  if (text.starts_with("unix:")) {
    text.remove_prefix(5);
    if (text.empty()) return std::nullopt;
    return unix_socket(std::string(text));
  }
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  const auto port = parse_port(text.substr(colon + 1));
  if (!port) return std::nullopt;
  const std::string_view host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    std::array<std::uint8_t, 16> address{};
    if (!parse_v6(host.substr(1, host.size() - 2), address)) return std::nullopt;
    return ipv6(address, *port);
  }
  if (host == "localhost") return loopback_v4(*port);
  std::array<std::uint8_t, 4> address{};
  if (!parse_v4(host, address.data())) return std::nullopt;
  return ipv4(address, *port);
}

DUET_INLINE std::string endpoint::to_string() const {
  switch (m_family) {
    case family::none: return {};
    case family::unix_path: return "unix:" + m_path;
    case family::ipv4:
      return std::to_string(m_address[0]) + '.' + std::to_string(m_address[1]) + '.' + std::to_string(m_address[2]) +
             '.' + std::to_string(m_address[3]) + ':' + std::to_string(m_port);
    case family::ipv6: break;
  }
  std::array<unsigned, 8> groups{};
  for (std::size_t i = 0; i < 8; ++i) groups[i] = static_cast<unsigned>(m_address[2 * i] << 8 | m_address[2 * i + 1]);
  // The longest run of two or more zero groups (the first on a tie) becomes "::".
  std::size_t best_start = 8;
  std::size_t best_length = 1;
  for (std::size_t i = 0; i < 8;) {
    if (groups[i] != 0) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < 8 && groups[j] == 0) ++j;
    if (j - i > best_length) {
      best_start = i;
      best_length = j - i;
    }
    i = j;
  }
  constexpr char hex[] = "0123456789abcdef";
  std::string out = "[";
  for (std::size_t i = 0; i < 8; ++i) {
    if (i == best_start) {
      out += "::";
      i += best_length - 1;
      continue;
    }
    if (i > 0 && i != best_start + best_length) out += ':';
    bool leading = true;
    for (int shift = 12; shift >= 0; shift -= 4) {
      const unsigned digit = (groups[i] >> shift) & 0xf;
      if (leading && digit == 0 && shift > 0) continue;
      leading = false;
      out += hex[digit];
    }
  }
  out += "]:";
  out += std::to_string(m_port);
  return out;
}

}  // namespace duet::inline v0
#endif
