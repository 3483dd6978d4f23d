// Malformed stream frames are protocol errors that close their connection
// (the server serves on); frames for a stream that already ended are
// dropped and counted, not errors.
#include "stream/stream_rig.hpp"

#include "rpc/rig.hpp"

#include <duet/detail/endian.hpp>
#include <duet/wire/decoder.hpp>
#include <duet/wire/native.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <span>

using namespace stream_methods;

namespace {

inline constexpr duet::method<"stream.deaf", int(duet::stream<std::uint64_t>)> deaf;

duet::byte_vector streams_hello() {
  duet::byte_vector out;
  duet::encode_hello(out, duet::hello_message{duet::default_max_frame_size, 100, duet::feature_streams, 16});
  return out;
}

void put(duet::byte_vector& out, duet::frame_kind kind, std::uint16_t flags, std::uint32_t id, std::uint32_t method,
         duet::const_buffer metadata, duet::const_buffer payload) {
  duet::encode_frame(out, duet::frame_header{kind, flags, 0, id, method, 0, 0}, metadata, payload);
}

duet::byte_vector credit_payload(std::uint32_t n) {
  duet::byte_vector p(4);
  duet::detail::store_le32(p.data(), n);
  return p;
}

// Writes `bytes` to a new connection of the server and reads until it is
// closed: true if the server closed it.
duet::task<bool> server_closes(rig& r, duet::byte_vector bytes) {
  auto [near_end, far_end] = duet::make_memory_pair(r.loop);
  r.connections.spawn(r.server.serve_connection(std::move(far_end)));
  const duet::const_buffer piece(bytes);
  const duet::io_result w = co_await near_end.write(std::span<const duet::const_buffer>(&piece, 1));
  REQUIRE_FALSE(w.error);
  bool closed = false;
  std::byte buffer[4096];
  for (int reads = 0; reads < 1000 && !closed; ++reads) {
    const duet::io_result got = co_await near_end.read_some(buffer);
    closed = got.error || got.bytes == 0;
  }
  near_end.close();
  co_return closed;
}

// Appends a call of add(20, 22) with `id`.
void put_add(duet::byte_vector& out, std::uint32_t id) {
  duet::byte_vector args;
  duet::byte_writer w(args);
  duet::encode(w, 20);
  duet::encode(w, 22);
  put(out, duet::frame_kind::request, 0, id, add.id, {}, args);
}

// Writes `bytes` to a new connection of the server and reads until the
// answer to request `id` (an add of 20 and 22) comes: true if it did, with 42.
duet::task<bool> server_answers(rig& r, duet::byte_vector bytes, std::uint32_t id) {
  auto [near_end, far_end] = duet::make_memory_pair(r.loop);
  r.connections.spawn(r.server.serve_connection(std::move(far_end)));
  const duet::const_buffer piece(bytes);
  const duet::io_result wr = co_await near_end.write(std::span<const duet::const_buffer>(&piece, 1));
  REQUIRE_FALSE(wr.error);
  duet::frame_decoder decoder;
  bool answered = false;
  for (int reads = 0; reads < 100 && !answered; ++reads) {
    const duet::mutable_buffer room = decoder.prepare(4096);
    const duet::io_result got = co_await near_end.read_some(room);
    if (got.error || got.bytes == 0) break;
    decoder.commit(got.bytes);
    duet::frame_view f{};
    while (decoder.next(f) == duet::decode_status::frame) {
      if (f.header.kind != duet::frame_kind::response) continue;
      CHECK(f.header.id == id);
      CHECK(f.header.status == 0);
      int value = 0;
      CHECK(duet::decode_all(f.payload, value));
      CHECK(value == 42);
      answered = true;
    }
  }
  near_end.close();
  co_return answered;
}

// Serves `deaf`, which reads nothing: no credit is ever granted back.
void serve_deaf(rig& r) {
  r.router.on(deaf, [&r](duet::call_context& ctx, duet::stream_reader<std::uint64_t>&) -> duet::task<int> {
    (void)co_await r.loop.sleep_for(std::chrono::seconds(10), ctx.stop_token());
    co_return 0;
  });
}

// A hello, the opening of stream 5 of `deaf`, and a first message that
// leaves 1 byte of the server's window (default_stream_window bytes, and
// nobody grants more).
duet::byte_vector deaf_stream_with_one_byte_left() {
  duet::byte_vector bytes = streams_hello();
  put(bytes, duet::frame_kind::request, duet::flag_stream, 5, deaf.id, {}, {});
  const duet::byte_vector first(duet::default_stream_window - duet::frame_header_size - 1, std::byte{1});
  put(bytes, duet::frame_kind::stream_data, 0, 5, 0, {}, first);
  return bytes;
}

duet::task<void> still_serves(rig& r) {
  auto client = r.connect();
  auto s = co_await client.open(sum);
  const std::uint64_t two = 2;
  const bool sent = co_await s.send(two);
  CHECK(sent);
  duet::result<std::uint64_t> total = co_await s.finish();
  REQUIRE(total.has_value());
  CHECK(*total == 2);
  co_await client.close();
}

}  // namespace

