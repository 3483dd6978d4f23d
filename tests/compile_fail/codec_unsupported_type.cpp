// expect-error: duet::encode: a value's type is not encodable
// A raw pointer has no codec: encoding an aggregate that holds one stops with
// the sentence, not with an error from deep inside the codec.
#include <duet/codec/codec.hpp>

struct holds_a_pointer {
  int id;
  const char* name;
};

int main() {
  duet::byte_vector out;
  duet::byte_writer writer(out);
  duet::encode(writer, holds_a_pointer{1, "x"});
}
