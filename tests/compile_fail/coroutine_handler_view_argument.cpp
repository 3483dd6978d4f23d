// expect-error: coroutine handler runs on after the request's bytes are gone
// A coroutine handler keeps its arguments across suspensions, after the
// request frame they would view has been overwritten: views are refused.
#include <duet/coro/task.hpp>
#include <duet/rpc/method.hpp>
#include <duet/rpc/router.hpp>

#include <string_view>

inline constexpr duet::method<"greet", int(std::string_view)> greet;

int main() {
  duet::router router;
  router.on(greet, [](std::string_view name) -> duet::task<int> { co_return static_cast<int>(name.size()); });
}
