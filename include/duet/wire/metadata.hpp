#pragma once

#include <duet/config.hpp>

#include <duet/bytes.hpp>
#include <duet/wire/native.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
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
  using const_iterator = const entry*;
  using iterator = const_iterator;

  /// The prefix of the keys duet reserves for itself.
  static constexpr std::string_view reserved_prefix = "duet-";

  // An empty metadata is a null pointer: every call's options and every
  // handler's context hold some, so when unused they must cost nothing to
  // make, copy or destroy (and the code that would free pairs stays out of
  // line, so it does not weigh on the inlining of the hot paths).
  metadata() noexcept = default;
  metadata(const metadata& other) : m_entries(other.m_entries ? copy(*other.m_entries) : nullptr) {}
  metadata& operator=(const metadata& other) {
    if (this != &other) m_entries.reset(other.m_entries ? copy(*other.m_entries) : nullptr);
    return *this;
  }
  metadata(metadata&&) noexcept = default;
  metadata& operator=(metadata&&) noexcept = default;
  ~metadata() = default;

  /// Appends the pair `key`: `value` after the others. Throws
  /// `std::invalid_argument` when `key` is not a valid key or starts with
  /// the reserved `duet-`.
  metadata& add(std::string key, std::string value);

  /// The value of the first pair whose key is `key`, if any. The view is
  /// valid until this metadata changes.
  [[nodiscard]] std::optional<std::string_view> find(std::string_view key) const noexcept;

  /// Whether some pair has key `key`.
  [[nodiscard]] bool contains(std::string_view key) const noexcept { return find(key).has_value(); }

  /// Removes every pair. Keeps the capacity.
  void clear() noexcept {
    if (m_entries) m_entries->clear();
  }

  [[nodiscard]] std::size_t size() const noexcept { return m_entries ? m_entries->size() : 0; }
  [[nodiscard]] bool empty() const noexcept { return !m_entries || m_entries->empty(); }
  [[nodiscard]] const_iterator begin() const noexcept { return m_entries ? m_entries->data() : nullptr; }
  [[nodiscard]] const_iterator end() const noexcept { return m_entries ? m_entries->data() + m_entries->size() : nullptr; }

  /// Whether `key` starts with the reserved prefix `duet-`.
  [[nodiscard]] static constexpr bool is_reserved(std::string_view key) noexcept {
    return key.starts_with(reserved_prefix);
  }

  friend bool operator==(const metadata& a, const metadata& b) noexcept {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
  }

 private:
  friend struct detail::metadata_access;
  using list = std::vector<entry>;
  struct release {
    void operator()(list* l) const noexcept;  // noinline (see its definition)
  };

  static list* copy(const list& l);  // noinline (see its definition)
  void append(std::string key, std::string value);

  std::unique_ptr<list, release> m_entries;
};

namespace detail {

/// duet's own access to metadata: adds reserved (`duet-`) keys, which
/// `metadata::add` refuses to users.
struct metadata_access {
  /// Appends `key`: `value`; `key` must be valid (checked) and may be
  /// reserved. Throws `std::invalid_argument` for an invalid key.
  static void add_reserved(metadata& m, std::string key, std::string value);
  /// Appends a pair already known to be valid (decoded from the wire).
  static void add_unchecked(metadata& m, std::string_view key, std::string_view value);
};

/// Appends a varint-prefixed string to a metadata block.
DUET_INLINE void append_metadata_string(byte_vector& out, std::string_view s);

/// Writes a metadata block (docs/protocol.md section 7) to `out`: first
/// the pairs of `extra` (duet's own, such as `duet-timeout`), then those of
/// `user` (may be null). Writes nothing when there are no pairs at all.
/// Returns the number of bytes written. Keys are not checked again: a
/// `metadata` holds only valid ones. Throws `std::bad_alloc`,
/// `std::length_error` (a string over 4 GiB - 1 bytes).
DUET_INLINE std::size_t write_metadata_block(byte_vector& out, std::span<const metadata_entry> extra,
                                             const metadata* user);

/// Whether `block` is a well-formed metadata block (an empty one is). Reads
/// it without allocating.
[[nodiscard]] DUET_INLINE bool is_well_formed_metadata(const_buffer block) noexcept;

/// Replaces the contents of `out` with the pairs of the metadata block
/// `block`. False (with `out` empty) when the block is malformed. Throws
/// `std::bad_alloc`.
[[nodiscard]] DUET_INLINE bool read_metadata_block(const_buffer block, metadata& out);

}  // namespace detail

}  // namespace duet::inline v0

