#pragma once

#include <duet/codec/codec.hpp>
#include <duet/codec/detail/fields.hpp>
#include <duet/codec/detail/kinds.hpp>

#include <cstddef>
#include <type_traits>

// The automatic codec for plain aggregates: a struct with public fields, no
// user-declared constructors and no base classes is encoded as its fields in
// declaration order, with no count, tag or padding; nothing to write, no
// macros. It applies only when nothing else does: a user specialisation of
// duet::codec<T>, a duet_codec_as() member, or a std-like shape (std::array,
// std::pair, anything with std::tuple_size, a range...) always wins.
//
// Limits (docs/encoding.md): at most 32 fields; every field encodable;
// C-array fields and base classes are not supported (use std::array, or
// specialise duet::codec<T>); a struct that contains itself through a
// container (a tree node) needs a codec<T> specialisation, because asking
// whether its fields are encodable would ask whether it is.

namespace duet::inline v0::detail {

struct field_types_of {
  template <class... Fs>
  constexpr type_list<Fs...> operator()(Fs&...) const noexcept {
    return {};
  }
};

/// The field types of aggregate T, cv kept (a const field encodes but does not decode).
template <class T>
using aggregate_fields = decltype(visit_fields<aggregate_field_count<T>()>(std::declval<T&>(), field_types_of{}));

template <class List>
struct field_sizes;
template <class... Fs>
struct field_sizes<type_list<Fs...>> {
  static constexpr std::size_t min = (std::size_t{0} + ... + detail::min_encoded_size<std::remove_cv_t<Fs>>());
  static constexpr std::size_t max = [] {
    std::size_t total = 0;
    ((total = size_add(total, detail::max_encoded_size<std::remove_cv_t<Fs>>())), ...);
    return total;
  }();
};

/// T is a plain aggregate the automatic codec handles. The conjunction
/// stops at the first false clause, so fields are only counted for class
/// aggregates of no other kind.
template <class T>
concept codable_aggregate = kind_of<T> == codec_kind::none && std::is_class_v<T> && std::is_aggregate_v<T> &&
                            aggregate_field_count<T>() <= max_aggregate_fields &&
                            all_encodable<aggregate_fields<T>>;

template <class T>
  requires codable_aggregate<T>
struct builtin_codec<T> {
  static constexpr std::size_t field_count = aggregate_field_count<T>();
  static constexpr std::size_t min_encoded_size = field_sizes<aggregate_fields<T>>::min;
  static constexpr std::size_t max_encoded_size = field_sizes<aggregate_fields<T>>::max;

  static void encode(byte_writer& w, const T& value) {
    visit_fields<field_count>(value, [&](const auto&... fields) { (encode_one(w, fields), ...); });
  }

  static bool decode(byte_reader& r, T& value)
    requires all_decodable<aggregate_fields<T>>
  {
    return visit_fields<field_count>(value, [&](auto&... fields) { return (decode_one(r, fields) && ...); });
  }
};

}  // namespace duet::inline v0::detail

#include <duet/codec/codec.hpp>
#include <duet/codec/std_types.hpp>
