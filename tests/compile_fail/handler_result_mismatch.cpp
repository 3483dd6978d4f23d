// expect-error: the handler's return type does not match the method's result
// The method returns an int; the handler returns a string.
#include <duet/rpc/router.hpp>

#include <string>

inline constexpr duet::method<"math.add", int(int, int)> add;

int main() {
  duet::router router;
  router.on(add, [](int a, int b) { return std::to_string(a + b); });
}
