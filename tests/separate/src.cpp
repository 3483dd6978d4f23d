// The one translation unit that compiles duet's non-template code for the
// programs of tests/separate, which are built with DUET_SEPARATE_COMPILATION.
#include <duet/src.hpp>
