// expect-error: this sentence is not in any compiler diagnostic
// Fails to compile, but not with the expected message: the harness must report it.
int main() { return undeclared_name; }
