#pragma once

#include <duet/codec/codec.hpp>

#include <bit>  // std::endian
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

// The built-in codecs for standard-library-shaped types. Each matches a
// kind from detail/kinds.hpp, found by members and traits, so this header
// includes no container, <optional>, <variant> or <string> header: a
// std::map is handled here because it looks like a map. The wire forms are
// specified in docs/encoding.md:
//
//   bool              1 byte, 0 or 1 (anything else fails to decode)
//   integers, chars,  sizeof(T) bytes, little-endian; floating point by bit
//   floating point    pattern (long double is not supported)
//   enum              as its underlying type (enums need a fixed one)
//   T[N], std::array  the N elements, no count
//   sequences, views  varint count, then the elements (strings: count of
//                     characters, then the characters)
//   sets              varint count, then the keys (no duplicates)
//   maps              varint count, then key, value, key, value... (no
//                     duplicate keys)
//   optional          1 byte 0 (empty) or 1 followed by the value
//   variant           varint index, then that alternative
//   tuple, pair       the elements in order, no count

namespace duet::inline v0::detail {

template <class T>
struct element_of {
  using type = typename T::value_type;
};
template <class T, std::size_t N>
struct element_of<T[N]> {
  using type = T;
};

/// The element type of a range or array.
template <class T>
using element_t = std::remove_cv_t<typename element_of<T>::type>;

/// True when a T's in-memory bytes are its wire bytes, so arrays of T
/// encode and decode with one memcpy: built-in arithmetic (not bool: a byte
/// 2 must fail), enums over such, and fixed arrays of such without padding.
template <class T>
consteval bool is_memcpy_codable() {
  if constexpr (!uses_builtin_codec<T>) {
    return false;
  } else if constexpr (kind_of<T> == codec_kind::arithmetic) {
    return sizeof(T) == 1 || std::endian::native == std::endian::little;
  } else if constexpr (kind_of<T> == codec_kind::enumeration) {
    using underlying = std::underlying_type_t<T>;
    return !std::is_same_v<underlying, bool> && (sizeof(T) == 1 || std::endian::native == std::endian::little);
  } else if constexpr (kind_of<T> == codec_kind::fixed_array) {
    return is_memcpy_codable<element_t<T>>();
  } else {
    return false;
  }
}

template <class T>
inline constexpr bool memcpy_codable = is_memcpy_codable<T>();


/// The types through which any object's bytes may be read.
template <class E>
concept byte_like = std::same_as<E, std::byte> || std::same_as<E, char> || std::same_as<E, unsigned char>;

/// R stores its elements contiguously as Es (vector, string, string_view, span).
template <class R, class E>
concept contiguous_of = requires(const R& r) {
  { r.data() } -> std::convertible_to<const E*>;
};

// ---- fixed-width scalars ---------------------------------------------------

template <class T>
  requires(kind_of<T> == codec_kind::boolean || kind_of<T> == codec_kind::arithmetic)
struct builtin_codec<T> {
  static constexpr std::size_t min_encoded_size = sizeof(T);
  static constexpr std::size_t max_encoded_size = sizeof(T);

  static void encode(byte_writer& w, const T& value) { w.write_fixed(value); }
  static bool decode(byte_reader& r, T& value) { return r.read_fixed(value); }
};

template <class T>
  requires(kind_of<T> == codec_kind::enumeration)
struct builtin_codec<T> {
  using underlying = std::underlying_type_t<T>;
  static constexpr std::size_t min_encoded_size = sizeof(underlying);
  static constexpr std::size_t max_encoded_size = sizeof(underlying);

  static void encode(byte_writer& w, const T& value) { w.write_fixed(static_cast<underlying>(value)); }
  static bool decode(byte_reader& r, T& value) {
    underlying u{};
    if (!r.read_fixed(u)) return false;
    // Defined for every u: the enum has a fixed underlying type.
    value = static_cast<T>(u);
    return true;
  }
};

// ---- fixed-size arrays -----------------------------------------------------

template <class T>
  requires(kind_of<T> == codec_kind::fixed_array && encodable<element_t<T>>)
struct builtin_codec<T> {
  using element = element_t<T>;
  static constexpr std::size_t count = sizeof(T) / sizeof(element);
  static constexpr std::size_t min_encoded_size = size_mul(count, detail::min_encoded_size<element>());
  static constexpr std::size_t max_encoded_size = size_mul(count, detail::max_encoded_size<element>());

