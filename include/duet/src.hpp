#pragma once

/// \file
/// Compiles duet's non-template code once, for programs built with
/// DUET_SEPARATE_COMPILATION (see <duet/config.hpp>). Include it in exactly
/// one translation unit of the program, as that file's only duet include:
///
///     // duet.cpp, compiled with -DDUET_SEPARATE_COMPILATION like the rest
///     #include <duet/src.hpp>
///
/// Every other translation unit includes duet's headers as usual and, with
/// the macro defined, reads only their declarations.

#if !defined(DUET_SEPARATE_COMPILATION)
#error "<duet/src.hpp> is for programs built with DUET_SEPARATE_COMPILATION defined in every translation unit; a header-only program does not need it"
#endif
#if defined(DUET_CONFIG_INCLUDED)
#error "include <duet/src.hpp> before any other duet header in its translation unit: the definitions of headers read earlier were skipped"
#endif

#define DUET_DETAIL_COMPILING_SOURCE 1
#include <duet/duet.hpp>
