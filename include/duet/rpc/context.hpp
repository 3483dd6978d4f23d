#pragma once

#include <duet/loop/event_loop.hpp>

#include <cstdint>
#include <string_view>

namespace duet::inline v0 {

/// What a handler may know about the request it serves. A handler that
/// wants it takes `duet::call_context&` as its first parameter:
///
///     router.on(kv_get, [](duet::call_context& ctx, std::string key) { ... });
///
/// The context is valid until the handler returns (for a coroutine
/// handler: until its task completes). Later versions add the deadline, a
/// stop token and metadata here.
class call_context {
 public:
  call_context(event_loop& loop, std::string_view method_name, std::uint32_t method_id,
               bool expects_response) noexcept
      : m_loop(&loop), m_method_name(method_name), m_method_id(method_id), m_expects_response(expects_response) {}

  /// The loop the connection runs on; a coroutine handler runs there too.
  [[nodiscard]] event_loop& loop() const noexcept { return *m_loop; }
  /// The name of the method being served.
  [[nodiscard]] std::string_view method_name() const noexcept { return m_method_name; }
  /// The method's wire id.
  [[nodiscard]] std::uint32_t method_id() const noexcept { return m_method_id; }
  /// False for a notification: whatever the handler returns is discarded.
  [[nodiscard]] bool expects_response() const noexcept { return m_expects_response; }

 private:
  event_loop* m_loop;
  std::string_view m_method_name;
  std::uint32_t m_method_id;
  bool m_expects_response;
};

}  // namespace duet::inline v0
