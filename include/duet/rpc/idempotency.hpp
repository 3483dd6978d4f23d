#pragma once

#include <duet/config.hpp>

#include <duet/bytes.hpp>
#include <duet/session/detail/session_core.hpp>
#include <duet/status.hpp>
#include <duet/wire/frame.hpp>
#include <duet/wire/idempotency.hpp>
#include <duet/wire/native.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace duet::inline v0 {

/// Bounds of a router's idempotency cache (`router::enable_idempotency_cache`): the
/// recent answers to requests that carried an idempotency key, so that a
/// repeat of such a request is answered without running it again.
struct idempotency_cache_options {
  /// Answers kept at most; the oldest is forgotten first.
  std::size_t max_entries = 10000;
  /// Bytes of kept answers (keys, metadata and payloads) at most; the oldest
  /// answers are forgotten first.
  std::size_t max_bytes = std::size_t{64} << 20;
};

namespace detail {

/// A router's idempotency cache as the router sees it
/// (`router::enable_idempotency_cache`, the only code that names the cache's
/// type). Function pointers, not virtual functions: GCC devirtualises a
/// call speculatively when a translation unit sees one implementation, and
/// would so compile the whole cache into every program that has a router.
struct answer_keeper {
  /// Handles request `frame` (one that carries metadata) before it runs:
  /// true when it has been answered (do not run it), false when it is to run.
  bool (*handle)(answer_keeper& self, session_core& session, const frame_view& frame) = nullptr;
  void (*destroy)(answer_keeper& self) noexcept = nullptr;
  /// Repeats answered from kept answers so far.
  std::uint64_t replayed = 0;
  /// Answers kept now.
  std::size_t kept = 0;

  /// For std::unique_ptr.
  struct deleter {
    void operator()(answer_keeper* k) const noexcept { k->destroy(*k); }
  };
};

/// The answers a router keeps for requests with an idempotency key
/// (`duet-idempotency-key`), per method and key, shared by every connection
/// the router serves. Loop thread only.
///
/// A request whose key is new runs, and its answer is kept when it is
/// queued. A repeat whose first request has been answered gets the kept
/// answer (status, response metadata, payload) without running; a repeat
/// that arrives while the first still runs is answered `unavailable` at once
/// (a client's default retry policy tries again after its backoff, and finds
/// the answer then). Answers saying the request did not complete
/// (`cancelled`, `deadline_exceeded`, `unavailable`, `resource_exhausted`)
/// and requests whose connection ended before they were answered are not
/// kept: a repeat runs again.
class idempotency_cache final : public answer_keeper {
 public:
  explicit idempotency_cache(const idempotency_cache_options& options);
  idempotency_cache(const idempotency_cache&) = delete;
  idempotency_cache& operator=(const idempotency_cache&) = delete;
  ~idempotency_cache();

  /// The value of the `duet-idempotency-key` pair of a request's metadata
  /// block, if it has one (and it is not empty).
  [[nodiscard]] static std::optional<std::string_view> key_of(const_buffer metadata_block) noexcept;

  static bool handle_request(answer_keeper& self, session_core& session, const frame_view& frame);
  static void destroy_cache(answer_keeper& self) noexcept { delete &static_cast<idempotency_cache&>(self); }

  /// Handles a request with idempotency key `key` before it runs: answers
  /// a repeat (true: do not run it), or registers to keep the answer of a
  /// new one (false: run it).
  bool answer_or_watch(session_core& session, std::uint32_t id, std::uint32_t method, std::string_view key);

  /// Bytes of the answers kept now.
  [[nodiscard]] std::size_t kept_bytes() const noexcept { return m_bytes; }

 private:
  struct entry;

  struct capture : answer_capture {
    idempotency_cache* cache = nullptr;
    entry* where = nullptr;

    static void answered(answer_capture& base, std::uint16_t code, const_buffer metadata,
                         const_buffer payload) noexcept;
    static void abandoned(answer_capture& base) noexcept;
  };

