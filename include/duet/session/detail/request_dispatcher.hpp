#pragma once

#include <duet/wire/frame.hpp>

namespace duet::inline v0::detail {

class session_core;

/// What the session hands an incoming request or notification to: the rpc
/// layer's router implements it. Called on the loop thread from inside the
/// reader; the frame's views are valid only during the call, so a handler
/// that runs on decodes its arguments first.
class request_dispatcher {
 public:
  virtual void dispatch(session_core& session, const frame_view& frame) = 0;

 protected:
  ~request_dispatcher() = default;
};

}  // namespace duet::inline v0::detail
