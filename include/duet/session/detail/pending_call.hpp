#pragma once

#include <duet/bytes.hpp>
#include <duet/codec/buffer.hpp>
#include <duet/loop/event_loop.hpp>
#include <duet/status.hpp>
#include <duet/wire/metadata.hpp>

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <string>
#include <string_view>

namespace duet::inline v0::detail {

class session_core;
struct stream_channel;

/// Encodes a call's arguments (an object its caller owns) into a request's
/// payload. Type-erased, so that admitting, encoding and sending a call is
/// compiled once, not once per method signature.
using argument_encoder = void (*)(const void* arguments, byte_writer& out);

/// One outgoing call's state. It lives in the calling coroutine's frame, so
/// a call costs the session no allocation; the call table points at it.
///
/// Lifecycle (every path ends in `finish` or `complete`, exactly once):
///
///     created --acquire--> admitted --send--> waiting --response--> done
///        |                    ^                  |----deadline----> done
///        |--table full--> queued                 |----conn lost---> done
///        |--closed------------------------------------------------> done
struct pending_call : timer_node {
  session_core* session = nullptr;
  std::coroutine_handle<> waiter;
  std::uint32_t id = 0;
  status_code code = status_code::ok;
  bool done = false;
  std::string message;        // why, when code is not ok
  const_buffer payload;       // the response payload; valid only while the reader resumes us
  pending_call* next_queued = nullptr;
  std::uint32_t method = 0;   // the request to send once admitted
  argument_encoder encode = nullptr;
  const void* arguments = nullptr;
  // For a call with a stop token: completion and a stop request (on any
  // thread) race to claim the single resumption of `waiter`. A stop that
  // wins hands the call to a canceller on the loop, which ends and resumes it.
  bool cancellable = false;
  std::atomic<bool> resumption_claimed{false};
  const metadata* request_metadata = nullptr;  // sent with the request; null or empty: none
  metadata* response_metadata = nullptr;       // receives the response's metadata, when set
  std::string_view idempotency_key;            // sent as duet-idempotency-key when not empty
  // Its request, queued or being written, sends long byte runs straight
  // from the arguments: they must be copied if the call ends first.
  bool sends_from_arguments = false;
  // A caller's stream (stream_table.hpp): its request opens the stream, and
  // the stream, not `waiter`, hears how the call ended.
  stream_channel* stream = nullptr;
};

/// Whether whoever ends `call` now may resume its waiter: always, unless the
/// call can be stopped and a stop request claimed the resumption first.
[[nodiscard]] inline bool claim_resumption(pending_call& call) noexcept {
  return !call.cancellable || !call.resumption_claimed.exchange(true, std::memory_order_acq_rel);
}

}  // namespace duet::inline v0::detail