  // One key's entry, on the heap at a stable address (captures point at
  // it), in a hash bucket's chain and, once answered, in the age list.
  struct entry {
    std::string name;  // the method id's 4 bytes, then the key
    std::size_t hash = 0;
    entry* bucket_next = nullptr;
    entry* older = nullptr;  // age list, once done
    entry* newer = nullptr;
    bool done = false;
    std::uint16_t status = 0;
    byte_vector metadata;
    byte_vector payload;
    capture* watcher = nullptr;  // while running
  };

  static std::string entry_name(std::uint32_t method, std::string_view key);

  static bool worth_keeping(std::uint16_t code) noexcept;

  [[nodiscard]] entry* find(std::string_view name, std::size_t hash) const noexcept;

  // Takes ownership of `e` unless it throws (growing the table, before
  // anything is linked). The table doubles when it holds as many entries
  // as buckets, so chains stay short.
  void insert(entry& e);

  // Unlinks `e` from its bucket and the age list, and frees it.
  void erase(entry& e) noexcept;

  void keep(entry& e, std::uint16_t code, const_buffer metadata, const_buffer payload) noexcept;

  static std::size_t size_of(const entry& e) noexcept { return e.name.size() + e.metadata.size() + e.payload.size(); }

  idempotency_cache_options m_options;
  std::vector<entry*> m_buckets;  // chains; a power of two of them, or none yet
  std::size_t m_count = 0;        // entries, running or done
  entry* m_oldest = nullptr;      // the age list of answered entries
  entry* m_newest = nullptr;
  std::size_t m_bytes = 0;
};

}  // namespace detail

}  // namespace duet::inline v0

