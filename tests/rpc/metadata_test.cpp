// Request and response metadata: set through call options, read in the
// handler's context, set by the handler, read by the caller; over memory and
// over TCP. Malformed metadata on the wire is a protocol error.
#include "rig.hpp"
#include "tcp_rig.hpp"

#include <duet/coro/when_all.hpp>
#include <duet/wire/frame.hpp>
#include <duet/wire/metadata.hpp>
#include <duet/wire/native.hpp>

#include <catch2/catch.hpp>

#include <optional>
#include <span>
#include <string>

namespace metadata_test {

using namespace rig_methods;

namespace {

// The handlers echo the request's "x-request-id" back as response metadata
// and answer with what they saw.
void serve_echoing_metadata(duet::router& router, duet::event_loop& loop) {
  router.on(echo, [](duet::call_context& ctx, std::string key) {
    const auto seen = ctx.request_metadata().find(key);
    if (const auto id = ctx.request_metadata().find("x-request-id")) {
      ctx.response_metadata().add("x-request-id", std::string(*id));
    }
    ctx.response_metadata().add("served-by", "plain");
    return seen ? std::string(*seen) : std::string("<none>");
  });
  router.on(add, [&loop](duet::call_context& ctx, int a, int b) -> duet::task<int> {
    co_await loop.schedule();  // the context outlives the reader's turn
    ctx.response_metadata().add("served-by", "coroutine");
    ctx.response_metadata().add("pairs", std::to_string(ctx.request_metadata().size()));
    co_return a + b;
  });
  router.on(fail, [](duet::call_context& ctx, int code) -> int {
    ctx.response_metadata().add("retry-after", "5");
    throw duet::rpc_error(duet::status(static_cast<duet::status_code>(code), "refused"));
  });
}

template <class Client>
duet::task<void> metadata_round_trips(Client& client) {
  duet::call_options o;
  o.metadata.add("x-request-id", "req-1").add("locale", "de");
  duet::metadata reply;
  o.response_metadata = &reply;

  const std::string seen = co_await client.call(o, echo, "locale");
  CHECK(seen == "de");
  CHECK(reply.find("x-request-id") == std::optional<std::string_view>("req-1"));
  CHECK(reply.find("served-by") == std::optional<std::string_view>("plain"));

  const int sum = co_await client.call(o, add, 2, 3);
  CHECK(sum == 5);
  CHECK(reply.size() == 2);
  CHECK(reply.find("served-by") == std::optional<std::string_view>("coroutine"));
  CHECK(reply.find("pairs") == std::optional<std::string_view>("2"));

  duet::result<int> refused = co_await client.try_call(o, fail, static_cast<int>(duet::status_code::unavailable));
  CHECK(refused.code() == duet::status_code::unavailable);
  CHECK(reply.size() == 1);
  CHECK(reply.find("retry-after") == std::optional<std::string_view>("5"));

  // Without metadata: the handler sees none; the out-pointer is cleared first.
  duet::call_options plain;
  plain.response_metadata = &reply;
  const std::string unseen = co_await client.call(plain, echo, "locale");
  CHECK(unseen == "<none>");
  CHECK(reply.size() == 1);  // only served-by: no x-request-id came in
}

duet::byte_vector hello_frame() {
  duet::byte_vector out;
  duet::encode_hello(out, duet::hello_message{});
  return out;
}

template <class Stream>
duet::task<void> write_all(Stream& stream, const duet::byte_vector& data) {
  const duet::const_buffer piece(data);
  const duet::io_result r = co_await stream.write(std::span<const duet::const_buffer>(&piece, 1));
  REQUIRE_FALSE(r.error);
}

// Reads until the peer closes the connection; true if it did.
template <class Stream>
duet::task<bool> closed_by_peer(Stream& stream) {
  std::byte buffer[4096];
  for (int reads = 0; reads < 10000; ++reads) {
    const duet::io_result r = co_await stream.read_some(buffer);
    if (r.error || r.bytes == 0) co_return true;
  }
  co_return false;
}

// A request for add(1, 2) whose metadata block is `block`.
duet::byte_vector request_with_metadata(std::uint32_t id, const duet::byte_vector& block) {
  duet::byte_vector out;
  duet::byte_vector payload;
  duet::byte_writer w(payload);
  duet::encode(w, 1, 2);
  duet::encode_frame(out, duet::frame_header{duet::frame_kind::request, 0, 0, id, add.id, 0, 0}, block, payload);
  return out;
}

duet::byte_vector raw_bytes(std::initializer_list<int> values) {
  duet::byte_vector out;
  for (int v : values) out.push_back(static_cast<std::byte>(v));
  return out;
}

duet::task<void> malformed_request_cuts_the_connection(tcp_rig& r, int& handled) {
  duet::tcp_stream raw = co_await r.connect_raw();
  duet::byte_vector stream = hello_frame();
  const duet::byte_vector bad = request_with_metadata(9, raw_bytes({0x01, 0x01, 'A', 0x00}));  // uppercase key
  stream.insert(stream.end(), bad.begin(), bad.end());
  co_await write_all(raw, stream);
  const bool closed = co_await closed_by_peer(raw);
  CHECK(closed);
  CHECK(handled == 0);
  raw.close();

  // Everyone else is still served, and well-formed metadata is fine.
  auto good = co_await r.connect();
  duet::call_options o;
  o.metadata.add("k", "v");
  const int sum = co_await good.call(o, add, 20, 22);
  CHECK(sum == 42);
  CHECK(handled == 1);
  co_await good.close();
}

}  // namespace

TEST_CASE("request metadata reaches the handler and response metadata reaches the caller", "[rpc][metadata]") {
  rig r;
  serve_echoing_metadata(r.router, r.loop);
  auto client = r.connect();
  r.run([&]() -> duet::task<void> {
    co_await metadata_round_trips(client);
    co_await client.close();
  });
}

TEST_CASE("metadata travels both ways over TCP", "[rpc][metadata][socket]") {
  tcp_rig r;
  serve_echoing_metadata(r.router, r.loop);
  r.run([&]() -> duet::task<void> {
    auto client = co_await r.connect();
    co_await metadata_round_trips(client);
    // Large values travel too.
    duet::call_options o;
    o.metadata.add("blob", std::string(100000, 'b'));
    const std::string seen = co_await client.call(o, echo, "blob");
    CHECK(seen == std::string(100000, 'b'));
    co_await client.close();
  });
}

TEST_CASE("a request with malformed metadata closes its connection with a protocol error before any handler runs",
          "[rpc][metadata][bad-input][socket]") {
  tcp_rig r;
  int handled = 0;
  r.router.on(add, [&handled](int a, int b) {
    ++handled;
    return a + b;
  });
  r.run([&]() -> duet::task<void> { co_await malformed_request_cuts_the_connection(r, handled); });
}

TEST_CASE("a response with malformed metadata ends the client's calls with protocol_error",
          "[rpc][metadata][bad-input]") {
  duet::event_loop loop;
  loop.block_on([&]() -> duet::task<void> {
    auto [near_end, far_end] = duet::make_memory_pair(loop);
    duet::client<duet::memory_stream> c(loop, std::move(near_end));
    auto liar = [&]() -> duet::task<void> {
      // Read the client's hello and request, then answer its id with a
      // response whose metadata block is cut short.
      duet::frame_decoder decoder;
      duet::frame_view request{};
      int frames = 0;
      while (frames < 2) {
        const duet::io_result got = co_await far_end.read_some(decoder.prepare(4096));
        REQUIRE_FALSE(got.error);
        REQUIRE(got.bytes > 0);
        decoder.commit(got.bytes);
        while (frames < 2 && decoder.next(request) == duet::decode_status::frame) ++frames;
      }
      duet::byte_vector answer = hello_frame();
      duet::encode_frame(answer, duet::frame_header{duet::frame_kind::response, 0, 0, request.header.id, 0, 0, 0},
                         raw_bytes({0x02, 0x01, 'a', 0x00}), raw_bytes({6, 0, 0, 0}));
      co_await write_all(far_end, answer);
    };
    auto call = [&]() -> duet::task<void> {
      duet::metadata reply;
      duet::call_options o;
      o.response_metadata = &reply;
      duet::result<int> result = co_await c.try_call(o, add, 1, 2);
      CHECK(result.code() == duet::status_code::protocol_error);
      CHECK(reply.empty());
    };
    co_await duet::when_all(call(), liar());
    CHECK_FALSE(c.is_open());
    co_await c.close();
  }());
}

TEST_CASE("a call keeps the metadata it was made with, whatever happens to the options afterwards", "[rpc][metadata]") {
  rig r;
  serve_echoing_metadata(r.router, r.loop);
  auto client = r.connect();
  r.run([&]() -> duet::task<void> {
    duet::call_options o;
    o.metadata.add("x-request-id", "first");
    auto pending = client.call(o, echo, "x-request-id");  // copies the options
    o.metadata.clear();
    o.metadata.add("x-request-id", "second");
    const std::string seen = co_await std::move(pending);
    CHECK(seen == "first");
    co_await client.close();
  });
}

}  // namespace metadata_test
