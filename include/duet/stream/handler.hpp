#pragma once

#include <duet/codec/codec.hpp>
#include <duet/rpc/context.hpp>
#include <duet/rpc/detail/answering.hpp>
#include <duet/rpc/detail/async_request.hpp>
#include <duet/rpc/detail/handler_shape.hpp>
#include <duet/rpc/detail/server_hooks.hpp>
#include <duet/rpc/detail/typed_handler.hpp>
#include <duet/rpc/method.hpp>
#include <duet/session/detail/session_core.hpp>
#include <duet/session/detail/stream_routing.hpp>
#include <duet/session/detail/spawned.hpp>
#include <duet/stream/io.hpp>
#include <duet/stream/stream.hpp>

#include <memory>
#include <optional>
#include <stop_token>
#include <tuple>
#include <type_traits>
#include <utility>

/// \file
/// How a router serves a stream method (docs/streams.md). `router::on`
/// reaches it for methods declared with `duet::stream<T>`; a program that
/// declares none instantiates nothing here.

namespace duet::inline v0::detail {

/// The parameters a stream handler takes after an optional
/// `call_context&`: a server stream's arguments then its writer, a client
/// stream's reader, a bidirectional stream's reader then writer.
template <class Out, class In, class... Args>
struct stream_parameters {
  template <template <class...> class F>
  using apply = F<Args..., stream_writer<Out>&>;
};
template <class In>
struct stream_parameters<void, In> {
  template <template <class...> class F>
  using apply = F<stream_reader<In>&>;
};
template <class Out, class In>
  requires(!std::is_void_v<Out> && !std::is_void_v<In>)
struct stream_parameters<Out, In> {
  template <template <class...> class F>
  using apply = F<stream_reader<In>&, stream_writer<Out>&>;
};

template <class H, class R>
struct stream_shape_of {
  template <class... P>
  using shape = handler_shape<H, R, P...>;
};

/// What a handler for a stream method looks like from the outside.
template <class H, class R, class Out, class In, class... Args>
using stream_handler_shape =
    typename stream_parameters<Out, In, Args...>::template apply<stream_shape_of<H, R>::template shape>;

/// A server stream method's arguments, as template parameters.
template <class Method>
struct method_arguments;
template <fixed_string Name, class R, class... Args>
struct method_arguments<method<Name, R(Args...)>> {
  template <class H, class Result, class Out, class In>
  using shape = stream_handler_shape<H, Result, Out, In, Args...>;
  template <class H, class Result, class Out, class In>
  static std::unique_ptr<handler_base> make(H handler, std::string_view name, std::uint32_t id);
};

/// The reader and writer a stream handler is given, in its coroutine's frame.
template <class Out, class In>
struct stream_ends {
  explicit stream_ends(stream_channel& ch) noexcept : reader(ch), writer(ch) {}
  stream_reader<In> reader;
  stream_writer<Out> writer;
};
template <class Out>
struct stream_ends<Out, void> {
  explicit stream_ends(stream_channel& ch) noexcept : writer(ch) {}
  stream_writer<Out> writer;
};
template <class In>
struct stream_ends<void, In> {
  explicit stream_ends(stream_channel& ch) noexcept : reader(ch) {}
  stream_reader<In> reader;
};

/// Ends a served stream here when its context's stop token fires: the
/// caller cancelled, the deadline passed, or the connection ended.
struct served_stream_closer {
  session_core* session;
  stream_channel* ch;
  call_context* context;
  void operator()() const noexcept {
    const bool late = context->deadline_passed();
    session->streams().close_served(*session, *ch, late ? status_code::deadline_exceeded : status_code::cancelled,
                                    late ? "the stream's deadline passed" : "the stream was cancelled");
  }
};

/// Serves one stream method: `R` is what the final response carries (void
/// unless a client stream), `Out` the messages sent back (void for a
/// client stream), `In` those received (void for a server stream).
template <class H, class R, class Out, class In, class... Args>
class stream_handler final : public handler_base {
  using shape = stream_handler_shape<H, R, Out, In, Args...>;

 public:
  stream_handler(H handler, std::string_view name, std::uint32_t id)
      : m_handler(std::move(handler)), m_name(name), m_id(id) {
    streams = true;
  }

  // The router sends only requests with flag_stream here. Streams do not
  // pause the reader (they wait for credit it brings), so they have a cap
  // of their own: as many as calls in flight.
  void handle(session_core& session, const frame_view& frame) override {
    // Here, in a template: only a program that serves streams makes a
    // session's stream engine, or compiles it.
    if (session.use_streams().served() >= session.options().max_in_flight) {
      session.send_error(frame.header.id,
                         status(status_code::resource_exhausted, "too many streams open on this connection"));
      return;
    }
    serve(session, frame);
  }

