// An upload, a client stream: the client sends a file's bytes in chunks under
// a name it gives in the request's metadata, then half-closes; the server
// answers with a summary (bytes, chunks, a checksum) that the client checks
// against its own. Server and client share one loop and talk over TCP on
// 127.0.0.1. Exits 0 when the summary matches what was sent.
#include <duet/duet.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <optional>
#include <string>
#include <vector>

struct chunk {
  std::vector<char> bytes;
};

struct summary {
  std::uint64_t bytes = 0;
  std::uint32_t chunks = 0;
  std::uint64_t checksum = 0;  // FNV-1a of every byte, in order
};

inline constexpr duet::method<"files.upload", summary(duet::stream<chunk>)> upload;

// FNV-1a, 64 bits: continues `hash` over `bytes`.
std::uint64_t fnv1a(std::uint64_t hash, const std::vector<char>& bytes) {
  for (const char b : bytes) hash = (hash ^ static_cast<unsigned char>(b)) * 0x100000001b3u;
  return hash;
}
inline constexpr std::uint64_t fnv1a_start = 0xcbf29ce484222325u;

duet::task<int> send_file(duet::client<duet::tcp_stream>& client) {
  duet::call_options options;
  options.metadata.add("file-name", "notes.txt");
  options.timeout = std::chrono::seconds(10);  // covers the whole upload

  const std::uint32_t chunks = 100;
  auto up = co_await client.open(options, upload);
  summary sent{0, 0, fnv1a_start};
  chunk c;
  for (std::uint32_t i = 0; i < chunks; ++i) {
    // Chunks of varying sizes, 1 byte to 64 KiB.
    c.bytes.resize(1 + i * 661 % 65536);
    for (std::size_t k = 0; k < c.bytes.size(); ++k) c.bytes[k] = static_cast<char>(k * 7 + i);
    const bool queued = co_await up.send(c);  // waits while the server is behind
    if (!queued) break;                       // the server ended the upload early
    sent.bytes += c.bytes.size();
    ++sent.chunks;
    sent.checksum = fnv1a(sent.checksum, c.bytes);
  }
  const duet::result<summary> got = co_await up.finish();  // half-close, then the server's answer
  if (!got) {
    std::printf("the upload failed: %s\n", got.error().to_string().c_str());
    co_return 1;
  }
  std::printf("sent     %llu bytes in %u chunks, checksum %016llx\n", static_cast<unsigned long long>(sent.bytes),
              sent.chunks, static_cast<unsigned long long>(sent.checksum));
  std::printf("received %llu bytes in %u chunks, checksum %016llx\n", static_cast<unsigned long long>(got->bytes),
              got->chunks, static_cast<unsigned long long>(got->checksum));
  const bool same = got->bytes == sent.bytes && got->chunks == sent.chunks && got->checksum == sent.checksum;
  co_return same && sent.chunks == chunks ? 0 : 1;
}

int main() {
  duet::event_loop loop;
  duet::router router;
  router.on(upload, [](duet::call_context& ctx, duet::stream_reader<chunk>& in) -> duet::task<summary> {
    const std::string name(ctx.request_metadata().find("file-name").value_or("unnamed"));
    summary s{0, 0, fnv1a_start};
    while (std::optional<chunk> c = co_await in.next()) {  // empty once the client finished
      s.bytes += c->bytes.size();
      ++s.chunks;
      s.checksum = fnv1a(s.checksum, c->bytes);
    }
    std::printf("the server received %s\n", name.c_str());
    co_return s;  // the upload's answer
  });
  duet::server server(loop, router);
  auto listener = duet::tcp_listener::listen(loop, duet::endpoint::loopback_v4(0));
  const duet::endpoint where = listener.local_endpoint();

  const int failures = loop.block_on([&]() -> duet::task<int> {
    duet::async_scope serving;
    serving.spawn(server.serve(std::move(listener)));
    int failed = 1;
    try {
      duet::client client(loop, (co_await duet::tcp_stream::connect(loop, where)).value());
      failed = co_await send_file(client);
      co_await client.close();
    } catch (const std::exception& e) {
      std::printf("the client failed: %s\n", e.what());
    }
    server.stop();
    co_await serving.join();
    co_return failed;
  }());
  return failures == 0 ? 0 : 1;
}