  static void encode(byte_writer& w, const T& value) {
    if constexpr (memcpy_codable<element>) {
      w.write_bytes(const_buffer(reinterpret_cast<const std::byte*>(&value), sizeof(T)));
    } else {
      for (const element& e : value) encode_one(w, e);
    }
  }

  static bool decode(byte_reader& r, T& value)
    requires decodable<element>
  {
    if constexpr (memcpy_codable<element>) {
      return r.read_bytes(mutable_buffer(reinterpret_cast<std::byte*>(&value), sizeof(T)));
    } else {
      for (element& e : value) {
        if (!decode_one(r, e)) return false;
      }
      return true;
    }
  }
};

// ---- ranges: sequences, views, sets, maps ----------------------------------

/// Writes a varint count and the elements of any sized range.
template <class R>
void encode_range(byte_writer& w, const R& range) {
  using element = element_t<R>;
  const std::size_t n = range.size();
  w.write_varint(n);
  if constexpr (memcpy_codable<element> && contiguous_of<R, element>) {
    if (n != 0) w.write_bytes(const_buffer(reinterpret_cast<const std::byte*>(range.data()), n * sizeof(element)));
  } else {
    // `const element&` also accepts proxies such as std::vector<bool>'s.
    for (const element& e : range) encode_one(w, e);
  }
}

// A container whose elements may all encode to nothing (std::monostate, an
// empty struct) is refused: its count could not be bounded by the input, so
// a few hostile bytes could ask for 2^64 elements.
template <class E>
inline constexpr bool container_element = encodable<E> && detail::max_encoded_size<E>() != 0;

template <class T>
  requires(kind_of<T> == codec_kind::sequence && container_element<typename T::value_type>)
struct builtin_codec<T> {
  using element = typename T::value_type;
  static constexpr std::size_t min_encoded_size = 1;

  static void encode(byte_writer& w, const T& value) { encode_range(w, value); }

  static bool decode(byte_reader& r, T& value)
    requires decodable<element> && std::default_initializable<element> && requires { value.clear(); }
  {
    std::size_t n = 0;
    if constexpr (memcpy_codable<element> && requires(T& t) {
                    t.resize(std::size_t{});
                    { t.data() } -> std::same_as<element*>;
                  }) {
      if (!r.read_count(n, sizeof(element))) return false;
      if constexpr (detail::byte_like<element> && requires(const element* p) { value.assign(p, p); }) {
        // One pass: resize() would zero the bytes before the copy overwrote them.
        const_buffer bytes;
        if (!r.read_view(n, bytes)) return false;
        const auto* first = reinterpret_cast<const element*>(bytes.data());
        value.assign(first, first + n);
        return true;
      } else {
        value.resize(n);
        return n == 0 || r.read_bytes(mutable_buffer(reinterpret_cast<std::byte*>(value.data()), n * sizeof(element)));
      }
    } else {
      if (!r.read_count(n, detail::min_encoded_size<element>())) return false;
      value.clear();
      if constexpr (requires { value.reserve(n); }) value.reserve(n);
      for (std::size_t i = 0; i < n; ++i) {
        if constexpr (requires {
                        value.emplace_back();
                        { value.back() } -> std::same_as<element&>;
                      }) {
          // Decode in place: no temporary, no move.
          if (!decode_one(r, value.emplace_back())) return false;
        } else {
          element e{};
          if (!decode_one(r, e)) return false;
          value.push_back(std::move(e));
        }
      }
      return true;
    }
  }
};

/// A view is decoded by pointing it into the reader's bytes, which only a
/// view of single-byte elements (std::string_view, std::span<const std::byte>)
/// constructible from (pointer, count) can do.
template <class T>
concept byte_view_decodable =
    sizeof(typename T::value_type) == 1 && memcpy_codable<typename T::value_type> &&
    std::constructible_from<T, const typename T::value_type*, std::size_t> &&
    (!requires { T::extent; } || T::extent == static_cast<std::size_t>(-1));

template <class T>
  requires(kind_of<T> == codec_kind::view && container_element<element_t<T>>)
struct builtin_codec<T> {
  static constexpr std::size_t min_encoded_size = 1;

