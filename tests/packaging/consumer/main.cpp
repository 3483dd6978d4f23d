// A program that uses duet the way a user's project does: only through the
// installed (or subproject) package, with no flags of duet's own build.
#include <duet/codec/aggregate.hpp>
#include <duet/codec/codec.hpp>
#include <duet/codec/std_types.hpp>
#include <duet/coro/sync_wait.hpp>
#include <duet/coro/task.hpp>
#include <duet/result.hpp>
#include <duet/status.hpp>
#include <duet/version.hpp>

#include <cstdio>
#include <string>
#include <vector>

struct point {
  std::string name;
  int x = 0;
  std::vector<double> tags;
};

duet::task<int> twice(int n) { co_return 2 * n; }

duet::task<int> add_twice(int a, int b) { co_return co_await twice(a) + co_await twice(b); }

int main() {
  const point in{"origin", -3, {0.5, 1.5}};
  duet::byte_vector bytes;
  duet::byte_writer writer(bytes);
  duet::encode(writer, in);
  point out;
  if (!duet::decode_all(bytes, out) || out.name != in.name || out.x != in.x || out.tags != in.tags) {
    std::puts("consumer: codec round trip failed");
    return 1;
  }

  const int sum = duet::sync_wait(add_twice(20, 1));
  if (sum != 42) {
    std::puts("consumer: task result is wrong");
    return 1;
  }

  std::printf("consumer: duet %d.%d.%d, protocol %u, ok\n", DUET_VERSION_MAJOR, DUET_VERSION_MINOR,
              DUET_VERSION_PATCH, duet::protocol_version);
  return 0;
}
