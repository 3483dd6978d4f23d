// Interceptors: ordered hooks around every outgoing call (client) and every
// incoming request (server) that read and add metadata, measure time, and
// can end a call early with a status.
#include "rig.hpp"
#include "tcp_rig.hpp"

#include <catch2/catch.hpp>

#include <memory>
#include <stdexcept>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace interceptor_test {

using namespace rig_methods;

namespace {

using journal = std::vector<std::string>;

// Records its hooks as "<name>.before <method>" / "<name>.after <code>";
// adds "<name>: yes" to the request metadata; refuses with `refusal` if set.
struct recording_client_interceptor final : duet::client_interceptor {
  recording_client_interceptor(std::string n, journal& j) : name(std::move(n)), log(&j) {}
  duet::status before_call(duet::outgoing_call& call) override {
    log->push_back(name + ".before " + std::string(call.method_name));
    if (refusal) return *refusal;
    call.request_metadata.add(name, "yes");
    return {};
  }
  void after_call(const duet::outgoing_call& call, const duet::status& outcome, const duet::metadata& response,
                  duet::duration elapsed) override {
    log->push_back(name + ".after " + std::string(duet::to_string(outcome.code())));
    last_response = response;
    last_elapsed = elapsed;
    saw_own_metadata = call.request_metadata.contains(name);
  }
  std::string name;
  journal* log;
  std::optional<duet::status> refusal;
  duet::metadata last_response;
  duet::duration last_elapsed{-1};
  bool saw_own_metadata = false;
};

struct recording_server_interceptor final : duet::server_interceptor {
  recording_server_interceptor(std::string n, journal& j) : name(std::move(n)), log(&j) {}
  duet::status before_handler(duet::call_context& ctx) override {
    log->push_back(name + ".before " + std::string(ctx.method_name()));
    if (refuse_without && !ctx.request_metadata().contains(*refuse_without)) {
      ctx.response_metadata().add("www-authenticate", "bearer");
      return duet::status(duet::status_code::unauthenticated, "missing " + *refuse_without);
    }
    return {};
  }
  void after_handler(duet::call_context& ctx, const duet::status& outcome, duet::duration elapsed) override {
    log->push_back(name + ".after " + std::string(duet::to_string(outcome.code())));
    ctx.response_metadata().add(name + "-saw", std::string(duet::to_string(outcome.code())));
    last_elapsed = elapsed;
  }
  std::string name;
  journal* log;
  std::optional<std::string> refuse_without;
  duet::duration last_elapsed{-1};
};

void serve(duet::router& router, duet::event_loop& loop, journal& log) {
  router.on(add, [&log](duet::call_context& ctx, int a, int b) {
    log.push_back("handler sees outer=" + std::string(ctx.request_metadata().find("outer").value_or("-")) +
                  " inner=" + std::string(ctx.request_metadata().find("inner").value_or("-")));
    return a + b;
  });
  router.on(echo, [&loop, &log](std::string s) -> duet::task<std::string> {
    co_await loop.schedule();
    log.push_back("coroutine handler");
    co_return s;
  });
  router.on(fail, [](int code) -> int {
    throw duet::rpc_error(duet::status(static_cast<duet::status_code>(code), "no"));
  });
}

template <class Client>
duet::task<void> calls_pass_through_client_hooks(Client& client, journal& log, recording_client_interceptor& outer) {
  const int sum = co_await client.call(add, 2, 3);
  CHECK(sum == 5);
  const journal expected{"outer.before test.add", "inner.before test.add", "handler sees outer=yes inner=yes",
                         "inner.after ok", "outer.after ok"};
  CHECK(log == expected);
  CHECK(outer.saw_own_metadata);
  CHECK(outer.last_elapsed >= duet::duration::zero());

  log.clear();
  duet::result<int> failed = co_await client.try_call(fail, static_cast<int>(duet::status_code::aborted));
  CHECK(failed.code() == duet::status_code::aborted);
  const journal expected_failure{"outer.before test.fail", "inner.before test.fail", "inner.after aborted",
                                 "outer.after aborted"};
  CHECK(log == expected_failure);

  // call (throwing) reports the same outcome to the hooks before it throws.
  log.clear();
  bool threw = false;
  try {
    (void)co_await client.call(fail, static_cast<int>(duet::status_code::not_found));
  } catch (const duet::rpc_error& e) {
    threw = e.status().code() == duet::status_code::not_found;
  }
  CHECK(threw);
  CHECK(log.back() == "outer.after not_found");
}

template <class Client>
duet::task<void> refused_call_is_not_sent(Client& client, journal& log) {
  duet::result<int> refused = co_await client.try_call(add, 1, 1);
  CHECK(refused.code() == duet::status_code::unauthenticated);
  CHECK(refused.error().message() == "no token");
  // The refusing interceptor's after hook runs; the later one never ran.
  const journal expected{"outer.before test.add", "inner.before test.add", "inner.after unauthenticated",
                         "outer.after unauthenticated"};
  CHECK(log == expected);
}

template <class Client>
duet::task<void> server_hooks_wrap_handlers(Client& client, journal& log) {
  duet::call_options o;
  o.metadata.add("token", "t");
  duet::metadata reply;
  o.response_metadata = &reply;
  const int sum = co_await client.call(o, add, 20, 22);
  CHECK(sum == 42);
  const journal expected{"first.before test.add", "second.before test.add", "handler sees outer=- inner=-",
                         "second.after ok", "first.after ok"};
  CHECK(log == expected);
  CHECK(reply.find("first-saw") == std::optional<std::string_view>("ok"));
  CHECK(reply.find("second-saw") == std::optional<std::string_view>("ok"));

  log.clear();
  const std::string back = co_await client.call(o, echo, "hi");
  CHECK(back == "hi");
  const journal expected_coroutine{"first.before test.echo", "second.before test.echo", "coroutine handler",
                                   "second.after ok", "first.after ok"};
  CHECK(log == expected_coroutine);

  log.clear();
  duet::result<int> failed = co_await client.try_call(o, fail, static_cast<int>(duet::status_code::aborted));
  CHECK(failed.code() == duet::status_code::aborted);
  CHECK(reply.find("first-saw") == std::optional<std::string_view>("aborted"));

  // Without the token the first interceptor refuses: no handler runs, the
  // second interceptor never sees the request, the refusal's metadata and
  // the after hook's come back.
  log.clear();
  duet::call_options bare;
  bare.response_metadata = &reply;
  duet::result<int> refused = co_await client.try_call(bare, add, 1, 2);
  CHECK(refused.code() == duet::status_code::unauthenticated);
  const journal expected_refusal{"first.before test.add", "first.after unauthenticated"};
  CHECK(log == expected_refusal);
  CHECK(reply.find("www-authenticate") == std::optional<std::string_view>("bearer"));
  CHECK(reply.find("first-saw") == std::optional<std::string_view>("unauthenticated"));

  log.clear();
  duet::result<std::string> refused_coroutine = co_await client.try_call(bare, echo, "x");
  CHECK(refused_coroutine.code() == duet::status_code::unauthenticated);
  const journal expected_coroutine_refusal{"first.before test.echo", "first.after unauthenticated"};
  CHECK(log == expected_coroutine_refusal);
}

}  // namespace

