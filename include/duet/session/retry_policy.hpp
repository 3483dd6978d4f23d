#pragma once

/// \file
/// Kept so that programs that include it keep compiling: `duet::retry_policy`
/// is client policy, declared in <duet/rpc/retry_policy.hpp>.

#include <duet/rpc/retry_policy.hpp>
