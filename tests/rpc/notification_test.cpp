// Notifications: one-way calls that the server runs in order with the calls
// around them and never answers; one to a method nobody serves is dropped
// and counted.
#include "rig.hpp"

#include <duet/coro/async_scope.hpp>
#include <duet/transport/tcp.hpp>
#include <duet/wire/decoder.hpp>
#include <duet/wire/frame.hpp>
#include <duet/wire/native.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace notification_test {

namespace {

constexpr duet::method<"notes.log", void(std::string)> log_line;
constexpr duet::method<"notes.count", int(int)> count_up;  // has a result, which a notification drops
constexpr duet::method<"notes.seen", std::vector<std::string>()> seen_so_far;
constexpr duet::method<"notes.nobody", void(int)> nobody;  // served by no handler

struct journal {
  std::vector<std::string> lines;
  int counted = 0;
};

void serve_journal(duet::router& router, journal& j) {
  router.on(log_line, [&j](std::string line) { j.lines.push_back(std::move(line)); });
  router.on(count_up, [&j](int n) { return j.counted += n; });
  router.on(seen_so_far, [&j] { return j.lines; });
}

}  // namespace

TEST_CASE("notifications over TCP run in order with calls, and one nobody serves is dropped and counted",
          "[rpc][notification]") {
  duet::event_loop loop;
  duet::router router;
  journal j;
  serve_journal(router, j);
  duet::server server(loop, router);
  auto listener = duet::tcp_listener::listen(loop, duet::endpoint::loopback_v4(0));
  const auto where = listener.local_endpoint();
  std::vector<std::string> seen;
  std::vector<duet::status> sent;
  int later_sum = 0;
  loop.block_on([&]() -> duet::task<void> {
    duet::async_scope serving;
    serving.spawn(server.serve(std::move(listener)));
    auto stream = co_await duet::tcp_stream::connect(loop, where);
    REQUIRE(stream);
    duet::client<duet::tcp_stream> client(loop, std::move(stream).value());
    for (int i = 0; i < 100; ++i) sent.push_back(client.notify(log_line, "line " + std::to_string(i)));
    sent.push_back(client.notify(nobody, 7));
    sent.push_back(client.notify(count_up, 5));
    // A call after them is answered after they ran: same connection, in order.
    seen = co_await client.call(seen_so_far);
    later_sum = co_await client.call(count_up, 1);
    co_await client.close();
    server.stop();
    co_await serving.join();
  }());
  for (const duet::status& s : sent) CHECK(s.ok());
  REQUIRE(seen.size() == 100);
  CHECK(seen.front() == "line 0");
  CHECK(seen.back() == "line 99");
  CHECK(later_sum == 6);  // the notified 5, then the call's 1
  CHECK(router.dropped_notifications() == 1);
}

TEST_CASE("a notification is never answered, even for a method with a result or one nobody serves",
          "[rpc][notification]") {
  rig r;
  journal j;
  serve_journal(r.router, j);
  std::vector<duet::frame_kind> kinds;
  std::vector<std::uint32_t> ids;
  r.run([&]() -> duet::task<void> {
    auto [near_end, far_end] = duet::make_memory_pair(r.loop);
    r.connections.spawn(r.server.serve_connection(std::move(far_end)));

    // Speak the wire by hand: hello, two notifications, then one request.
    duet::byte_vector out;
    duet::encode_hello(out, duet::hello_message{});
    duet::byte_vector args;
    duet::byte_writer w(args);
    duet::encode(w, 41);
    duet::encode_frame(out, duet::frame_header{duet::frame_kind::notification, 0, 0, 0, count_up.id, 0, 0}, {}, args);
    duet::encode_frame(out, duet::frame_header{duet::frame_kind::notification, 0, 0, 0, nobody.id, 0, 0}, {}, args);
    duet::encode_frame(out, duet::frame_header{duet::frame_kind::request, 0, 0, 9, count_up.id, 0, 0}, {}, args);
    const duet::const_buffer piece(out);
    const duet::io_result wrote = co_await near_end.write(std::span<const duet::const_buffer>(&piece, 1));
    REQUIRE_FALSE(wrote.error);

    // Everything the server sends until the answer to request 9.
    duet::frame_decoder decoder;
    bool answered = false;
    for (int reads = 0; reads < 1000 && !answered; ++reads) {
      const duet::mutable_buffer room = decoder.prepare();
      const duet::io_result got = co_await near_end.read_some(room);
      REQUIRE_FALSE(got.error);
      REQUIRE(got.bytes > 0);
      decoder.commit(got.bytes);
      duet::frame_view f;
      while (decoder.next(f) == duet::decode_status::frame) {
        kinds.push_back(f.header.kind);
        ids.push_back(f.header.id);
        if (f.header.kind == duet::frame_kind::response && f.header.id == 9) answered = true;
      }
    }
    near_end.close();
  });
  // The server's hello, then exactly one response: to the request.
  REQUIRE(kinds.size() == 2);
  CHECK(kinds[0] == duet::frame_kind::hello);
  CHECK(kinds[1] == duet::frame_kind::response);
  CHECK(ids[1] == 9);
  CHECK(j.counted == 82);  // the notification's 41, then the request's 41
  CHECK(r.router.dropped_notifications() == 1);
}

TEST_CASE("a notification on a closed client reports unavailable", "[rpc][notification]") {
  rig r;
  journal j;
  serve_journal(r.router, j);
  auto client = r.connect();
  duet::status after_close;
  r.run([&]() -> duet::task<void> {
    co_await client.close();
    after_close = client.notify(log_line, "too late");
  });
  CHECK(after_close.code() == duet::status_code::unavailable);
  CHECK(j.lines.empty());
}

}  // namespace notification_test