TEST_CASE("each malformed stream frame closes its connection and the server serves on", "[stream][bad-input]") {
  const duet::byte_vector md = {std::byte{1}, std::byte{1}, std::byte{'k'}, std::byte{0}};  // one pair k=""
  const duet::byte_vector three = {std::byte{1}, std::byte{0}, std::byte{0}};
  const duet::byte_vector one = {std::byte{7}};
  const duet::byte_vector zero = credit_payload(0);
  const duet::byte_vector eight = {std::byte{8}, std::byte{0}, std::byte{0}, std::byte{0},
                                   std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0}};
  struct bad {
    const char* what;
    duet::frame_kind kind;
    std::uint16_t flags;
    duet::const_buffer metadata;
    duet::const_buffer payload;
  };
  const bad cases[] = {
      {"a credit payload of 3 bytes", duet::frame_kind::credit, 0, {}, three},
      {"a credit of 0", duet::frame_kind::credit, 0, {}, zero},
      {"stream_data with metadata", duet::frame_kind::stream_data, 0, md, eight},
      {"stream_end with a payload", duet::frame_kind::stream_end, 0, {}, one},
      {"stream_end with from_callee", duet::frame_kind::stream_end, duet::flag_from_callee, {}, {}},
      {"a flag undefined for stream_data", duet::frame_kind::stream_data, 0x0004, {}, eight},
  };
  for (const bad& c : cases) {
    INFO(c.what);
    rig r;
    serve_stream_methods(r.router);
    r.run([&]() -> duet::task<void> {
      duet::byte_vector bytes = streams_hello();
      put(bytes, duet::frame_kind::request, duet::flag_stream, 5, sum.id, {}, {});
      put(bytes, c.kind, c.flags, 5, 0, c.metadata, c.payload);
      const bool closed = co_await server_closes(r, std::move(bytes));
      CHECK(closed);
      co_await still_serves(r);
    });
  }
}

TEST_CASE("messages beyond the credit given are a protocol error", "[stream][bad-input]") {
  rig r;
  serve_stream_methods(r.router);
  serve_deaf(r);
  r.run([&]() -> duet::task<void> {
    // A second message (of any size) may still go and takes the credit
    // below zero, a third may not.
    duet::byte_vector bytes = deaf_stream_with_one_byte_left();
    const duet::byte_vector eight(8, std::byte{1});
    put(bytes, duet::frame_kind::stream_data, 0, 5, 0, {}, eight);
    put(bytes, duet::frame_kind::stream_data, 0, 5, 0, {}, eight);
    const bool closed = co_await server_closes(r, std::move(bytes));
    CHECK(closed);
    co_await still_serves(r);
  });
}

TEST_CASE("a message may go while any credit is left, whatever its size", "[stream][bad-input]") {
  rig r;
  serve_stream_methods(r.router);
  serve_deaf(r);
  r.run([&]() -> duet::task<void> {
    // 1 byte of credit left, then a message of 64 KiB: within the rules.
    duet::byte_vector bytes = deaf_stream_with_one_byte_left();
    const duet::byte_vector large(64 * 1024, std::byte{1});
    put(bytes, duet::frame_kind::stream_data, 0, 5, 0, {}, large);
    put_add(bytes, 7);
    const bool answered = co_await server_answers(r, std::move(bytes), 7);
    CHECK(answered);
  });
}