  static void encode(byte_writer& w, const T& value) { encode_range(w, value); }

  /// Leaves `value` viewing the reader's bytes: valid only while they are.
  static bool decode(byte_reader& r, T& value)
    requires byte_view_decodable<T>
  {
    using element = typename T::value_type;
    std::size_t n = 0;
    const_buffer bytes;
    if (!r.read_count(n) || !r.read_view(n, bytes)) return false;
    value = T(reinterpret_cast<const element*>(bytes.data()), n);
    return true;
  }
};

template <class T>
  requires(kind_of<T> == codec_kind::set && container_element<typename T::value_type>)
struct builtin_codec<T> {
  using key = typename T::value_type;
  static constexpr std::size_t min_encoded_size = 1;

  static void encode(byte_writer& w, const T& value) { encode_range(w, value); }

  /// Fails on a duplicate key in a set with unique keys.
  static bool decode(byte_reader& r, T& value)
    requires decodable<key> && std::default_initializable<key> && requires(key&& k) {
      value.clear();
      value.emplace(std::move(k));
    }
  {
    std::size_t n = 0;
    if (!r.read_count(n, detail::min_encoded_size<key>())) return false;
    value.clear();
    if constexpr (requires { value.reserve(n); }) value.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      key k{};
      if (!decode_one(r, k)) return false;
      if constexpr (requires { value.emplace(std::move(k)).second; }) {
        if (!value.emplace(std::move(k)).second) return r.mark_failed();
      } else {
        value.emplace(std::move(k));
      }
    }
    return true;
  }
};

template <class T>
  requires(kind_of<T> == codec_kind::map && encodable<typename T::key_type> &&
           encodable<typename T::mapped_type> &&
           size_add(detail::max_encoded_size<typename T::key_type>(),
                    detail::max_encoded_size<typename T::mapped_type>()) != 0)
struct builtin_codec<T> {
  using key = typename T::key_type;
  using mapped = typename T::mapped_type;
  static constexpr std::size_t min_encoded_size = 1;

  static void encode(byte_writer& w, const T& value) {
    w.write_varint(value.size());
    for (const auto& entry : value) {
      encode_one<key>(w, entry.first);
      encode_one<mapped>(w, entry.second);
    }
  }

  /// Fails on a duplicate key in a map with unique keys.
  static bool decode(byte_reader& r, T& value)
    requires decodable<key> && decodable<mapped> && std::default_initializable<key> &&
             std::default_initializable<mapped> && requires(key&& k, mapped&& m) {
               value.clear();
               value.emplace(std::move(k), std::move(m));
             }
  {
    std::size_t n = 0;
    if (!r.read_count(n, size_add(detail::min_encoded_size<key>(), detail::min_encoded_size<mapped>()))) return false;
    value.clear();
    if constexpr (requires { value.reserve(n); }) value.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      key k{};
      mapped m{};
      if (!decode_one(r, k) || !decode_one(r, m)) return false;
      if constexpr (requires { value.emplace(std::move(k), std::move(m)).second; }) {
        if (!value.emplace(std::move(k), std::move(m)).second) return r.mark_failed();
      } else {
        value.emplace(std::move(k), std::move(m));
      }
    }
    return true;
  }
};

// ---- optional ----------------------------------------------------------------

template <class T>
  requires(kind_of<T> == codec_kind::optional && encodable<typename T::value_type>)
struct builtin_codec<T> {
  using element = typename T::value_type;
  static constexpr std::size_t min_encoded_size = 1;
  static constexpr std::size_t max_encoded_size = size_add(1, detail::max_encoded_size<element>());

  static void encode(byte_writer& w, const T& value) {
    if (value.has_value()) {
      w.write_byte(std::byte{1});
      encode_one<element>(w, *value);
    } else {
      w.write_byte(std::byte{0});
    }
  }

