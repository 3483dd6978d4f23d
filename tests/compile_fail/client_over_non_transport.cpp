// expect-error: satisfaction of 'transport<|does not satisfy 'transport'
// A type with no read_some/write/close cannot carry a client.
#include <duet/rpc/client.hpp>

struct not_a_stream {
  int fd = -1;
};

int main() {
  duet::event_loop loop;
  duet::client<not_a_stream> client(loop, not_a_stream{});
  (void)client;
}
