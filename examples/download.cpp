// A chunked file download, a server stream: the server sends a file in 64 KiB
// chunks; the client writes them to a file of its own and shows a progress
// bar (redrawn in place on a terminal, a line per quarter otherwise).
// The server's file is made up here, in a temporary directory; server and
// client share one loop and talk over TCP on 127.0.0.1. Exits 0 when the
// downloaded file equals the original, byte for byte.
#include <duet/duet.hpp>

#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <unistd.h>  // isatty, mkdtemp

namespace fs = std::filesystem;

struct chunk {
  std::uint64_t file_size = 0;  // in every chunk, so the client knows the total from the first
  std::vector<char> bytes;
};

inline constexpr duet::method<"files.download", duet::stream<chunk>(std::string)> download;

inline constexpr std::size_t chunk_size = 64 * 1024;

// Serves the files of one directory, by plain name.
duet::task<void> send_file(const fs::path& dir, const std::string& name, duet::stream_writer<chunk>& out) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos)
    throw duet::rpc_error(duet::status(duet::status_code::invalid_argument, "not a file name: " + name));
  std::ifstream file(dir / name, std::ios::binary);
  if (!file) throw duet::rpc_error(duet::status(duet::status_code::not_found, "no such file: " + name));

  chunk c;
  c.file_size = fs::file_size(dir / name);
  c.bytes.resize(chunk_size);
  for (;;) {
    file.read(c.bytes.data(), static_cast<std::streamsize>(chunk_size));
    const auto got = static_cast<std::size_t>(file.gcount());
    if (got == 0) break;
    c.bytes.resize(got);
    const bool sent = co_await out.send(c);  // waits while the client is behind
    if (!sent) co_return;                    // the client cancelled or went away
  }
}

// A progress bar on a terminal; plain lines at each quarter in a log.
class progress_bar {
 public:
  void show(std::uint64_t done, std::uint64_t total) {
    const int percent = total == 0 ? 100 : static_cast<int>(done * 100 / total);
    if (m_terminal) {
      const int filled = percent / 5;
      std::printf("\r[%.*s%.*s] %3d%% %llu/%llu bytes", filled, "####################", 20 - filled,
                  "                    ", percent, static_cast<unsigned long long>(done),
                  static_cast<unsigned long long>(total));
      if (done == total) std::printf("\n");
      std::fflush(stdout);
    } else if (percent >= m_next_line) {
      std::printf("%3d%% %llu/%llu bytes\n", percent, static_cast<unsigned long long>(done),
                  static_cast<unsigned long long>(total));
      m_next_line = percent / 25 * 25 + 25;
    }
  }

 private:
  bool m_terminal = isatty(fileno(stdout)) != 0;
  int m_next_line = 0;
};

// Downloads `name` into `to`; true when every byte the server announced arrived and it said ok.
duet::task<bool> fetch(duet::client<duet::tcp_stream>& client, const std::string& name, const fs::path& to) {
  std::ofstream file(to, std::ios::binary);
  auto chunks = co_await client.open(download, name);
  progress_bar bar;
  std::uint64_t received = 0;
  std::uint64_t total = 0;
  while (std::optional<chunk> c = co_await chunks.next()) {  // empty at the end
    file.write(c->bytes.data(), static_cast<std::streamsize>(c->bytes.size()));
    received += c->bytes.size();
    total = c->file_size;
    bar.show(received, total);
  }
  const duet::result<void> end = co_await chunks.finish();
  file.close();
  if (!end) std::printf("the download failed: %s\n", end.error().to_string().c_str());
  co_return end && file && received == total;
}

std::vector<char> contents(const fs::path& path) {
  std::vector<char> bytes(fs::file_size(path));
  std::ifstream(path, std::ios::binary).read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return bytes;
}

// Makes up a file of `size` bytes that are not all alike.
void make_file(const fs::path& path, std::size_t size) {
  std::vector<char> bytes(size);
  std::uint32_t x = 2463534242u;
  for (char& b : bytes) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    b = static_cast<char>(x);
  }
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(size));
}

int main() {
  std::string dir_template = (fs::temp_directory_path() / "duet-download-XXXXXX").string();
  if (mkdtemp(dir_template.data()) == nullptr) return 1;
  const fs::path dir = dir_template;
  fs::create_directory(dir / "served");
  fs::create_directory(dir / "downloaded");
  make_file(dir / "served" / "report.bin", 24 * chunk_size + 1234);  // the last chunk is short

  duet::event_loop loop;
  duet::router router;
  const fs::path served = dir / "served";
  router.on(download, [&served](std::string name, duet::stream_writer<chunk>& out) -> duet::task<void> {
    co_await send_file(served, name, out);
  });
  duet::server server(loop, router);
  auto listener = duet::tcp_listener::listen(loop, duet::endpoint::loopback_v4(0));
  const duet::endpoint where = listener.local_endpoint();

  const bool downloaded = loop.block_on([&]() -> duet::task<bool> {
    duet::async_scope serving;
    serving.spawn(server.serve(std::move(listener)));
    bool ok = false;
    try {
      duet::client client(loop, (co_await duet::tcp_stream::connect(loop, where)).value());
      const std::string name = "report.bin";
      ok = co_await fetch(client, name, dir / "downloaded" / name);
      co_await client.close();
    } catch (const std::exception& e) {
      std::printf("the client failed: %s\n", e.what());
    }
    server.stop();
    co_await serving.join();
    co_return ok;
  }());

  const std::vector<char> original = contents(dir / "served" / "report.bin");
  const std::vector<char> copy = contents(dir / "downloaded" / "report.bin");
  const bool same = downloaded && copy == original;
  std::printf("%zu bytes downloaded, %s the original's %zu\n", copy.size(), same ? "equal to" : "NOT equal to",
              original.size());
  std::error_code ignored;
  fs::remove_all(dir, ignored);
  return same ? 0 : 1;
}
