// expect-error: .*
// A valid program: the harness must report it, since it was meant not to compile.
int main() { return 0; }