TEST_CASE("client interceptors run in order before each call and in reverse order after it", "[rpc][interceptor]") {
  rig r;
  journal log;
  serve(r.router, r.loop, log);
  auto client = r.connect();
  auto outer = std::make_shared<recording_client_interceptor>("outer", log);
  client.add_interceptor(outer).add_interceptor(std::make_shared<recording_client_interceptor>("inner", log));
  r.run([&]() -> duet::task<void> {
    co_await calls_pass_through_client_hooks(client, log, *outer);
    co_await client.close();
  });
}

TEST_CASE("a client interceptor that refuses a call ends it with its status without sending anything",
          "[rpc][interceptor]") {
  rig r;
  journal log;
  serve(r.router, r.loop, log);
  auto client = r.connect();
  auto inner = std::make_shared<recording_client_interceptor>("inner", log);
  inner->refusal = duet::status(duet::status_code::unauthenticated, "no token");
  client.add_interceptor(std::make_shared<recording_client_interceptor>("outer", log));
  client.add_interceptor(inner);
  client.add_interceptor(std::make_shared<recording_client_interceptor>("never", log));
  r.run([&]() -> duet::task<void> {
    co_await refused_call_is_not_sent(client, log);
    co_await client.close();
  });
}

TEST_CASE("server interceptors wrap every handler and can refuse a request before any handler runs",
          "[rpc][interceptor]") {
  rig r;
  journal log;
  serve(r.router, r.loop, log);
  auto first = std::make_shared<recording_server_interceptor>("first", log);
  first->refuse_without = "token";
  r.router.add_interceptor(first).add_interceptor(std::make_shared<recording_server_interceptor>("second", log));
  auto client = r.connect();
  r.run([&]() -> duet::task<void> {
    co_await server_hooks_wrap_handlers(client, log);
    co_await client.close();
  });
  CHECK(first->last_elapsed >= duet::duration::zero());
}

