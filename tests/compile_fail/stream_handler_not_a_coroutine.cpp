// expect-error: a stream handler is a coroutine
// A stream handler runs while messages flow: a plain function cannot.
#include <duet/rpc/router.hpp>

#include <cstdint>

inline constexpr duet::method<"upload", std::uint64_t(duet::stream<int>)> upload;

int main() {
  duet::router router;
  router.on(upload, [](duet::stream_reader<int>&) -> std::uint64_t { return 0; });
}
