// The first of two translation units that include every duet header (see main.cpp).
#include "duet_all_headers.hpp"

const unsigned* duet_odr_first() { return &duet::protocol_version; }
