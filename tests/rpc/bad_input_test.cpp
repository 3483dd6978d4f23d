// A peer that breaks the protocol, truncates a frame or vanishes mid-call:
// each ends in a status, and the server keeps serving everyone else.
#include "rig.hpp"

#include <duet/coro/when_all.hpp>
#include <duet/wire/frame.hpp>
#include <duet/wire/native.hpp>

#include <catch2/catch.hpp>

#include <cstring>
#include <span>
#include <string_view>

namespace bad_input_test {

using namespace rig_methods;

namespace {

duet::byte_vector bytes_of(std::string_view text) {
  duet::byte_vector out(text.size());
  std::memcpy(out.data(), text.data(), text.size());
  return out;
}

duet::byte_vector hello_frame() {
  duet::byte_vector out;
  duet::encode_hello(out, duet::hello_message{});
  return out;
}

// A header announcing a body, optionally followed by less than all of it.
duet::byte_vector frame(duet::frame_kind kind, std::uint32_t id, std::uint32_t method, std::uint32_t payload_length,
                        std::size_t bytes_present) {
  duet::byte_vector out(duet::frame_header_size + bytes_present, std::byte{0x5a});
  duet::store_frame_header(out.data(), duet::frame_header{kind, 0, 0, id, method, 0, payload_length});
  return out;
}

duet::task<void> send(duet::memory_stream& stream, const duet::byte_vector& data) {
  const duet::const_buffer piece(data);
  const duet::io_result r = co_await stream.write(std::span<const duet::const_buffer>(&piece, 1));
  REQUIRE_FALSE(r.error);
}

// Reads until the server closes the connection; true if it did.
duet::task<bool> closed_by_peer(duet::memory_stream& stream) {
  std::byte buffer[4096];
  for (int reads = 0; reads < 10000; ++reads) {
    const duet::io_result r = co_await stream.read_some(buffer);
    if (r.error || r.bytes == 0) co_return true;
  }
  co_return false;
}

// The server answers a well-behaved client after a bad one was cut off.
duet::task<void> still_serves(rig& r) {
  auto good = r.connect();
  const int sum = co_await good.call(add, 20, 22);
  CHECK(sum == 42);
  co_await good.close();
}

duet::task<void> raw_connection_gets_cut(rig& r, duet::byte_vector bad) {
  auto [near_end, far_end] = duet::make_memory_pair(r.loop);
  r.connections.spawn(r.server.serve_connection(std::move(far_end)));
  co_await send(near_end, bad);
  const bool closed = co_await closed_by_peer(near_end);
  CHECK(closed);
  near_end.close();
  co_await still_serves(r);
}

}  // namespace

TEST_CASE("garbage instead of a hello closes that connection and the server serves on", "[rpc][bad-input]") {
  rig r;
  r.router.on(add, [](int a, int b) { return a + b; });
  r.run([&]() -> duet::task<void> { co_await raw_connection_gets_cut(r, bytes_of("GET / HTTP/1.1\r\n\r\n-padding-")); });
}

TEST_CASE("a frame with bad magic after the hello closes that connection", "[rpc][bad-input]") {
  rig r;
  r.router.on(add, [](int a, int b) { return a + b; });
  r.run([&]() -> duet::task<void> {
    duet::byte_vector stream = hello_frame();
    duet::byte_vector bad = frame(duet::frame_kind::request, 1, add.id, 8, 8);
    bad[0] = std::byte{'X'};
    stream.insert(stream.end(), bad.begin(), bad.end());
    co_await raw_connection_gets_cut(r, stream);
  });
}

TEST_CASE("a frame of an unknown kind closes that connection", "[rpc][bad-input]") {
  rig r;
  r.router.on(add, [](int a, int b) { return a + b; });
  r.run([&]() -> duet::task<void> {
    duet::byte_vector stream = hello_frame();
    duet::byte_vector bad = frame(duet::frame_kind::request, 1, add.id, 0, 0);
    bad[3] = std::byte{200};
    stream.insert(stream.end(), bad.begin(), bad.end());
    co_await raw_connection_gets_cut(r, stream);
  });
}

TEST_CASE("a frame announcing more than the limit closes that connection before its body arrives", "[rpc][bad-input]") {
  rig r;
  r.router.on(add, [](int a, int b) { return a + b; });
  r.run([&]() -> duet::task<void> {
    duet::byte_vector stream = hello_frame();
    duet::byte_vector bad = frame(duet::frame_kind::request, 1, add.id, 0xfffffff0u, 0);
    stream.insert(stream.end(), bad.begin(), bad.end());
    co_await raw_connection_gets_cut(r, stream);
  });
}

TEST_CASE("a truncated frame followed by the end of the stream ends that connection only", "[rpc][bad-input]") {
  rig r;
  r.router.on(add, [](int a, int b) { return a + b; });
  r.run([&]() -> duet::task<void> {
    auto [near_end, far_end] = duet::make_memory_pair(r.loop);
    r.connections.spawn(r.server.serve_connection(std::move(far_end)));
    duet::byte_vector stream = hello_frame();
    duet::byte_vector partial = frame(duet::frame_kind::request, 1, add.id, 8, 3);
    stream.insert(stream.end(), partial.begin(), partial.end());
    co_await send(near_end, stream);
    near_end.close();
    co_await still_serves(r);
  });
}

TEST_CASE("a request whose arguments are truncated is answered with invalid_argument", "[rpc][bad-input]") {
  rig r;
  r.router.on(add, [](int a, int b) { return a + b; });
  r.run([&]() -> duet::task<void> {
    auto [near_end, far_end] = duet::make_memory_pair(r.loop);
    r.connections.spawn(r.server.serve_connection(std::move(far_end)));
    duet::byte_vector stream = hello_frame();
    duet::byte_vector request = frame(duet::frame_kind::request, 7, add.id, 5, 5);  // two ints need 8
    stream.insert(stream.end(), request.begin(), request.end());
    co_await send(near_end, stream);

    // Read the server's hello, then its answer to request 7.
    duet::frame_decoder decoder;
    duet::frame_view answer{};
    int frames = 0;
    while (frames < 2) {
      const duet::mutable_buffer room = decoder.prepare(4096);
      const duet::io_result got = co_await near_end.read_some(room);
      REQUIRE_FALSE(got.error);
      REQUIRE(got.bytes > 0);
      decoder.commit(got.bytes);
      while (frames < 2 && decoder.next(answer) == duet::decode_status::frame) ++frames;
    }
    CHECK(answer.header.kind == duet::frame_kind::response);
    CHECK(answer.header.id == 7);
    CHECK(answer.header.status == static_cast<std::uint16_t>(duet::status_code::invalid_argument));
    near_end.close();
    co_await still_serves(r);
  });
}

TEST_CASE("a server that vanishes mid-call ends the call with unavailable", "[rpc][bad-input]") {
  duet::event_loop loop;
  loop.block_on([&]() -> duet::task<void> {
    auto [near_end, far_end] = duet::make_memory_pair(loop);
    duet::client<duet::memory_stream> c(loop, std::move(near_end));
    auto vanish = [&]() -> duet::task<void> {
      std::byte buffer[256];
      (void)co_await far_end.read_some(buffer);  // the hello and the request arrive...
      far_end.close();                           // ...and the peer is gone
    };
    auto call = [&]() -> duet::task<void> {
      duet::result<int> result = co_await c.try_call(add, 1, 2);
      CHECK(result.code() == duet::status_code::unavailable);
    };
    co_await duet::when_all(call(), vanish());
    CHECK_FALSE(c.is_open());
    co_await c.close();
  }());
}

TEST_CASE("a server that answers with garbage ends the client's calls with protocol_error", "[rpc][bad-input]") {
  duet::event_loop loop;
  loop.block_on([&]() -> duet::task<void> {
    auto [near_end, far_end] = duet::make_memory_pair(loop);
    duet::client<duet::memory_stream> c(loop, std::move(near_end));
    auto liar = [&]() -> duet::task<void> {
      std::byte buffer[256];
      (void)co_await far_end.read_some(buffer);
      duet::byte_vector garbage = hello_frame();
      const duet::byte_vector tail = bytes_of("this is not a frame header at all");
      garbage.insert(garbage.end(), tail.begin(), tail.end());
      co_await send(far_end, garbage);
    };
    auto call = [&]() -> duet::task<void> {
      duet::result<int> result = co_await c.try_call(add, 1, 2);
      CHECK(result.code() == duet::status_code::protocol_error);
      CHECK_FALSE(result.error().message().empty());
    };
    co_await duet::when_all(call(), liar());
    co_await c.close();
    far_end.close();
  }());
}

}  // namespace bad_input_test
