#pragma once

/// \def DUET_VERSION_MAJOR
/// duet's release version: a change of major version may break the API.
#define DUET_VERSION_MAJOR 0
#define DUET_VERSION_MINOR 1
#define DUET_VERSION_PATCH 0

namespace duet::inline v0 {

/// The version of the native wire protocol this build speaks; it is the
/// `version` byte of every frame header (docs/protocol.md).
inline constexpr unsigned protocol_version = 1;

}  // namespace duet::inline v0
