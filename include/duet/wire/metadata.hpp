#pragma once

#include <duet/bytes.hpp>
#include <duet/wire/native.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace duet::inline v0 {

namespace detail {
struct metadata_access;
}

/// The key/value pairs a request or response carries besides its arguments
/// or result, like HTTP headers: a request id for tracing, an auth token, a
/// locale. Pairs keep their order and a key may appear more than once.
///
///     duet::call_options o;
///     o.metadata.add("x-request-id", "7f3a");
///     co_await client.call(o, kv_get, key);
///     // in the handler: ctx.request_metadata().find("x-request-id")
///
/// Keys are 1 or more of `a`-`z`, `0`-`9`, `-`, `_`, `.` (lowercase ASCII;
/// docs/protocol.md section 7); values are any bytes. Keys starting with
/// `duet-` are duet's own (`duet-timeout` carries a call's deadline): `add`
/// refuses them, but metadata received from a peer shows them.
///
/// A plain value type; an empty one allocates nothing.
class metadata {
 public:
  /// One pair.
  struct entry {
    std::string key;
    std::string value;

    friend bool operator==(const entry&, const entry&) = default;
  };
  using value_type = entry;
  using const_iterator = std::vector<entry>::const_iterator;
  using iterator = const_iterator;

  /// The prefix of the keys duet reserves for itself.
  static constexpr std::string_view reserved_prefix = "duet-";

  metadata() = default;

  /// Appends the pair `key`: `value` after the others. Throws
  /// `std::invalid_argument` when `key` is not a valid key or starts with
  /// the reserved `duet-`.
  metadata& add(std::string key, std::string value) {
    if (!is_valid_metadata_key(key)) {
      throw std::invalid_argument("duet::metadata: invalid key \"" + key +
                                  "\" (keys are 1 or more of a-z, 0-9, '-', '_', '.')");
    }
    if (is_reserved(key)) {
      throw std::invalid_argument("duet::metadata: the key \"" + key + "\" uses the prefix duet- reserved for duet");
    }
    m_entries.push_back(entry{std::move(key), std::move(value)});
    return *this;
  }

  /// The value of the first pair whose key is `key`, if any. The view is
  /// valid until this metadata changes.
  [[nodiscard]] std::optional<std::string_view> find(std::string_view key) const noexcept {
    for (const entry& e : m_entries) {
      if (e.key == key) return std::string_view(e.value);
    }
    return std::nullopt;
  }

  /// Whether some pair has key `key`.
  [[nodiscard]] bool contains(std::string_view key) const noexcept { return find(key).has_value(); }

  /// Removes every pair. Keeps the capacity.
  void clear() noexcept { m_entries.clear(); }

  [[nodiscard]] std::size_t size() const noexcept { return m_entries.size(); }
  [[nodiscard]] bool empty() const noexcept { return m_entries.empty(); }
  [[nodiscard]] const_iterator begin() const noexcept { return m_entries.begin(); }
  [[nodiscard]] const_iterator end() const noexcept { return m_entries.end(); }

  /// Whether `key` starts with the reserved prefix `duet-`.
  [[nodiscard]] static constexpr bool is_reserved(std::string_view key) noexcept {
    return key.starts_with(reserved_prefix);
  }

  friend bool operator==(const metadata&, const metadata&) = default;

 private:
  friend struct detail::metadata_access;
  std::vector<entry> m_entries;
};

namespace detail {

/// duet's own access to metadata: adds reserved (`duet-`) keys, which
/// `metadata::add` refuses to users.
struct metadata_access {
  /// Appends `key`: `value`; `key` must be valid (checked) and may be
  /// reserved. Throws `std::invalid_argument` for an invalid key.
  static void add_reserved(metadata& m, std::string key, std::string value) {
    if (!is_valid_metadata_key(key)) throw std::invalid_argument("duet::metadata: invalid key \"" + key + "\"");
    m.m_entries.push_back(metadata::entry{std::move(key), std::move(value)});
  }
  /// Appends a pair already known to be valid (decoded from the wire).
  static void add_unchecked(metadata& m, std::string_view key, std::string_view value) {
    m.m_entries.push_back(metadata::entry{std::string(key), std::string(value)});
  }
};

/// Appends a varint-prefixed string to a metadata block.
inline void append_metadata_string(byte_vector& out, std::string_view s) {
  if (s.size() > 0xffffffffu) throw std::length_error("duet: metadata key or value too long");
  append_varint32(out, static_cast<std::uint32_t>(s.size()));
  // resize + memcpy rather than insert: see encode_frame.
  const std::size_t at = out.size();
  out.resize(at + s.size());
  if (!s.empty()) std::memcpy(out.data() + at, s.data(), s.size());
}

/// Writes a metadata block (docs/protocol.md section 7) to `out`: first
/// the pairs of `extra` (duet's own, such as `duet-timeout`), then those of
/// `user` (may be null). Writes nothing when there are no pairs at all.
/// Returns the number of bytes written. Keys are not checked again: a
/// `metadata` holds only valid ones. Throws `std::bad_alloc`,
/// `std::length_error` (a string over 4 GiB - 1 bytes).
inline std::size_t write_metadata_block(byte_vector& out, std::span<const metadata_entry> extra,
                                        const metadata* user) {
  const std::size_t count = extra.size() + (user != nullptr ? user->size() : 0);
  if (count == 0) return 0;
  if (count > 0xffffffffu) throw std::length_error("duet: too many metadata entries");
  const std::size_t at = out.size();
  append_varint32(out, static_cast<std::uint32_t>(count));
  for (const metadata_entry& e : extra) {
    append_metadata_string(out, e.key);
    append_metadata_string(out, e.value);
  }
  if (user != nullptr) {
    for (const metadata::entry& e : *user) {
      append_metadata_string(out, e.key);
      append_metadata_string(out, e.value);
    }
  }
  return out.size() - at;
}

/// Whether `block` is a well-formed metadata block (an empty one is). Reads
/// it without allocating.
[[nodiscard]] inline bool is_well_formed_metadata(const_buffer block) noexcept {
  metadata_reader r{block};
  for (metadata_entry e; r.next(e);) {
  }
  return !r.failed();
}

/// Replaces the contents of `out` with the pairs of the metadata block
/// `block`. False (with `out` empty) when the block is malformed. Throws
/// `std::bad_alloc`.
[[nodiscard]] inline bool read_metadata_block(const_buffer block, metadata& out) {
  out.clear();
  metadata_reader r{block};
  for (metadata_entry e; r.next(e);) metadata_access::add_unchecked(out, e.key, e.value);
  if (!r.failed()) return true;
  out.clear();
  return false;
}

}  // namespace detail

}  // namespace duet::inline v0