TEST_CASE("stream frames for unknown or ended streams are dropped, counted, and harm nothing", "[stream][bad-input]") {
  rig r;
  serve_stream_methods(r.router);
  r.run([&]() -> duet::task<void> {
    duet::byte_vector bytes = streams_hello();
    const duet::byte_vector eight(8, std::byte{1});
    const duet::byte_vector grant = credit_payload(4);
    put(bytes, duet::frame_kind::stream_data, 0, 77, 0, {}, eight);
    put(bytes, duet::frame_kind::stream_end, 0, 78, 0, {}, {});
    put(bytes, duet::frame_kind::credit, duet::flag_from_callee, 79, 0, {}, grant);
    put(bytes, duet::frame_kind::credit, 0, 80, 0, {}, grant);
    // Then a plain call, which must be answered.
    put_add(bytes, 9);
    const bool answered = co_await server_answers(r, std::move(bytes), 9);
    CHECK(answered);
  });
}

TEST_CASE("a caller drops and counts stream frames for streams it no longer has", "[stream][bad-input]") {
  duet::event_loop loop;
  loop.block_on([&]() -> duet::task<void> {
    auto [near_end, far_end] = duet::make_memory_pair(loop);
    duet::client<duet::memory_stream> client(loop, std::move(near_end));
    duet::byte_vector bytes = streams_hello();
    const duet::byte_vector eight(8, std::byte{1});
    const duet::byte_vector grant = credit_payload(4);
    put(bytes, duet::frame_kind::stream_data, duet::flag_from_callee, 12345, 0, {}, eight);
    put(bytes, duet::frame_kind::credit, duet::flag_from_callee, 12346, 0, {}, grant);
    const duet::const_buffer piece(bytes);
    const duet::io_result wr = co_await far_end.write(std::span<const duet::const_buffer>(&piece, 1));
    REQUIRE_FALSE(wr.error);
    for (int turns = 0; turns < 1000 && client.underlying_session().dropped_stream_frames() < 2; ++turns)
      co_await loop.schedule();
    CHECK(client.underlying_session().dropped_stream_frames() == 2);
    CHECK(client.is_open());
    far_end.close();
    co_await client.close();
  }());
}

TEST_CASE("a session that has used no stream still closes on a malformed stream frame", "[stream][bad-input]") {
  // No stream was opened or served here: the session has no stream engine
  // (docs/design.md), and checks every stream frame all the same.
  const duet::byte_vector md = {std::byte{1}, std::byte{1}, std::byte{'k'}, std::byte{0}};  // one pair k=""
  const duet::byte_vector three = {std::byte{1}, std::byte{0}, std::byte{0}};
  const duet::byte_vector one = {std::byte{7}};
  const duet::byte_vector zero = credit_payload(0);
  const duet::byte_vector eight(8, std::byte{1});
  struct bad {
    const char* what;
    duet::frame_kind kind;
    duet::const_buffer metadata;
    duet::const_buffer payload;
  };
  const bad cases[] = {
      {"a credit payload of 3 bytes", duet::frame_kind::credit, {}, three},
      {"a credit of 0", duet::frame_kind::credit, {}, zero},
      {"stream_data with metadata", duet::frame_kind::stream_data, md, eight},
      {"stream_end with a payload", duet::frame_kind::stream_end, {}, one},
  };
  for (const bad& c : cases) {
    INFO(c.what);
    duet::event_loop loop;
    loop.block_on([&]() -> duet::task<void> {
      auto [near_end, far_end] = duet::make_memory_pair(loop);
      duet::client<duet::memory_stream> client(loop, std::move(near_end));
      duet::byte_vector bytes = streams_hello();
      put(bytes, c.kind, duet::flag_from_callee, 12345, 0, c.metadata, c.payload);
      const duet::const_buffer piece(bytes);
      const duet::io_result wr = co_await far_end.write(std::span<const duet::const_buffer>(&piece, 1));
      REQUIRE_FALSE(wr.error);
      for (int turns = 0; turns < 1000 && client.is_open(); ++turns) co_await loop.schedule();
      CHECK_FALSE(client.is_open());
      CHECK(client.underlying_session().dropped_stream_frames() == 0);
      far_end.close();
      co_await client.close();
    }());
  }
}
