#pragma once

#include <duet/codec/codec.hpp>
#include <duet/rpc/context.hpp>
#include <duet/rpc/detail/answering.hpp>
#include <duet/rpc/detail/async_request.hpp>
#include <duet/rpc/detail/handler_shape.hpp>
#include <duet/rpc/detail/server_hooks.hpp>
#include <duet/session/detail/session_core.hpp>
#include <duet/session/detail/spawned.hpp>

#include <cstdint>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

namespace duet::inline v0::detail {

/// One method's handler with its type erased: what a router keeps per method.
class handler_base {
 public:
  virtual ~handler_base() = default;
  /// Decodes the frame's arguments and runs the handler; answers a request.
  virtual void handle(session_core& session, const frame_view& frame) = 0;

  /// The router's interceptors (set by the router; the router outlives it).
  const server_interceptors* interceptors = nullptr;

  /// Whether it serves a stream method (opened by a request with flag_stream).
  bool streams = false;
};

/// The handler `H` of a method `R(Args...)`: decodes the arguments, runs it
/// (inline, or as a coroutine of its own when it returns an awaitable) and
/// answers with what it produced.
template <class H, class R, class... Args>
class typed_handler final : public handler_base {
  using shape = handler_shape<H, R, Args...>;
  using arguments = std::tuple<Args...>;

 public:
  typed_handler(H handler, std::string_view name, std::uint32_t id) : m_handler(std::move(handler)), m_name(name), m_id(id) {}

  void handle(session_core& session, const frame_view& frame) override {
    if constexpr (shape::asynchronous) {
      run_async(session, frame);
    } else {
      // The usual request: a handler that does not take the context, no
      // metadata, no interceptors. It needs no context (nothing could read
      // it), so it makes none unless it fails.
      if constexpr (!shape::takes_context) {
        if (frame.metadata.empty() && (interceptors == nullptr || interceptors->list.empty())) {
          handle_plain(session, frame);
        } else {
          handle_with_context(session, frame);  // out of line: its context stays off handle_plain's stack
        }
      } else {
        handle_with_context(session, frame);
      }
    }
  }

 private:
  // handle() for a plain handler, with the context it may take, the
  // request's metadata and the interceptors.
  [[gnu::noinline]] void handle_with_context(session_core& session, const frame_view& frame) {
    const bool wants_answer = frame.header.kind == frame_kind::request;
    const std::uint32_t id = frame.header.id;
    call_context context = context_for(session, frame.header);
    server_hooks hooks{interceptors};
    arguments args;
    if (!prepare(session, context, frame, args, hooks)) return;
    try {
      if constexpr (std::is_void_v<typename shape::produced>) {
        invoke(context, args);
        if (hooks.ran != 0) hooks.after(context, status{});
        if (wants_answer) answer_void(session, id, call_context_access::response_metadata(context));
      } else {
        decltype(auto) produced = invoke(context, args);
        if (hooks.ran != 0) hooks.after(context, outcome_of(produced));
        if (wants_answer) answer(session, id, produced, call_context_access::response_metadata(context));
      }
    } catch (...) {
      end_by_exception(session, context, id, hooks);
    }
  }

  decltype(auto) invoke(call_context& context, arguments& args) {
    return std::apply(
        [&](Args&... a) -> decltype(auto) {
          if constexpr (shape::takes_context) {
            return call(m_handler, context, std::move(a)...);
          } else {
            (void)context;
            return call(m_handler, std::move(a)...);
          }
        },
        args);
  }

  // handle() without a context, metadata or interceptors. A request that
  // does not decode, or a handler that throws, goes the way of the others
  // (the context it reports with holds nothing a context-free handler set).
  void handle_plain(session_core& session, const frame_view& frame) {
    arguments args;
    if (!std::apply([&](Args&... a) { return duet::decode_all(frame.payload, a...); }, args)) {
      plain_failed(session, frame.header, false);
      return;
    }
    const bool wants_answer = frame.header.kind == frame_kind::request;
    const std::uint32_t id = frame.header.id;
    try {
      if constexpr (std::is_void_v<typename shape::produced>) {
        std::apply([&](Args&... a) { call(m_handler, std::move(a)...); }, args);
        if (wants_answer) answer_void(session, id, nullptr);
      } else {
        decltype(auto) produced =
            std::apply([&](Args&... a) -> decltype(auto) { return call(m_handler, std::move(a)...); }, args);
        if (wants_answer) answer(session, id, produced, nullptr);
      }
    } catch (...) {
      plain_failed(session, frame.header, true);
    }
  }

  // handle_plain's end for a request whose arguments do not decode, or
  // (`threw`, called inside the catch block) whose handler threw. Out of
  // line: the context it reports with stays off the usual path's stack.
  [[gnu::noinline]] void plain_failed(session_core& session, const frame_header& header, bool threw) {
    call_context context = context_for(session, header);
    server_hooks hooks{interceptors};
    if (threw) {
      end_by_exception(session, context, header.id, hooks);
    } else {
      refuse_undecodable(session, context, header, hooks);
    }
  }

  call_context context_for(session_core& session, const frame_header& header) const noexcept {
    return call_context_access::make(session, session.loop(), m_name, m_id, header.kind == frame_kind::request);
  }

  template <class... A>
  static decltype(auto) call(H& handler, A&&... a) {
    return invoke_handler(handler, std::forward<A>(a)...);
  }

  template <class X>
  static void answer(session_core& session, std::uint32_t id, X& produced, const metadata* response_metadata) {
    answer_produced<R>(session, id, produced, response_metadata);
  }

  // What comes before the handler runs: the request's metadata and deadline,
  // the interceptors' before hooks, then its arguments. The frame views the
  // reader's buffer: everything is read now. False when the request has
  // been ended instead (answered with a status, or a notification dropped).
  // A request without metadata, on a router without interceptors, only
  // decodes its arguments.
  bool prepare(session_core& session, call_context& context, const frame_view& frame, arguments& args,
               server_hooks& hooks) {
    if ((!frame.metadata.empty() || hooks.installed()) && !admit_request(session, context, frame, hooks)) return false;
    const bool decoded = std::apply([&](Args&... a) { return duet::decode_all(frame.payload, a...); }, args);
    if (!decoded) {
      refuse_undecodable(session, context, frame.header, hooks);
      return false;
    }
    return true;
  }

  // One coroutine per asynchronous request. The router outlives its
  // sessions, and a session waits for every handler it started before it
  // ends, so `this` and `session` stay valid throughout. `frame` views the
  // reader's buffer: `prepare` reads it before the first suspension.
  spawned run_async(session_core& session, frame_view frame) {
    async_request request(session, frame.header, m_name, m_id, interceptors);
    call_context& context = request.context;
    arguments args;
    try {
      if (prepare(session, context, frame, args, request.hooks)) {
        request.arm_deadline();
        if constexpr (std::is_void_v<typename shape::produced>) {
          co_await invoke(context, args);
          if (request.returned(status{})) {
            answer_void(session, request.id, call_context_access::response_metadata(context));
          }
        } else {
          auto produced = co_await invoke(context, args);
          request.stop_deadline();
          if (request.hooks.ran != 0) request.hooks.after(context, outcome_of(produced));
          if (request.answerable()) answer(session, request.id, produced, call_context_access::response_metadata(context));
        }
      }
    } catch (...) {
      request.failed();
    }
    request.finish();
  }

  H m_handler;
  std::string_view m_name;
  std::uint32_t m_id;
};

}  // namespace duet::inline v0::detail
