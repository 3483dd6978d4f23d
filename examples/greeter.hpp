// The methods of the hello example, shared by its server and its client.
#pragma once

#include <duet/rpc/method.hpp>

#include <string>

inline constexpr duet::method<"greeter.hello", std::string(std::string)> hello;
inline constexpr duet::method<"greeter.add", int(int, int)> add;
