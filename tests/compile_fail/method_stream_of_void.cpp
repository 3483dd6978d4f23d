// expect-error: the messages of a duet::stream<T> must be values
// A stream carries values: stream<void> has nothing to send.
#include <duet/rpc/method.hpp>

inline constexpr duet::method<"feed", duet::stream<void>(int)> feed;

int main() { return static_cast<int>(feed.id); }
