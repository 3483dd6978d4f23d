// Long byte runs (16 KiB and more) leave without being copied into the
// output buffer: a request's byte-view argument is written from the
// caller's memory, an echoed request's bytes from the reader's buffer. Over
// real TCP sockets: such frames arrive whole and in order among small ones,
// a call that ends before its request is written leaves the stream intact
// (its bytes are copied first), and a server whose writer is held up by a
// slow reader still answers with the bytes it was sent.
#include "tcp_rig.hpp"

#include <duet/codec/codec.hpp>
#include <duet/coro/when_all.hpp>
#include <duet/rpc/method.hpp>
#include <duet/transport/tcp.hpp>
#include <duet/wire/decoder.hpp>
#include <duet/wire/encoder.hpp>
#include <duet/wire/native.hpp>

#include <catch2/catch.hpp>

#include <sys/socket.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <stop_token>
#include <utility>
#include <vector>

namespace gather_write_test {

namespace {

using bytes_view = std::span<const std::byte>;
constexpr duet::method<"gather.echo", bytes_view(bytes_view)> echo_in_place;           // the server's
constexpr duet::method<"gather.echo", std::vector<std::byte>(bytes_view)> echo_bytes;  // the client's
constexpr duet::method<"gather.note", void(int)> note;

std::vector<std::byte> pattern(std::size_t n, unsigned salt) {
  std::vector<std::byte> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::byte>((i * 131 + salt * 7 + i / 251) & 0xff);
  return v;
}

void shrink_buffers(int fd) {
  const int size = 32 * 1024;  // so that a few MiB are far more than the sockets hold
  REQUIRE(::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size) == 0);
  REQUIRE(::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size) == 0);
}

duet::task<void> echo_and_check(duet::client<duet::tcp_stream>& c, std::size_t size, unsigned salt, int& good) {
  const std::vector<std::byte> request = pattern(size, salt);
  const std::vector<std::byte> response = co_await c.call(echo_bytes, bytes_view(request));
  if (response == request) ++good;
}

// Reads whole frames from `stream` into `decoder` until `enough` says so; a
// bounded number of reads.
template <class Enough>
duet::task<void> read_frames(duet::tcp_stream& stream, duet::frame_decoder& decoder,
                             std::vector<duet::frame_view>& frames, std::vector<duet::byte_vector>& kept,
                             Enough enough) {
  for (int reads = 0; reads < 100000 && !enough(); ++reads) {
    const duet::io_result r = co_await stream.read_some(decoder.prepare(64 * 1024));
    REQUIRE_FALSE(r.error);
    REQUIRE(r.bytes != 0);
    decoder.commit(r.bytes);
    duet::frame_view f;
    duet::frame_decoder::status st{};
    while ((st = decoder.next(f)) == duet::frame_decoder::status::frame) {
      // Keep a copy: the decoder's views die at its next prepare().
      kept.emplace_back(f.payload.begin(), f.payload.end());
      f.payload = kept.back();
      f.metadata = {};
      frames.push_back(f);
    }
    REQUIRE(st == duet::frame_decoder::status::need_more);
  }
  REQUIRE(enough());
}

}  // namespace

TEST_CASE("over TCP large payloads sent from the caller's and the reader's memory arrive whole and in order",
          "[rpc][socket][gather]") {
  tcp_rig r;
  r.router.on(echo_in_place, [](bytes_view payload) { return payload; });
  // Below, at and above the size sent in place, many in flight at once so
  // that small and large frames share writes and reads.
  const std::vector<std::size_t> sizes = {5,         16 * 1024 - 1, 16 * 1024,   100,       64 * 1024, 0,
                                          1u << 20,  3,             200 * 1024 + 7, 16 * 1024 + 1, 3u << 20, 40};
  int good = 0;
  int rounds_good = 0;
  r.run([&]() -> duet::task<void> {
    auto c = co_await r.connect();
    for (unsigned round = 0; round < 3; ++round) {
      good = 0;
      std::vector<duet::task<void>> calls;
      for (std::size_t i = 0; i < sizes.size(); ++i) {
        calls.push_back(echo_and_check(c, sizes[i], round * 100 + static_cast<unsigned>(i), good));
      }
      co_await duet::when_all(std::move(calls));
      if (good == static_cast<int>(sizes.size())) ++rounds_good;
    }
    co_await c.close();
  });
  CHECK(rounds_good == 3);
}

