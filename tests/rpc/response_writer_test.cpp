#include "rig.hpp"

#include <catch2/catch.hpp>

#include <cstddef>
#include <stdexcept>
#include <string>

// A result type whose encoding fails halfway through the response's payload:
// with a std::exception, or with something that is not one.
namespace answers {
struct fragile {
  int fail_how = 0;  // 0: encodes; 1: throws std::runtime_error; 2: throws an int
};
}  // namespace answers

template <>
struct duet::codec<answers::fragile> {
  static constexpr std::size_t min_encoded_size = 1;

  static void encode(byte_writer& w, const answers::fragile& f) {
    duet::encode(w, std::string(64, 'x'));  // part of the payload is written first
    if (f.fail_how == 1) throw std::runtime_error("no room for this value");
    if (f.fail_how == 2) throw 42;
    duet::encode(w, f.fail_how);
  }

  static bool decode(byte_reader& r, answers::fragile& f) {
    std::string filler;
    return duet::decode(r, filler) && duet::decode(r, f.fail_how);
  }
};

namespace {
constexpr duet::method<"test.fragile", answers::fragile(int)> fragile_method;
}

TEST_CASE("a response that fails to encode is answered internal and the connection goes on", "[rpc]") {
  rig r;
  r.router.on(fragile_method, [](int how) { return answers::fragile{how}; });
  r.run([&]() -> duet::task<void> {
    auto c = r.connect();
    const duet::result<answers::fragile> threw = co_await c.try_call(fragile_method, 1);
    CHECK(threw.code() == duet::status_code::internal);
    CHECK(threw.error().message() == "encoding the response threw: no room for this value");
    const duet::result<answers::fragile> odd = co_await c.try_call(fragile_method, 2);
    CHECK(odd.code() == duet::status_code::internal);
    // Nothing of the abandoned responses reached the wire: the next call
    // on the same connection is answered as usual.
    const duet::result<answers::fragile> fine = co_await c.try_call(fragile_method, 0);
    REQUIRE(fine.has_value());
    CHECK(fine->fail_how == 0);
    CHECK(c.is_open());
    co_await c.close();
  });
}

TEST_CASE("a coroutine handler's response that fails to encode is answered internal", "[rpc]") {
  rig r;
  r.router.on(fragile_method, [](int how) -> duet::task<answers::fragile> { co_return answers::fragile{how}; });
  r.run([&]() -> duet::task<void> {
    auto c = r.connect();
    const duet::result<answers::fragile> odd = co_await c.try_call(fragile_method, 2);
    CHECK(odd.code() == duet::status_code::internal);
    const duet::result<answers::fragile> fine = co_await c.try_call(fragile_method, 0);
    CHECK(fine.has_value());
    CHECK(c.is_open());
    co_await c.close();
  });
}