 private:
  // One coroutine per stream, as for an asynchronous unary request; it
  // holds the stream's channel, so serving a stream allocates its frame
  // (from the frame cache) and, once, its queue.
  spawned serve(session_core& session, frame_view frame) {
    async_request request(session, frame.header, m_name, m_id, interceptors);
    call_context& context = request.context;
    stream_channel ch;
    ch.id = frame.header.id;
    ch.receives = !std::is_void_v<In>;
    ch.sends = !std::is_void_v<Out>;
    stream_ends<Out, In> ends(ch);
    std::tuple<Args...> args;
    bool served = false;
    try {
      if (prepare(session, context, frame, args, request.hooks)) {
        session.streams().begin_served(session, ch);
        served = true;
        std::stop_callback<served_stream_closer> closer(context.stop_token(),
                                                        served_stream_closer{&session, &ch, &context});
        request.arm_deadline();
        if constexpr (std::is_void_v<typename shape::produced>) {
          co_await invoke(context, args, ends);
          session.streams().end_served(ch);
          served = false;
          if (request.returned(status{})) answer_void(session, request.id, call_context_access::response_metadata(context));
        } else {
          auto produced = co_await invoke(context, args, ends);
          session.streams().end_served(ch);
          served = false;
          request.stop_deadline();
          if (request.hooks.ran != 0) request.hooks.after(context, outcome_of(produced));
          if (request.answerable()) {
            answer_produced<R>(session, request.id, produced, call_context_access::response_metadata(context));
          }
        }
      }
    } catch (...) {
      request.failed();
    }
    if (served) session.streams().end_served(ch);
    request.finish();
  }

  // The request's metadata and interceptors, then its arguments (a client
  // or bidirectional stream has none: its payload must be empty).
  bool prepare(session_core& session, call_context& context, const frame_view& frame, std::tuple<Args...>& args,
               server_hooks& hooks) {
    if ((!frame.metadata.empty() || hooks.installed()) && !admit_request(session, context, frame, hooks)) return false;
    const bool decoded = std::apply([&](Args&... a) { return duet::decode_all(frame.payload, a...); }, args);
    if (!decoded) {
      refuse_undecodable(session, context, frame.header, hooks);
      return false;
    }
    return true;
  }

  decltype(auto) invoke(call_context& context, std::tuple<Args...>& args, stream_ends<Out, In>& ends) {
    if constexpr (std::is_void_v<In>) {
      // A server stream: the arguments, then the writer.
      return std::apply(
          [&](Args&... a) -> decltype(auto) {
            if constexpr (shape::takes_context) {
              return call(context, std::move(a)..., ends.writer);
            } else {
              return call(std::move(a)..., ends.writer);
            }
          },
          args);
    } else if constexpr (std::is_void_v<Out>) {
      (void)args;
      if constexpr (shape::takes_context) {
        return call(context, ends.reader);
      } else {
        return call(ends.reader);
      }
    } else {
      (void)args;
      if constexpr (shape::takes_context) {
        return call(context, ends.reader, ends.writer);
      } else {
        return call(ends.reader, ends.writer);
      }
    }
  }

  template <class... A>
  decltype(auto) call(A&&... a) {
    return invoke_handler(m_handler, std::forward<A>(a)...);
  }

  H m_handler;
  std::string_view m_name;
  std::uint32_t m_id;
};

template <fixed_string Name, class R, class... Args>
template <class H, class Result, class Out, class In>
std::unique_ptr<handler_base> method_arguments<method<Name, R(Args...)>>::make(H handler, std::string_view name,
                                                                              std::uint32_t id) {
  return std::make_unique<stream_handler<H, Result, Out, In, Args...>>(std::move(handler), name, id);
}

template <class Handler, class Method>
std::unique_ptr<handler_base> make_stream_handler(Handler handler, const Method& m) {
  using out = typename Method::callee_message;
  using in = typename Method::caller_message;
  using result = typename Method::result_type;
  constexpr method_kind kind = Method::kind;
  using shape = decltype([] {
    if constexpr (kind == method_kind::server_stream) {
      return std::type_identity<typename method_arguments<Method>::template shape<Handler, result, out, in>>{};
    } else {
      return std::type_identity<stream_handler_shape<Handler, result, out, in>>{};
    }
  }())::type;
  static_assert(shape::invocable,
                "duet::router::on: the handler does not fit the stream method: a server stream's handler takes "
                "the method's arguments then duet::stream_writer<T>&, a client stream's takes "
                "duet::stream_reader<T>&, a bidirectional stream's takes duet::stream_reader<In>& then "
                "duet::stream_writer<Out>&, each optionally preceded by duet::call_context&");
  if constexpr (shape::invocable) {
    static_assert(shape::asynchronous,
                  "duet::router::on: a stream handler is a coroutine: return duet::task<...> (it runs while "
                  "messages flow)");
    static_assert(!shape::asynchronous || shape::matches,
                  "duet::router::on: the stream handler's result does not match the method: a server or "
                  "bidirectional stream's handler returns duet::task<void> or duet::task<duet::result<void>>, "
                  "a client stream's duet::task<R> or duet::task<duet::result<R>>");
  }
  if constexpr (shape::invocable && shape::asynchronous && shape::matches) {
    if constexpr (kind == method_kind::server_stream) {
      return method_arguments<Method>::template make<Handler, result, out, in>(std::move(handler), m.name, m.id);
    } else {
      return std::make_unique<stream_handler<Handler, result, out, in>>(std::move(handler), m.name, m.id);
    }
  } else {
    return nullptr;
  }
}

}  // namespace duet::inline v0::detail