TEST_CASE("over TCP a call that ends before its large request is written leaves the stream whole",
          "[rpc][socket][gather][cancel]") {
  // The test is the server, by hand: it reads nothing until every call has
  // ended and the callers' buffers are freed, so the requests are still in
  // the client's writer (partly written) and in its queue when they end.
  duet::event_loop loop;
  const std::vector<std::size_t> sizes = {12u << 20, 1u << 20, 20 * 1024};
  std::vector<duet::status_code> codes;
  std::vector<duet::frame_view> frames;
  std::vector<duet::byte_vector> kept;
  loop.block_on([&]() -> duet::task<void> {
    auto listener = duet::tcp_listener::listen(loop, duet::endpoint::loopback_v4(0));
    auto connected = co_await duet::tcp_stream::connect(loop, listener.local_endpoint());
    REQUIRE(connected.has_value());
    auto accepted = co_await listener.accept();
    REQUIRE(accepted.has_value());
    duet::tcp_stream far_end = std::move(*accepted);
    shrink_buffers(connected->native_handle());
    shrink_buffers(far_end.native_handle());
    duet::client<duet::tcp_stream> c(loop, std::move(*connected));

    std::stop_source stop;
    duet::call_options options;
    options.stop = stop.get_token();
    auto buffers = std::make_unique<std::vector<std::vector<std::byte>>>();
    for (std::size_t i = 0; i < sizes.size(); ++i) buffers->push_back(pattern(sizes[i], static_cast<unsigned>(i)));
    auto call = [&](std::size_t i, int wait_turns) -> duet::task<void> {
      // Later callers start once the writer has taken the first request.
      for (int turns = 0; turns < wait_turns; ++turns) co_await loop.schedule();
      duet::result<std::vector<std::byte>> got = co_await c.try_call(options, echo_bytes, bytes_view((*buffers)[i]));
      codes.push_back(got.code());
    };
    auto stop_later = [&]() -> duet::task<void> {
      // The first request fills the sockets and the writer waits; the others queue behind it.
      for (int turns = 0; turns < 10; ++turns) co_await loop.schedule();
      stop.request_stop();
      co_return;
    };
    co_await duet::when_all(call(0, 0), call(1, 3), call(2, 3), stop_later());
    // Every caller has resumed: their memory may be reused or freed.
    for (auto& b : *buffers) std::fill(b.begin(), b.end(), std::byte{0xee});
    buffers.reset();
    REQUIRE(c.notify(note, 7).ok());

    // Everything the client queued arrives intact: hello, the three
    // requests, their cancel frames, the notification.
    duet::frame_decoder decoder(32u << 20);
    co_await read_frames(far_end, decoder, frames, kept, [&] {
      return !frames.empty() && frames.back().header.kind == duet::frame_kind::notification;
    });
    co_await c.close();
    far_end.close();
  }());

  REQUIRE(codes.size() == 3);
  for (duet::status_code code : codes) CHECK(code == duet::status_code::cancelled);
  std::vector<std::size_t> seen;
  int cancels = 0;
  for (const duet::frame_view& f : frames) {
    if (f.header.kind == duet::frame_kind::cancel) ++cancels;
    if (f.header.kind == duet::frame_kind::notification) {
      int value = 0;
      CHECK(duet::decode_all(f.payload, value));
      CHECK(value == 7);
    }
    if (f.header.kind != duet::frame_kind::request) continue;
    bytes_view payload;
    REQUIRE(duet::decode_all(f.payload, payload));
    const auto i = static_cast<std::size_t>(std::find(sizes.begin(), sizes.end(), payload.size()) - sizes.begin());
    REQUIRE(i < sizes.size());
    const std::vector<std::byte> expected = pattern(sizes[i], static_cast<unsigned>(i));
    CHECK(std::equal(payload.begin(), payload.end(), expected.begin(), expected.end()));
    seen.push_back(i);
  }
  CHECK(seen == std::vector<std::size_t>{0, 1, 2});  // in the order they were called
  CHECK(cancels == 3);
  CHECK(frames.front().header.kind == duet::frame_kind::hello);
  CHECK(frames.back().header.kind == duet::frame_kind::notification);
}