  /// Fails on a presence byte other than 0 or 1.
  static bool decode(byte_reader& r, T& value)
    requires decodable<element> && std::default_initializable<element> && requires { value.emplace(); }
  {
    std::byte present{};
    if (!r.read_byte(present)) return false;
    if (present == std::byte{0}) {
      value.reset();
      return true;
    }
    if (present != std::byte{1}) return r.mark_failed();
    return decode_one(r, value.emplace());
  }
};

// ---- variant -----------------------------------------------------------------

// `get<I>(v)` must find std::get (or a user variant's get) by argument-
// dependent lookup alone. This deleted template stops ordinary lookup here,
// so a `get` that some enclosing duet namespace might one day declare can
// never hijack the call or change how it parses.
namespace adl {
template <class>
void get() = delete;

template <std::size_t I, class V>
constexpr decltype(auto) element(V& v) {
  return get<I>(v);
}
}  // namespace adl


template <class T>
  requires(kind_of<T> == codec_kind::variant && all_encodable<typename variant_alternatives<T>::type>)
struct builtin_codec<T> {
  static constexpr std::size_t alternatives = variant_alternatives<T>::size;
  static constexpr std::size_t min_encoded_size = 1;

  /// A variant valueless by exception encodes as index 2^64 - 1, which no
  /// decoder accepts.
  static void encode(byte_writer& w, const T& value) {
    const std::size_t index = value.index();
    w.write_varint(value.valueless_by_exception() ? ~std::uint64_t{0} : index);
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (void)((index == I && (encode_one(w, adl::element<I>(value)), true)) || ...);
    }(std::make_index_sequence<alternatives>{});
  }

  /// Fails on an index at or past the number of alternatives.
  static bool decode(byte_reader& r, T& value)
    requires all_decodable<typename variant_alternatives<T>::type> &&
             all_default_initializable<typename variant_alternatives<T>::type>
  {
    std::uint64_t index = 0;
    if (!r.read_varint(index)) return false;
    if (index >= alternatives) return r.mark_failed();
    bool ok = false;
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (void)((index == I && (ok = decode_one(r, value.template emplace<I>()), true)) || ...);
    }(std::make_index_sequence<alternatives>{});
    return ok;
  }
};

// ---- tuple, pair ---------------------------------------------------------------

template <class T, class Indices = std::make_index_sequence<std::tuple_size<T>::value>>
struct tuple_elements;
template <class T, std::size_t... I>
struct tuple_elements<T, std::index_sequence<I...>> {
  // cv kept, so that decodable rejects the const key of a map entry.
  using type = type_list<std::remove_reference_t<std::tuple_element_t<I, T>>...>;
  static constexpr std::size_t min_size = (std::size_t{0} + ... + detail::min_encoded_size<std::remove_cvref_t<std::tuple_element_t<I, T>>>());
  static constexpr std::size_t max_size = [] {
    std::size_t total = 0;
    ((total = size_add(total, detail::max_encoded_size<std::remove_cvref_t<std::tuple_element_t<I, T>>>())), ...);
    return total;
  }();
};

template <class T>
  requires(kind_of<T> == codec_kind::tuple && all_encodable<typename tuple_elements<T>::type>)
struct builtin_codec<T> {
  static constexpr std::size_t size = std::tuple_size<T>::value;
  static constexpr std::size_t min_encoded_size = tuple_elements<T>::min_size;
  static constexpr std::size_t max_encoded_size = tuple_elements<T>::max_size;

  static void encode(byte_writer& w, const T& value) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (encode_one(w, adl::element<I>(value)), ...);
    }(std::make_index_sequence<size>{});
  }

  static bool decode(byte_reader& r, T& value)
    requires all_decodable<typename tuple_elements<T>::type>
  {
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
      return (decode_one(r, adl::element<I>(value)) && ...);
    }(std::make_index_sequence<size>{});
  }
};

}  // namespace duet::inline v0::detail

#include <duet/codec/aggregate.hpp>
#include <duet/codec/codec.hpp>
