// expect-error: a duet::method that takes a duet::stream<T> takes nothing else
// A client stream's messages are its only argument.
#include <duet/rpc/method.hpp>

#include <string>

inline constexpr duet::method<"upload", int(std::string, duet::stream<int>)> upload;

int main() { return static_cast<int>(upload.id); }
