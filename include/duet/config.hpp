#pragma once

/// \file
/// duet's configuration macros. Define them for every translation unit of a
/// program alike (on the compiler's command line, or by the build system),
/// never in one source file only: a function compiled two ways in one
/// program breaks the one-definition rule without a word from the linker.
///
/// \def DUET_SEPARATE_COMPILATION
/// Off by default: duet is header-only, and every translation unit that uses
/// the session, the loop or a transport compiles them again (the price is
/// compile time, see docs/performance.md). Defined, the headers keep only
/// declarations for the code that does not depend on a user's types, and one
/// translation unit of the program compiles it, by including
/// `<duet/src.hpp>` and nothing else of duet. Templates (calls, handlers,
/// codecs, `session<Transport>`) stay in the headers either way. Nothing
/// else changes: the same API, the same behaviour; a call crosses one more
/// function boundary unless the program is built with link-time optimisation.
///
/// \def DUET_NO_FRAME_CACHE
/// Turns off the per-thread cache of coroutine frames
/// (`coro/detail/frame_cache.hpp`), for heap profilers that should see every
/// frame as its own allocation.

// Set once this header has been read, so that <duet/src.hpp> can tell that it
// came first in its translation unit (see there).
#define DUET_CONFIG_INCLUDED 1

// DUET_INLINE marks the definition of a function that is not a template:
// `inline` when it is compiled in every translation unit that includes its
// header, nothing when <duet/src.hpp> compiles it once. DUET_HEADER_DEFINITIONS
// is 1 where those definitions are read: every translation unit in the
// header-only mode, only <duet/src.hpp>'s in the separate one.
#if !defined(DUET_SEPARATE_COMPILATION)
#define DUET_INLINE inline
#define DUET_HEADER_DEFINITIONS 1
#elif defined(DUET_DETAIL_COMPILING_SOURCE)
#define DUET_INLINE
#define DUET_HEADER_DEFINITIONS 1
#else
#define DUET_INLINE
#define DUET_HEADER_DEFINITIONS 0
#endif
