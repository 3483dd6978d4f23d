// Links first.cpp and second.cpp, which both include every duet header: a
// definition in a header that is not inline, a template or constexpr breaks the
// link with a duplicate symbol. Running the program checks that both units see
// one and the same inline variable.
const unsigned* duet_odr_first();
const unsigned* duet_odr_second();

int main() { return duet_odr_first() == duet_odr_second() ? 0 : 1; }
