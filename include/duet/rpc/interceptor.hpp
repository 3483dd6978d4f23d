#pragma once

#include <duet/config.hpp>

#include <duet/loop/deadline.hpp>
#include <duet/rpc/context.hpp>
#include <duet/session/call_options.hpp>
#include <duet/status.hpp>
#include <duet/wire/metadata.hpp>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace duet::inline v0 {

/// What a client interceptor sees of one outgoing call.
struct outgoing_call {
  /// The method's name and wire id.
  std::string_view method_name;
  std::uint32_t method_id;
  /// The request's metadata: before the call, an interceptor may add to it.
  metadata& request_metadata;
  /// The call's options (timeout, deadline, stop token).
  const call_options& options;
};

/// A hook around every call a client makes (`client::add_interceptor`):
/// authentication, tracing, metrics, logging.
///
///     struct bearer : duet::client_interceptor {
///       duet::status before_call(duet::outgoing_call& call) override {
///         call.request_metadata.add("authorization", "Bearer " + token);
///         return {};
///       }
///     };
///
/// `before_call` runs in the order the interceptors were added, when the call
/// is awaited and before its request is encoded; `after_call` runs in the
/// reverse order when the call ends, for every interceptor whose
/// `before_call` ran. Both run on the loop thread, inside the awaiting
/// coroutine, and must not suspend. One interceptor object serves every
/// call of its clients, concurrently in the coroutine sense: keep per-call
/// state in the call (metadata), not in members.
class client_interceptor {
 public:
  virtual ~client_interceptor() = default;

  /// Before the request is sent: read and add request metadata. Returning a
  /// non-ok status (or throwing `rpc_error`; another exception counts as
  /// `internal`) ends the call with it at once: nothing is sent and the
  /// later interceptors' `before_call` do not run.
  virtual status before_call(outgoing_call& call) {
    (void)call;
    return {};
  }

  /// After the call ended: `outcome` is how (ok, or the status the caller
  /// gets, including a result that did not decode), `response_metadata`
  /// what the response carried (empty when none came), `elapsed` the time
  /// since the first `before_call`. Exceptions it throws are ignored.
  virtual void after_call(const outgoing_call& call, const status& outcome, const metadata& response_metadata,
                          duration elapsed) {
    (void)call;
    (void)outcome;
    (void)response_metadata;
    (void)elapsed;
  }
};

/// A hook around every request a server's router serves
/// (`router::add_interceptor`): authentication, tracing, metrics, logging.
///
///     struct require_token : duet::server_interceptor {
///       duet::status before_handler(duet::call_context& ctx) override {
///         if (ctx.request_metadata().find("authorization") != "Bearer s3cret")
///           return duet::status(duet::status_code::unauthenticated, "a valid bearer token is required");
///         return {};
///       }
///     };
///
/// `before_handler` runs in the order the interceptors were added, once the
/// request's metadata and deadline are known and before its arguments are
/// decoded; `after_handler` runs in the reverse order, for every interceptor
/// whose `before_handler` ran, after the handler (or after the request was
/// ended early) and before the response is sent. Both run on the loop
/// thread and must not suspend. They run for notifications too
/// (`ctx.expects_response()` is false; nothing is answered). A request for a
/// method with no handler, or one that arrives with no time left, is
/// answered before any interceptor runs.
class server_interceptor {
 public:
  virtual ~server_interceptor() = default;

  /// Before the handler: read the request's metadata, add response
  /// metadata. Returning a non-ok status (or throwing `rpc_error`; another
  /// exception counts as `internal`) answers the request with it at once,
  /// with the response metadata added so far: no handler runs and the later
  /// interceptors' `before_handler` do not run.
  virtual status before_handler(call_context& context) {
    (void)context;
    return {};
  }

  /// After the handler: `outcome` is how the request ended (ok, the
  /// handler's error or exception, `invalid_argument` for arguments that did
  /// not decode, or an interceptor's refusal), `elapsed` the time since the
  /// first `before_handler`. May add `context.response_metadata()`, which
  /// goes with the response. Exceptions it throws are ignored.
  virtual void after_handler(call_context& context, const status& outcome, duration elapsed) {
    (void)context;
    (void)outcome;
    (void)elapsed;
  }
};

namespace detail {

/// The status a hook's exception stands for.
DUET_INLINE status status_of_hook_exception();

using client_interceptor_list = std::vector<std::shared_ptr<client_interceptor>>;
using server_interceptor_list = std::vector<std::shared_ptr<server_interceptor>>;

/// One call's or request's pass through a list of interceptors: how many
/// `before` hooks ran (their `after` hooks run, newest first) and when the
/// first began. The list may grow meanwhile; it is read by index.
template <class List>
struct interception {
  const List* list = nullptr;
  std::size_t ran = 0;
  time_point started{};

  [[nodiscard]] bool installed() const noexcept { return list != nullptr && !list->empty(); }

  /// Runs the `before` hooks; the first non-ok status stops them and is
  /// returned.
  template <class Context>
  [[nodiscard, gnu::noinline]] status before(Context& context) {
    started = clock::now();
    for (ran = 0; ran < list->size();) {
      auto& hook = *(*list)[ran++];
      status verdict;
      try {
        if constexpr (std::is_same_v<List, client_interceptor_list>) {
          verdict = hook.before_call(context);
        } else {
          verdict = hook.before_handler(context);
        }
      } catch (...) {
        verdict = status_of_hook_exception();
      }
      if (!verdict.ok()) return verdict;
    }
    return {};
  }

  /// Runs the `after` hooks of the interceptors whose `before` ran, newest
  /// first; `extra...` are the hook's arguments after the context.
  template <class Context, class... Extra>
  [[gnu::noinline]] void after(Context& context, const Extra&... extra) noexcept {
    if (ran == 0) return;
    const duration elapsed = clock::now() - started;
    for (std::size_t i = ran; i-- > 0;) {
      try {
        auto& hook = *(*list)[i];
        if constexpr (std::is_same_v<List, client_interceptor_list>) {
          hook.after_call(context, extra..., elapsed);
        } else {
          hook.after_handler(context, extra..., elapsed);
        }
      } catch (...) {
        // An after hook cannot change the outcome (docs: ignored).
      }
    }
    ran = 0;
  }
};

}  // namespace detail

}  // namespace duet::inline v0

// ------------------------------------------------------------ definitions ---
// Inline in every translation unit, or compiled once by <duet/src.hpp> when
// DUET_SEPARATE_COMPILATION is defined (see <duet/config.hpp>).
#if DUET_HEADER_DEFINITIONS
namespace duet::inline v0::detail {

DUET_INLINE status status_of_hook_exception() {
  try {
    throw;
  } catch (const rpc_error& e) {
    return e.status().ok() ? status(status_code::internal, "an interceptor threw an rpc_error with status ok")
                           : e.status();
  } catch (const std::exception& e) {
    return status(status_code::internal, std::string("an interceptor threw: ") + e.what());
  } catch (...) {
    return status(status_code::internal, "an interceptor threw an exception that is not a std::exception");
  }
}

}  // namespace duet::inline v0::detail
#endif
