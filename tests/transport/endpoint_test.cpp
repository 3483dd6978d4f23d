#include <duet/transport/endpoint.hpp>

#include <catch2/catch.hpp>

#include <string>

TEST_CASE("endpoints parse from text and print back canonically", "[transport]") {
  const auto [input, printed] = GENERATE(table<std::string, std::string>({
      {"127.0.0.1:8080", "127.0.0.1:8080"},
      {"0.0.0.0:0", "0.0.0.0:0"},
      {"localhost:9", "127.0.0.1:9"},
      {"[::1]:80", "[::1]:80"},
      {"[::]:65535", "[::]:65535"},
      {"[2001:DB8:0:0:1:0:0:1]:5", "[2001:db8::1:0:0:1]:5"},
      {"[1:0:0:2:0:0:0:3]:1", "[1:0:0:2::3]:1"},
      {"[1:2:3:4:5:6:7:8]:1", "[1:2:3:4:5:6:7:8]:1"},
      {"[::ffff:1.2.3.4]:9", "[::ffff:102:304]:9"},
      {"unix:/run/app.sock", "unix:/run/app.sock"},
  }));
  const auto parsed = duet::endpoint::parse(input);
  REQUIRE(parsed);
  CHECK(parsed->to_string() == printed);
  CHECK(duet::endpoint::parse(printed) == parsed);
}

TEST_CASE("malformed endpoint text is rejected", "[transport]") {
  const std::string input = GENERATE(as<std::string>{}, "", "127.0.0.1", "127.0.0.1:", "1.2.3:4", "1.2.3.4.5:6",
                                     "256.1.1.1:1", "01.2.3.4:5", "1.2.3.4:65536", "1.2.3.4:-1", "::1:80",
                                     "[::1]", "[1::2::3]:4", "[1:2:3:4:5:6:7:8:9]:1", "[:1]:1", "[1:]:1",
                                     "[12345::]:1", "[g::]:1", "example.com:80", "unix:");
  CHECK_FALSE(duet::endpoint::parse(input));
  CHECK_THROWS_AS(duet::endpoint::from_string(input), std::invalid_argument);
}

TEST_CASE("endpoint accessors expose family, address bytes, port and path", "[transport]") {
  const auto v4 = duet::endpoint::from_string("10.1.2.3:4567");
  CHECK(v4.kind() == duet::endpoint::family::ipv4);
  CHECK(v4.is_ip());
  CHECK(v4.port() == 4567);
  REQUIRE(v4.address().size() == 4);
  CHECK(v4.address()[0] == 10);
  CHECK(v4.address()[3] == 3);
  CHECK(duet::endpoint::loopback_v6(1).address().size() == 16);
  const auto path = duet::endpoint::from_string("unix:/a/b");
  CHECK_FALSE(path.is_ip());
  CHECK(path.path() == "/a/b");
  CHECK(path.address().empty());
  CHECK(duet::endpoint{}.to_string().empty());
}
