// Streams exist only where both hellos announce them: otherwise a stream
// ends at once with unimplemented and no stream frame is sent, and a peer
// that sends one anyway has broken the protocol.
#include "stream/stream_rig.hpp"

#include "rpc/rig.hpp"

#include <duet/wire/native.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <optional>
#include <span>

using namespace stream_methods;

namespace {
// Declared by the caller as a stream under the name of the server's unary `add`.
inline constexpr duet::method<"stream.add", duet::stream<int>(int, int)> add_as_stream;
// No handler for it on the server.
inline constexpr duet::method<"stream.nowhere", duet::stream<int>(int)> nowhere;
}  // namespace

TEST_CASE("a client that does not announce streams gets unimplemented without sending anything", "[stream]") {
  rig r;
  serve_stream_methods(r.router);
  r.run([&]() -> duet::task<void> {
    duet::session_options options;
    options.streams = false;
    auto client = r.connect(options);
    auto s = co_await client.open(count, 5);
    CHECK(s.ended());
    CHECK(s.final_status().code() == duet::status_code::unimplemented);
    std::optional<std::uint64_t> v = co_await s.next();
    CHECK_FALSE(v.has_value());
    CHECK(client.underlying_session().calls_in_flight() == 0);
    const int sum = co_await client.call(add, 1, 2);  // unary calls are unaffected
    CHECK(sum == 3);
    co_await client.close();
  });
}

TEST_CASE("a server without streams makes a stream end with unimplemented at the caller", "[stream]") {
  duet::server_options server_options;
  server_options.session.streams = false;
  rig r(server_options);
  serve_stream_methods(r.router);
  r.run([&]() -> duet::task<void> {
    auto client = r.connect();
    auto s = co_await client.open(echo);
    duet::result<void> end = co_await s.finish();
    REQUIRE_FALSE(end.has_value());
    CHECK(end.error().code() == duet::status_code::unimplemented);
    const int sum = co_await client.call(add, 1, 2);
    CHECK(sum == 3);
    co_await client.close();
  });
}

TEST_CASE("a stream of a method the server lacks, or serves unary, ends with not_found or unimplemented",
          "[stream]") {
  rig r;
  serve_stream_methods(r.router);
  r.run([&]() -> duet::task<void> {
    auto client = r.connect();
    auto missing = co_await client.open(nowhere, 1);
    duet::result<void> m = co_await missing.finish();
    REQUIRE_FALSE(m.has_value());
    CHECK(m.error().code() == duet::status_code::not_found);
    auto shaped = co_await client.open(add_as_stream, 1, 2);
    duet::result<void> s = co_await shaped.finish();
    REQUIRE_FALSE(s.has_value());
    CHECK(s.error().code() == duet::status_code::unimplemented);
    co_await client.close();
  });
}

TEST_CASE("a stream frame from a peer that did not announce streams closes the connection", "[stream]") {
  rig r;
  serve_stream_methods(r.router);
  r.run([&]() -> duet::task<void> {
    auto [near_end, far_end] = duet::make_memory_pair(r.loop);
    r.connections.spawn(r.server.serve_connection(std::move(far_end)));
    duet::byte_vector out;
    duet::encode_hello(out, duet::hello_message{});
    duet::encode_frame(out, duet::frame_header{duet::frame_kind::request, duet::flag_stream, 0, 1, count.id, 0, 0}, {},
                       {});
    const duet::const_buffer piece(out);
    const duet::io_result w = co_await near_end.write(std::span<const duet::const_buffer>(&piece, 1));
    REQUIRE_FALSE(w.error);
    bool closed = false;
    std::byte buffer[4096];
    for (int reads = 0; reads < 100 && !closed; ++reads) {
      const duet::io_result got = co_await near_end.read_some(buffer);
      closed = got.error || got.bytes == 0;
    }
    CHECK(closed);
    near_end.close();
  });
}
