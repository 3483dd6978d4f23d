// expect-error: duet::decode: a value's type is not decodable
// Decoding overwrites its arguments, so a const one is refused by name.
#include <duet/codec/codec.hpp>

int main() {
  const duet::byte_vector in(4);
  duet::byte_reader reader(in);
  const int value = 0;
  return duet::decode(reader, value) ? 0 : 1;
}
