// expect-error: duet::codec<T> has no specialisation for this type
// Calling duet::codec<T> directly for a type it cannot encode names the fix.
#include <duet/codec/codec.hpp>

#include <thread>

int main() {
  duet::byte_vector out;
  duet::byte_writer writer(out);
  duet::codec<std::thread>::encode(writer, std::thread{});
}
