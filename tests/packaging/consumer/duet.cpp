// The consumer's one translation unit that compiles duet's non-template code,
// for the consumer_separate program (built with DUET_SEPARATE_COMPILATION).
#include <duet/src.hpp>
