// Bearer-token authentication with interceptors. The server's interceptor
// answers every request without a valid `authorization: Bearer <token>`
// metadata pair with `unauthenticated` before any handler runs; the client's
// interceptor adds the token to every call. Server and clients share one
// loop and talk over TCP on 127.0.0.1. Exits 0 when the authenticated call
// succeeds and the calls without a token, or with a wrong one, are refused.
#include <duet/duet.hpp>

#include <cstdio>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

inline constexpr duet::method<"account.balance", long(std::string)> balance;

// Checks the caller's token before any handler runs.
class require_bearer_token final : public duet::server_interceptor {
 public:
  explicit require_bearer_token(std::string token) : m_expected("Bearer " + std::move(token)) {}

  duet::status before_handler(duet::call_context& ctx) override {
    const std::optional<std::string_view> given = ctx.request_metadata().find("authorization");
    if (!given) return refuse(ctx, "no authorization metadata");
    if (*given != m_expected) return refuse(ctx, "the bearer token is not valid");
    return {};
  }

 private:
  static duet::status refuse(duet::call_context& ctx, const char* why) {
    ctx.response_metadata().add("www-authenticate", "Bearer");  // tells the caller what is expected
    return duet::status(duet::status_code::unauthenticated, why);
  }

  std::string m_expected;
};

// Adds the token to every call of the client it is installed on.
class add_bearer_token final : public duet::client_interceptor {
 public:
  explicit add_bearer_token(std::string token) : m_value("Bearer " + std::move(token)) {}

  duet::status before_call(duet::outgoing_call& call) override {
    call.request_metadata.add("authorization", m_value);
    return {};
  }

 private:
  std::string m_value;
};

duet::task<int> run_clients(duet::event_loop& loop, duet::endpoint where) {
  int failures = 0;

  // With the token: the handler runs.
  duet::client authenticated(loop, (co_await duet::tcp_stream::connect(loop, where)).value());
  authenticated.add_interceptor(std::make_shared<add_bearer_token>("s3cret"));
  const duet::result<long> ok = co_await authenticated.try_call(balance, "alice");
  if (ok && *ok == 1200) {
    std::printf("with the token:    balance %ld\n", *ok);
  } else {
    std::printf("with the token:    unexpected %s\n", ok ? "value" : ok.error().to_string().c_str());
    ++failures;
  }

  // Without a token, and with a wrong one: refused before the handler.
  duet::client anonymous(loop, (co_await duet::tcp_stream::connect(loop, where)).value());
  duet::metadata reply;
  duet::call_options options;
  options.response_metadata = &reply;
  const duet::result<long> refused = co_await anonymous.try_call(options, balance, "alice");
  if (refused.code() == duet::status_code::unauthenticated && reply.contains("www-authenticate")) {
    std::printf("without a token:   %s\n", refused.error().to_string().c_str());
  } else {
    std::printf("without a token:   not refused as expected\n");
    ++failures;
  }

  duet::client impostor(loop, (co_await duet::tcp_stream::connect(loop, where)).value());
  impostor.add_interceptor(std::make_shared<add_bearer_token>("guess"));
  const duet::result<long> wrong = co_await impostor.try_call(balance, "alice");
  if (wrong.code() == duet::status_code::unauthenticated) {
    std::printf("with a wrong one:  %s\n", wrong.error().to_string().c_str());
  } else {
    std::printf("with a wrong one:  not refused as expected\n");
    ++failures;
  }

  co_await authenticated.close();
  co_await anonymous.close();
  co_await impostor.close();
  co_return failures;
}

int main() {
  duet::event_loop loop;
  duet::router router;
  int handled = 0;
  router.add_interceptor(std::make_shared<require_bearer_token>("s3cret"));
  router.on(balance, [&handled](const std::string& account) -> long {
    ++handled;
    return account == "alice" ? 1200 : 0;
  });
  duet::server server(loop, router);
  auto listener = duet::tcp_listener::listen(loop, duet::endpoint::loopback_v4(0));
  const duet::endpoint where = listener.local_endpoint();

  const int failures = loop.block_on([&]() -> duet::task<int> {
    duet::async_scope serving;
    serving.spawn(server.serve(std::move(listener)));
    int failed = 1;
    try {
      failed = co_await run_clients(loop, where);
    } catch (const std::exception& e) {
      std::printf("the clients failed: %s\n", e.what());
    }
    server.stop();
    co_await serving.join();
    co_return failed;
  }());

  if (handled != 1) {
    std::printf("the handler ran %d times; only the authenticated call should reach it\n", handled);
    return 1;
  }
  return failures == 0 ? 0 : 1;
}
