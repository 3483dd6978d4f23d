// expect-error: the stream handler's result does not match the method
// A client stream's handler returns the method's value, not nothing.
#include <duet/coro/task.hpp>
#include <duet/rpc/router.hpp>

#include <cstdint>

inline constexpr duet::method<"upload", std::uint64_t(duet::stream<int>)> upload;

int main() {
  duet::router router;
  router.on(upload, [](duet::stream_reader<int>&) -> duet::task<void> { co_return; });
}
