// expect-error: the handler does not match the method's signature
// The method takes (int, int); the handler takes a string.
#include <duet/rpc/router.hpp>

#include <string>

inline constexpr duet::method<"math.add", int(int, int)> add;

int main() {
  duet::router router;
  router.on(add, [](std::string s) { return static_cast<int>(s.size()); });
}
