// Runs a fuzz target without libFuzzer: the seed inputs, then a fixed number
// of deterministic mutations of them (so a failure reproduces). libFuzzer
// proper runs from scripts/fuzz.sh.
//   fuzz_replay [ITERATIONS]
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

std::string current;  // the input under test, printed if the target aborts

void print_current(int) {
  std::fputs("fuzz_replay: the target failed on: \"", stderr);
  for (unsigned char c : current) {
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') std::fputc(c, stderr);
    else std::fprintf(stderr, "\\x%02x", c);
  }
  std::fputs("\"\n", stderr);
  std::signal(SIGABRT, SIG_DFL);
}

}  // namespace

int main(int argc, char** argv) {
  const long iterations = argc > 1 ? std::atol(argv[1]) : 200'000;
  const std::vector<std::string> seeds = {
      "/counter/alice/inc", "/counter/~0123abcd/x?y=1", "/a%20b/c%2Fd", "/ns/%", "/ns/%4", "/ns/%zz", "/ns/%00",
      "//x", "/ns/", "/", "", "?", "/x/y#frag", "/%41%42/%43", "/ns/~", "/ns/name/../../etc"};
  std::signal(SIGABRT, print_current);
  auto run = [](const std::string& s) {
    current = s;
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
  };
  for (auto& s : seeds) run(s);
  std::mt19937_64 rng(20261122);
  const std::string alphabet("/%?#~aZ09-._\0\xff" "2Ffx", 18);
  for (long i = 0; i < iterations; ++i) {
    std::string s = seeds[rng() % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 6);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = s.empty() ? 0 : rng() % (s.size() + 1);
      const char c = static_cast<char>(rng() % 4 == 0 ? rng() % 256 : alphabet[rng() % alphabet.size()]);
      switch (rng() % 3) {
        case 0: s.insert(s.begin() + static_cast<std::ptrdiff_t>(at), c); break;
        case 1: if (at < s.size()) s.erase(at, 1); break;
        default: if (at < s.size()) s[at] = c; break;
      }
    }
    run(s);
  }
  std::printf("fuzz_replay: %zu seeds and %ld mutations passed\n", seeds.size(), iterations);
  return 0;
}