// ------------------------------------------------------------ definitions ---
// Inline in every translation unit, or compiled once by <duet/src.hpp> when
// DUET_SEPARATE_COMPILATION is defined (see <duet/config.hpp>).
#if DUET_HEADER_DEFINITIONS
namespace duet::inline v0::detail {

DUET_INLINE idempotency_cache::idempotency_cache(const idempotency_cache_options& options) : m_options(options) {
  handle = &handle_request;
  destroy = &destroy_cache;
}

DUET_INLINE idempotency_cache::~idempotency_cache() {
  for (entry* head : m_buckets) {
    for (entry* e = head; e != nullptr;) {
      entry* next = e->bucket_next;
      // Captures still registered with live sessions point here: a router
      // destroyed while serving is already a bug (see router), but do not
      // let them write into freed memory.
      if (e->watcher != nullptr) e->watcher->cache = nullptr;
      delete e;
      e = next;
    }
  }
}

DUET_INLINE std::optional<std::string_view> idempotency_cache::key_of(const_buffer metadata_block) noexcept {
  if (metadata_block.empty()) return std::nullopt;
  metadata_reader r{metadata_block};
  for (metadata_entry e; r.next(e);) {
    if (e.key == idempotency_key_name && !e.value.empty()) return e.value;
  }
  return std::nullopt;
}

DUET_INLINE bool idempotency_cache::handle_request(answer_keeper& self, session_core& session,
                                                  const frame_view& frame) {
  const std::optional<std::string_view> key = key_of(frame.metadata);
  return key && static_cast<idempotency_cache&>(self).answer_or_watch(session, frame.header.id,
                                                                       frame.header.method, *key);
}

DUET_INLINE bool idempotency_cache::answer_or_watch(session_core& session, std::uint32_t id, std::uint32_t method,
                                                   std::string_view key) {
  std::string name = entry_name(method, key);
  const std::size_t hash = std::hash<std::string_view>{}(name);
  if (const entry* e = find(name, hash)) {
    if (e->done) {
      ++replayed;
      session.send_kept_answer(id, e->status, e->metadata, e->payload);
    } else {
      session.send_error(id, status(status_code::unavailable,
                                    "a request with this idempotency key is still running; try again later"));
    }
    return true;
  }
  auto made = std::make_unique<entry>();
  made->name = std::move(name);
  made->hash = hash;
  auto c = std::make_unique<capture>();
  c->cache = this;
  c->id = id;
  c->on_answer = &capture::answered;
  c->on_abandon = &capture::abandoned;
  c->where = made.get();
  made->watcher = c.get();
  insert(*made);  // may throw before it links anything
  (void)made.release();
  session.capture_answer(*c.release());  // frees itself when called back
  return false;
}

DUET_INLINE void idempotency_cache::capture::answered(answer_capture& base, std::uint16_t code, const_buffer metadata,
                                                     const_buffer payload) noexcept {
  auto* self = static_cast<capture*>(&base);
  if (self->cache != nullptr) self->cache->keep(*self->where, code, metadata, payload);
  delete self;
}

DUET_INLINE void idempotency_cache::capture::abandoned(answer_capture& base) noexcept {
  auto* self = static_cast<capture*>(&base);
  if (self->cache != nullptr) self->cache->erase(*self->where);
  delete self;
}

DUET_INLINE std::string idempotency_cache::entry_name(std::uint32_t method, std::string_view key) {
  std::string name(4 + key.size(), '\0');
  std::memcpy(name.data(), &method, 4);
  if (!key.empty()) std::memcpy(name.data() + 4, key.data(), key.size());
  return name;
}

DUET_INLINE bool idempotency_cache::worth_keeping(std::uint16_t code) noexcept {
  const auto c = static_cast<status_code>(code);
  return c != status_code::cancelled && c != status_code::deadline_exceeded && c != status_code::unavailable &&
         c != status_code::resource_exhausted;
}

DUET_INLINE idempotency_cache::entry* idempotency_cache::find(std::string_view name, std::size_t hash) const noexcept {
  if (m_buckets.empty()) return nullptr;
  for (entry* e = m_buckets[hash & (m_buckets.size() - 1)]; e != nullptr; e = e->bucket_next) {
    if (e->hash == hash && e->name == name) return e;
  }
  return nullptr;
}

DUET_INLINE void idempotency_cache::insert(entry& e) {
  if (m_count >= m_buckets.size()) {
    std::vector<entry*> grown(m_buckets.empty() ? 16 : 2 * m_buckets.size(), nullptr);
    for (entry* head : m_buckets) {
      for (entry* x = head; x != nullptr;) {
        entry* next = x->bucket_next;
        entry*& slot = grown[x->hash & (grown.size() - 1)];
        x->bucket_next = slot;
        slot = x;
        x = next;
      }
    }
    m_buckets.swap(grown);
  }
  entry*& slot = m_buckets[e.hash & (m_buckets.size() - 1)];
  e.bucket_next = slot;
  slot = &e;
  ++m_count;
}

DUET_INLINE void idempotency_cache::erase(entry& e) noexcept {
  entry** link = &m_buckets[e.hash & (m_buckets.size() - 1)];
  while (*link != &e) link = &(*link)->bucket_next;
  *link = e.bucket_next;
  --m_count;
  if (e.done) {
    (e.older != nullptr ? e.older->newer : m_oldest) = e.newer;
    (e.newer != nullptr ? e.newer->older : m_newest) = e.older;
    --kept;
    m_bytes -= size_of(e);
  }
  delete &e;
}

DUET_INLINE void idempotency_cache::keep(entry& e, std::uint16_t code, const_buffer metadata,
                                        const_buffer payload) noexcept {
  e.watcher = nullptr;
  if (!worth_keeping(code)) {
    erase(e);
    return;
  }
  try {
    e.metadata.assign(metadata.begin(), metadata.end());
    e.payload.assign(payload.begin(), payload.end());
  } catch (...) {
    erase(e);  // out of memory: forget it rather than keep half
    return;
  }
  e.status = code;
  e.done = true;
  e.older = m_newest;
  e.newer = nullptr;
  (m_newest != nullptr ? m_newest->newer : m_oldest) = &e;
  m_newest = &e;
  ++kept;
  m_bytes += size_of(e);
  while (m_oldest != nullptr && (kept > m_options.max_entries || m_bytes > m_options.max_bytes)) erase(*m_oldest);
}

}  // namespace duet::inline v0::detail
#endif
