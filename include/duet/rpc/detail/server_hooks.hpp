#pragma once

#include <duet/rpc/context.hpp>
#include <duet/rpc/detail/handler_shape.hpp>
#include <duet/rpc/interceptor.hpp>
#include <duet/status.hpp>

#include <type_traits>

namespace duet::inline v0::detail {

/// A router's interceptors as its handlers see them. The hooks run through
/// function pointers that only `router::add_interceptor` sets, so a router
/// without interceptors compiles none of their code.
struct server_interceptors {
  server_interceptor_list list;
  status (*before)(interception<server_interceptor_list>& pass, call_context& context) = nullptr;
  void (*after)(interception<server_interceptor_list>& pass, call_context& context,
                const status& outcome) noexcept = nullptr;
};

/// One request's pass through its router's interceptors.
struct server_hooks : interception<server_interceptor_list> {
  explicit server_hooks(const server_interceptors* set) noexcept : m_set(set) {
    if (set != nullptr) list = &set->list;
  }
  /// As interception::before; only when `installed()`.
  [[nodiscard]] status before(call_context& context) { return m_set->before(*this, context); }
  /// As interception::after.
  void after(call_context& context, const status& outcome) noexcept {
    if (ran != 0) m_set->after(*this, context, outcome);
  }

 private:
  const server_interceptors* m_set;
};

/// How a handler's result ended the request, for the interceptors.
template <class X>
status outcome_of(const X& produced) {
  if constexpr (is_result<std::remove_cvref_t<X>>::value) {
    return produced.has_value() ? status{} : produced.error();
  } else {
    (void)produced;
    return {};
  }
}

}  // namespace duet::inline v0::detail
