#pragma once

/// \file
/// Everything duet offers, in one include: for examples and quick starts.
/// No duet header includes this one; larger programs include what they use.

#include <duet/bytes.hpp>
#include <duet/result.hpp>
#include <duet/status.hpp>
#include <duet/version.hpp>

#include <duet/coro/async_event.hpp>
#include <duet/coro/async_scope.hpp>
#include <duet/coro/concepts.hpp>
#include <duet/coro/sync_wait.hpp>
#include <duet/coro/task.hpp>
#include <duet/coro/when_all.hpp>

#include <duet/loop/async_fd.hpp>
#include <duet/loop/backoff.hpp>
#include <duet/loop/deadline.hpp>
#include <duet/loop/event_loop.hpp>
#include <duet/loop/scheduler.hpp>

#include <duet/transport/endpoint.hpp>
#include <duet/transport/memory.hpp>
#include <duet/transport/tcp.hpp>
#include <duet/transport/transport.hpp>
#include <duet/transport/unix.hpp>

#include <duet/codec/codec.hpp>
#include <duet/wire/frame.hpp>
#include <duet/wire/metadata.hpp>

#include <duet/session/call_options.hpp>
#include <duet/session/session.hpp>
#include <duet/session/session_options.hpp>

#include <duet/rpc/client.hpp>
#include <duet/rpc/context.hpp>
#include <duet/rpc/method.hpp>
#include <duet/rpc/peer.hpp>
#include <duet/rpc/reconnect.hpp>
#include <duet/rpc/retry_policy.hpp>
#include <duet/rpc/router.hpp>
#include <duet/rpc/server.hpp>

#include <duet/stream/client_stream.hpp>
#include <duet/stream/flow_control.hpp>
#include <duet/stream/handler.hpp>
#include <duet/stream/io.hpp>
#include <duet/stream/stream.hpp>
