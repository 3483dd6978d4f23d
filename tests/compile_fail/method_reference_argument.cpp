// expect-error: takes its arguments by value
// Method arguments are owned values on the server side.
#include <duet/rpc/method.hpp>

#include <string>

inline constexpr duet::method<"kv.get", int(const std::string&)> get;

int main() { return static_cast<int>(get.id); }