TEST_CASE("over TCP a server held up by a slow reader answers large echoes with the bytes it was sent",
          "[rpc][socket][gather]") {
  // The test is the client, by hand: it sends every request before reading
  // any answer, through small socket buffers, so the server reads on while
  // its writer still sends answers from the bytes it read before.
  duet::event_loop loop;
  duet::router router;
  router.on(echo_in_place, [](bytes_view payload) { return payload; });
  duet::server server(loop, router);
  const std::vector<std::size_t> sizes = {1u << 20, 17 * 1024, 100, 1u << 20, 600 * 1024, 64 * 1024, 1u << 20, 9};
  std::vector<duet::frame_view> frames;
  std::vector<duet::byte_vector> kept;
  loop.block_on([&]() -> duet::task<void> {
    auto listener = duet::tcp_listener::listen(loop, duet::endpoint::loopback_v4(0));
    auto connected = co_await duet::tcp_stream::connect(loop, listener.local_endpoint());
    REQUIRE(connected.has_value());
    auto accepted = co_await listener.accept();
    REQUIRE(accepted.has_value());
    shrink_buffers(connected->native_handle());
    shrink_buffers(accepted->native_handle());
    duet::async_scope serving;
    serving.spawn(server.serve_connection(std::move(*accepted)));

    duet::byte_vector out;
    duet::encode_hello(out, duet::hello_message{});
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      duet::frame_encoder enc(out);
      enc.begin(duet::frame_kind::request, static_cast<std::uint32_t>(i + 1), echo_in_place.id);
      duet::byte_writer w(out);
      const std::vector<std::byte> request = pattern(sizes[i], static_cast<unsigned>(i));
      duet::encode(w, bytes_view(request));
      enc.end();
    }
    const duet::const_buffer all(out);
    const duet::io_result sent = co_await connected->write(std::span<const duet::const_buffer>(&all, 1));
    REQUIRE_FALSE(sent.error);

    duet::frame_decoder decoder(32u << 20);
    co_await read_frames(*connected, decoder, frames, kept, [&] {
      return std::count_if(frames.begin(), frames.end(), [](const duet::frame_view& f) {
               return f.header.kind == duet::frame_kind::response;
             }) == static_cast<std::ptrdiff_t>(sizes.size());
    });
    connected->close();
    server.stop();
    co_await serving.join();
  }());

  std::vector<std::uint32_t> ids;
  for (const duet::frame_view& f : frames) {
    if (f.header.kind != duet::frame_kind::response) continue;
    CHECK(f.header.status == 0);
    bytes_view payload;
    REQUIRE(duet::decode_all(f.payload, payload));
    REQUIRE(f.header.id >= 1);
    REQUIRE(f.header.id <= sizes.size());
    const std::size_t i = f.header.id - 1;
    const std::vector<std::byte> expected = pattern(sizes[i], static_cast<unsigned>(i));
    CHECK(std::equal(payload.begin(), payload.end(), expected.begin(), expected.end()));
    ids.push_back(f.header.id);
  }
  CHECK(ids == std::vector<std::uint32_t>{1, 2, 3, 4, 5, 6, 7, 8});
}

}  // namespace gather_write_test
