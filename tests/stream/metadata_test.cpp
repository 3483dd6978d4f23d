// A stream's call options: its metadata reaches the handler with the
// request, and the handler's response metadata comes back as the stream's
// trailing metadata.
#include "stream/stream_rig.hpp"

#include "rpc/rig.hpp"

#include <catch2/catch.hpp>

#include <optional>
#include <string>

namespace {
inline constexpr duet::method<"stream.tagged", duet::stream<std::string>(int)> tagged;
}  // namespace

TEST_CASE("a stream's metadata reaches its handler and the trailing metadata comes back", "[stream]") {
  rig r;
  r.router.on(tagged, [](duet::call_context& ctx, int n, duet::stream_writer<std::string>& out) -> duet::task<void> {
    std::string tenant;
    for (const auto& e : ctx.request_metadata()) {
      if (e.key == "tenant") tenant = e.value;
    }
    for (int i = 0; i < n; ++i) {
      const bool sent = co_await out.send(tenant);
      if (!sent) co_return;
    }
    ctx.response_metadata().add("sent", std::to_string(n));
  });
  r.run([&]() -> duet::task<void> {
    auto client = r.connect();
    duet::call_options options;
    options.metadata.add("tenant", "acme");
    auto s = co_await client.open(options, tagged, 3);
    int got = 0;
    for (;;) {
      std::optional<std::string> v = co_await s.next();
      if (!v) break;
      CHECK(*v == "acme");
      ++got;
    }
    CHECK(got == 3);
    duet::result<void> end = co_await s.finish();
    CHECK(end.has_value());
    REQUIRE(s.trailing_metadata().size() == 1);
    CHECK(s.trailing_metadata().begin()->key == "sent");
    CHECK(s.trailing_metadata().begin()->value == "3");
    co_await client.close();
  });
}
