// expect-error: a call's result outlives the response's bytes
// A call's result is read after the response frame it would view is gone:
// the calling side must declare an owning result type.
#include <duet/rpc/client.hpp>
#include <duet/transport/memory.hpp>

#include <cstddef>
#include <span>

inline constexpr duet::method<"blob", std::span<const std::byte>(int)> blob;

duet::task<void> use(duet::client<duet::memory_stream>& client) {
  auto bytes = co_await client.call(blob, 1);
  (void)bytes;
}

int main() {}