// ------------------------------------------------------------ definitions ---
// Inline in every translation unit, or compiled once by <duet/src.hpp> when
// DUET_SEPARATE_COMPILATION is defined (see <duet/config.hpp>).
#if DUET_HEADER_DEFINITIONS
namespace duet::inline v0 {

DUET_INLINE metadata& metadata::add(std::string key, std::string value) {
  if (!is_valid_metadata_key(key)) {
    throw std::invalid_argument("duet::metadata: invalid key \"" + key +
                                "\" (keys are 1 or more of a-z, 0-9, '-', '_', '.')");
  }
  if (is_reserved(key)) {
    throw std::invalid_argument("duet::metadata: the key \"" + key + "\" uses the prefix duet- reserved for duet");
  }
  append(std::move(key), std::move(value));
  return *this;
}

DUET_INLINE std::optional<std::string_view> metadata::find(std::string_view key) const noexcept {
  for (const entry& e : *this) {
    if (e.key == key) return std::string_view(e.value);
  }
  return std::nullopt;
}

// Out of line even when inline (gnu::noinline), so that freeing and copying
// pairs do not weigh on the inlining of the hot paths. The attribute is on
// the definition: GCC warns when an inline definition follows a declaration
// that has it.
[[gnu::noinline]] DUET_INLINE void metadata::release::operator()(list* l) const noexcept { delete l; }

[[gnu::noinline]] DUET_INLINE metadata::list* metadata::copy(const list& l) { return new list(l); }

DUET_INLINE void metadata::append(std::string key, std::string value) {
  if (!m_entries) m_entries.reset(new list());
  m_entries->push_back(entry{std::move(key), std::move(value)});
}

namespace detail {

DUET_INLINE void metadata_access::add_reserved(metadata& m, std::string key, std::string value) {
  if (!is_valid_metadata_key(key)) throw std::invalid_argument("duet::metadata: invalid key \"" + key + "\"");
  m.append(std::move(key), std::move(value));
}

DUET_INLINE void metadata_access::add_unchecked(metadata& m, std::string_view key, std::string_view value) {
  m.append(std::string(key), std::string(value));
}

DUET_INLINE void append_metadata_string(byte_vector& out, std::string_view s) {
  if (s.size() > 0xffffffffu) throw std::length_error("duet: metadata key or value too long");
  append_varint32(out, static_cast<std::uint32_t>(s.size()));
  // resize + memcpy rather than insert: see encode_frame.
  const std::size_t at = out.size();
  out.resize(at + s.size());
  if (!s.empty()) std::memcpy(out.data() + at, s.data(), s.size());
}

DUET_INLINE std::size_t write_metadata_block(byte_vector& out, std::span<const metadata_entry> extra,
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

DUET_INLINE bool is_well_formed_metadata(const_buffer block) noexcept {
  metadata_reader r{block};
  for (metadata_entry e; r.next(e);) {
  }
  return !r.failed();
}

DUET_INLINE bool read_metadata_block(const_buffer block, metadata& out) {
  out.clear();
  metadata_reader r{block};
  for (metadata_entry e; r.next(e);) metadata_access::add_unchecked(out, e.key, e.value);
  if (!r.failed()) return true;
  out.clear();
  return false;
}

}  // namespace detail

}  // namespace duet::inline v0
#endif
