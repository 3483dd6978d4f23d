// A main for fuzz targets built without libFuzzer: feeds each input through
// LLVMFuzzerTestOneInput once, so a corpus runs as an ordinary test (and under
// the sanitizers of whatever build compiles it).
//
//   duet_fuzz_<target>_replay <file-or-directory>...
//
// A directory stands for every regular file under it, in sorted order so runs
// are reproducible. A crash or a failed check inside the target aborts the
// process; otherwise the exit status is 0, or 1 if an input could not be read.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

bool run_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "replay: cannot open %s\n", path.c_str());
    return false;
  }
  const std::vector<char> bytes{std::istreambuf_iterator<char>(in),
                                std::istreambuf_iterator<char>()};
  // Copy into an exact-size heap block so ASan sees reads past the end.
  std::vector<std::uint8_t> input(bytes.begin(), bytes.end());
  LLVMFuzzerTestOneInput(input.data(), input.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::filesystem::path> inputs;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path arg = argv[i];
    std::error_code ec;
    if (std::filesystem::is_directory(arg, ec)) {
      for (const auto& entry : std::filesystem::recursive_directory_iterator(arg)) {
        if (entry.is_regular_file()) inputs.push_back(entry.path());
      }
    } else {
      inputs.push_back(arg);
    }
  }
  std::sort(inputs.begin(), inputs.end());

  int status = 0;
  for (const auto& path : inputs) {
    if (!run_file(path)) status = 1;
  }
  std::printf("replay: %zu input(s) run\n", inputs.size());
  return status;
}