TEST_CASE("interceptors on both ends work over TCP", "[rpc][interceptor][socket]") {
  tcp_rig r;
  journal log;
  serve(r.router, r.loop, log);
  auto first = std::make_shared<recording_server_interceptor>("first", log);
  first->refuse_without = "token";
  r.router.add_interceptor(first).add_interceptor(std::make_shared<recording_server_interceptor>("second", log));
  r.run([&]() -> duet::task<void> {
    auto client = co_await r.connect();
    co_await server_hooks_wrap_handlers(client, log);

    log.clear();
    auto outer = std::make_shared<recording_client_interceptor>("outer", log);
    client.add_interceptor(outer);
    duet::call_options o;
    o.metadata.add("token", "t");
    const int sum = co_await client.call(o, add, 1, 2);
    CHECK(sum == 3);
    CHECK(log.front() == "outer.before test.add");
    CHECK(log.back() == "outer.after ok");
    CHECK(outer->last_response.find("second-saw") == std::optional<std::string_view>("ok"));
    co_await client.close();
  });
}

TEST_CASE("an interceptor that throws ends the call with the thrown status", "[rpc][interceptor]") {
  struct throwing_client final : duet::client_interceptor {
    duet::status before_call(duet::outgoing_call&) override {
      throw duet::rpc_error(duet::status(duet::status_code::permission_denied, "thrown"));
    }
  };
  struct throwing_server final : duet::server_interceptor {
    duet::status before_handler(duet::call_context& ctx) override {
      if (ctx.request_metadata().contains("boom")) throw std::runtime_error("boom");
      return {};
    }
    void after_handler(duet::call_context&, const duet::status&, duet::duration) override {
      throw std::runtime_error("ignored");
    }
  };
  rig r;
  journal log;
  serve(r.router, r.loop, log);
  r.router.add_interceptor(std::make_shared<throwing_server>());
  auto plain = r.connect();
  auto guarded = r.connect();
  guarded.add_interceptor(std::make_shared<throwing_client>());
  r.run([&]() -> duet::task<void> {
    duet::result<int> denied = co_await guarded.try_call(add, 1, 2);
    CHECK(denied.code() == duet::status_code::permission_denied);
    duet::call_options o;
    o.metadata.add("boom", "");
    duet::result<int> boom = co_await plain.try_call(o, add, 1, 2);
    CHECK(boom.code() == duet::status_code::internal);
    const int sum = co_await plain.call(add, 1, 2);  // the throwing after hook changes nothing
    CHECK(sum == 3);
    co_await plain.close();
    co_await guarded.close();
  });
  CHECK(log.size() == 1);  // only the last call's handler ran
}

TEST_CASE("server interceptors see notifications too and can drop them before the handler runs",
          "[rpc][interceptor][notification]") {
  rig r;
  journal log;
  int pings = 0;
  r.router.on(ping, [&pings] { ++pings; });
  r.router.on(add, [](int a, int b) { return a + b; });
  auto guard = std::make_shared<recording_server_interceptor>("guard", log);
  guard->refuse_without = "token";
  r.router.add_interceptor(guard);
  auto client = r.connect();
  r.run([&]() -> duet::task<void> {
    const duet::status queued = client.notify(ping);  // notifications carry no metadata: refused
    CHECK(queued.ok());
    duet::call_options o;
    o.metadata.add("token", "t");
    const int sum = co_await client.call(o, add, 1, 2);  // served after the notification, in order
    CHECK(sum == 3);
    co_await client.close();
  });
  CHECK(pings == 0);
  CHECK(r.router.dropped_notifications() == 0);  // refused, not unknown
  const journal expected{"guard.before test.ping", "guard.after unauthenticated", "guard.before test.add",
                         "guard.after ok"};
  CHECK(log == expected);
}

}  // namespace interceptor_test
