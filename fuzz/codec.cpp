// libFuzzer target for duet's codec: decodes arbitrary bytes as several
// nested types.
//
//   clang++-16 -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -Iinclude
//     fuzz/codec.cpp -o /tmp/fuzz_codec   (one command line)
//   /tmp/fuzz_codec -max_total_time=30 /tmp/codec_corpus
//
// Input: byte 0 picks the target type, the rest is the payload. The
// invariants checked:
//   - decoding never crashes, reads out of bounds or has undefined behaviour
//     (the sanitizers), and never allocates beyond what the input can fill;
//   - whatever decodes re-encodes, and that re-encoding decodes again (to
//     a value of the same encoded size);
//   - for types without maps or sets, the re-encoding is the input itself,
//     and so is the re-encoding of the re-decoded value: every value has
//     exactly one encoding (maps and sets accept entries in any order);
//   - every strict prefix of an accepted input is rejected;
//   - a failed decode leaves the reader failed.

#include <duet/codec/codec.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <variant>
#include <vector>

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

enum class mood : std::uint8_t { calm, busy };

struct point {
  std::int32_t x;
  std::int32_t y;
};

struct item {
  std::string name;
  std::vector<point> path;
  std::array<std::uint16_t, 3> code;
  std::tuple<bool, double, mood> flags;
  std::optional<std::vector<std::byte>> blob;
};

using nested_map = std::map<std::string, std::vector<std::optional<std::variant<int, std::string>>>>;
using item_list = std::vector<item>;
using mixed = std::vector<std::variant<std::monostate, bool, std::uint64_t, std::string_view, std::vector<std::byte>>>;
using containers = std::tuple<std::optional<std::set<std::int16_t>>, std::unordered_map<std::uint8_t, std::string>,
                              std::array<float, 3>>;

duet::byte_vector encode_value(const auto& value) {
  duet::byte_vector out;
  duet::byte_writer writer(out);
  duet::encode(writer, value);
  return out;
}

template <class T, bool Canonical>
void exercise(duet::const_buffer input) {
  T value{};
  duet::byte_reader reader(input);
  const bool ok = duet::decode(reader, value) && reader.at_end();
  if (!reader.at_end() || !ok) {
    check(!ok);
    check(reader.failed() || !reader.at_end());
    return;
  }
  const duet::byte_vector again = encode_value(value);
  if constexpr (Canonical) check(again.size() == input.size() && std::equal(again.begin(), again.end(), input.begin()));
  T second{};
  check(duet::decode_all(again, second));
  // An unordered container may iterate a re-decoded copy in another order,
  // so only the canonical types must reproduce the bytes exactly.
  if constexpr (Canonical) {
    check(encode_value(second) == again);
  } else {
    check(encode_value(second).size() == again.size());
  }
  // Prefixes: a few of them, so that long inputs stay fast.
  const std::size_t step = input.size() / 16 + 1;
  for (std::size_t n = 0; n < input.size(); n += step) {
    T partial{};
    check(!duet::decode_all(input.first(n), partial));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const duet::const_buffer input(reinterpret_cast<const std::byte*>(data) + 1, size - 1);
  switch (data[0] % 5) {
    case 0:
      exercise<nested_map, false>(input);
      break;
    case 1:
      exercise<item_list, true>(input);
      break;
    case 2:
      exercise<mixed, true>(input);
      break;
    case 3:
      exercise<containers, false>(input);
      break;
    default: {
      // Several values in a row, read with decode (trailing bytes allowed).
      std::uint64_t a = 0;
      std::string b;
      std::optional<point> c;
      duet::byte_reader reader(input);
      if (duet::decode(reader, a, b, c)) {
        check(!reader.failed());
        check(reader.position() + reader.remaining() == input.size());
      } else {
        check(reader.failed());
      }
      break;
    }
  }
  return 0;
}
