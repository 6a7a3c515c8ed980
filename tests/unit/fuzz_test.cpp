// Fuzz smoke test: seeded random mutations of the examples and the golden diagnostic files, each
// run through `grove check` (with and without elaborating the mappings at tiny sizes) and, when it
// passes, `grove explain`, and with sizes `grove run`, the lowering and the emulator. Every run
// must end with exit status 0 or 1 and no exception; a crash, hang or sanitizer report fails the
// test process. The seed of a failing case is printed.
//
//   GROVE_FUZZ_SEED=N         first seed (default a fixed one); case i uses seed N + i
//   GROVE_FUZZ_ITERATIONS=N   number of cases (default 3000); raise it for a longer soak
//
// To replay one case: GROVE_FUZZ_SEED=<printed seed> GROVE_FUZZ_ITERATIONS=1.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <sstream>
#include <thread>
#include <unistd.h>

#include "cli/commands.h"
#include "test_util.h"

namespace fs = std::filesystem;

namespace {

// The .grove files of one folder of the source tree, in name order (the same on every machine).
std::vector<std::string> corpus(const char* dir) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(fs::path(GROVE_SOURCE_DIR) / dir))
    if (e.path().extension() == ".grove") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  std::vector<std::string> out;
  for (const fs::path& f : files) out.push_back(grove::test::read_text(f));
  return out;
}

uint64_t env_u64(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  return std::strtoull(v, nullptr, 10);
}

// Where the cases are written: memory (/dev/shm) unless TMPDIR says otherwise, since rewriting a
// file thousands of times on a disk file system waits for writeback.
fs::path scratch_dir() {
  std::error_code ec;
  if (!std::getenv("TMPDIR") && fs::is_directory("/dev/shm", ec) && access("/dev/shm", W_OK) == 0)
    return "/dev/shm";
  return fs::temp_directory_path();
}

// Token-ish spans: identifiers, numbers, strings, single punctuation, runs of white space.
std::vector<std::string> spans(const std::string& s) {
  std::vector<std::string> out;
  size_t i = 0;
  auto is_word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  while (i < s.size()) {
    size_t j = i + 1;
    if (is_word(s[i])) {
      while (j < s.size() && (is_word(s[j]) || s[j] == '.')) ++j;
    } else if (std::isspace(static_cast<unsigned char>(s[i]))) {
      while (j < s.size() && std::isspace(static_cast<unsigned char>(s[j]))) ++j;
    } else if (s[i] == '"') {
      while (j < s.size() && s[j] != '"' && s[j] != '\n') ++j;
      if (j < s.size() && s[j] == '"') ++j;
    }
    out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

// Words swapped in for identifiers: keywords, levels, memories, built-ins and common names.
const char kWords[] =
    "task variant mapping import inner leaf reference tunable local let launch for in srange "
    "prange mma trans tile rows cols mma_frag cdiv sum max min select exp2 instance entry memory "
    "call HOST BLOCK WARPGROUP WARP THREAD NONE SHARED REGISTER GLOBAL read write readwrite f16 "
    "f32 bf16 e4m3 int float inf auto true false pipeline cluster C A B M N K i j m64n8k16 "
    "m64n256k16 m64n12k16 m99999999999n8k16 smem_bytes persistent warp_specialize pingpong overlap "
    "type T";
// Numbers swapped in for numbers: zero, negative, odd, around 2^31, 2^32 and 2^40, too large.
const char kNumbers[] = "0 -1 1 2 3 7 8 16 63 64 65 96 128 255 256 1099511627776 1099511627777 "
                        "4294967296 99999999999999999999999 0.5 1e308 1e999 -0.0 2147483648";

std::vector<std::string> words_of(const char* text) {
  std::istringstream in(text);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

const char kPunct[] = "()[]{},;:.=+-*/%<>!@\"#$\\\n\t&|";

class Mutator {
public:
  // `donors`: source lines of the whole corpus, spliced in to make new combinations of statements.
  Mutator(uint64_t seed, const std::vector<std::string>& donors) : rng_(seed), donors_(donors) {}

  // Inserts one to three lines taken from anywhere in the corpus at line starts.
  std::string splice_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) lines.push_back(l + "\n");
    for (int r = 0, n = 1 + static_cast<int>(pick(3)); r < n && !donors_.empty(); ++r)
      lines.insert(lines.begin() + static_cast<long>(pick(lines.size() + 1)),
                   donors_[pick(donors_.size())]);
    std::string out;
    for (const std::string& l : lines) out += l;
    return out;
  }

  // Replaces one to three numbers only: the program usually still checks, so the mappings are
  // elaborated with odd tile sizes.
  std::string mutate_numbers(const std::string& text) {
    std::vector<std::string> t = spans(text);
    std::vector<size_t> numbers;
    for (size_t k = 0; k < t.size(); ++k)
      if (std::isdigit(static_cast<unsigned char>(t[k][0]))) numbers.push_back(k);
    for (int r = 0, n = 1 + static_cast<int>(pick(3)); r < n && !numbers.empty(); ++r)
      t[numbers[pick(numbers.size())]] = numbers_[pick(numbers_.size())];
    std::string out;
    for (const std::string& s : t) out += s;
    return out;
  }

  std::string mutate(const std::string& text) {
    std::vector<std::string> t = spans(text);
    int rounds = 1 + static_cast<int>(pick(4));
    for (int r = 0; r < rounds && !t.empty(); ++r) {
      size_t a = pick(t.size());
      size_t len = 1 + pick(std::min<size_t>(8, t.size() - a));
      switch (pick(11)) {
      case 0: // delete a span
        t.erase(t.begin() + a, t.begin() + a + len);
        break;
      case 1: { // duplicate a span
        std::vector<std::string> copy(t.begin() + a, t.begin() + a + len);
        t.insert(t.begin() + a, copy.begin(), copy.end());
        break;
      }
      case 2: // swap two tokens
        std::swap(t[a], t[pick(t.size())]);
        break;
      case 3: // insert punctuation
        t.insert(t.begin() + a, std::string(1, kPunct[pick(sizeof kPunct - 1)]));
        break;
      case 4: // replace a number, or any token, with an awkward number
        for (size_t k = a; k < t.size(); ++k)
          if (std::isdigit(static_cast<unsigned char>(t[k][0]))) {
            a = k;
            break;
          }
        t[a] = numbers_[pick(numbers_.size())];
        break;
      case 5: // replace a word with a keyword or a common name
        for (size_t k = a; k < t.size(); ++k)
          if (std::isalpha(static_cast<unsigned char>(t[k][0]))) {
            a = k;
            break;
          }
        t[a] = words_[pick(words_.size())];
        break;
      case 6: // replace a token with another token of the file
        t[a] = t[pick(t.size())];
        break;
      case 7: // truncate
        t.resize(a);
        break;
      case 8: { // a stray byte, perhaps not ASCII
        char c = static_cast<char>(pick(256));
        t.insert(t.begin() + a, std::string(1, c));
        break;
      }
      case 9: { // deep nesting or a long operator chain
        static const char* open[] = {"(", "[", "{", "-", "!", "x + ", "a[0]"};
        const char* o = open[pick(7)];
        std::string s;
        size_t n = 1 + pick(400);
        for (size_t k = 0; k < n; ++k) s += o;
        t.insert(t.begin() + a, s);
        break;
      }
      default: // move a span elsewhere
        if (a + len <= t.size()) {
          std::vector<std::string> moved(t.begin() + a, t.begin() + a + len);
          t.erase(t.begin() + a, t.begin() + a + len);
          size_t to = pick(t.size() + 1);
          t.insert(t.begin() + to, moved.begin(), moved.end());
        }
        break;
      }
    }
    std::string out;
    for (const std::string& s : t) out += s;
    return out;
  }

private:
  std::mt19937_64 rng_;
  const std::vector<std::string>& donors_;
  const std::vector<std::string> words_ = words_of(kWords);
  const std::vector<std::string> numbers_ = words_of(kNumbers);
  size_t pick(size_t n) { return n == 0 ? 0 : static_cast<size_t>(rng_() % n); }
};

// Aborts the process, naming the seed, if one case runs for too long (a hang).
class Watchdog {
public:
  Watchdog(std::chrono::seconds limit, std::string file)
      : limit_(limit), file_(std::move(file)), thread_([this] { watch(); }) {}
  ~Watchdog() {
    done_ = true;
    thread_.join();
  }
  void start(uint64_t seed) {
    seed_ = seed;
    since_ = std::chrono::steady_clock::now().time_since_epoch().count();
  }
  void stop() { since_ = 0; }

private:
  std::chrono::seconds limit_;
  const std::string file_;
  std::atomic<bool> done_{false};
  std::atomic<uint64_t> seed_{0};
  std::atomic<int64_t> since_{0};
  std::thread thread_;

  void watch() {
    while (!done_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      auto now = std::chrono::steady_clock::now().time_since_epoch().count();
      if (since_ && std::chrono::steady_clock::duration(now - since_) > limit_) {
        std::cerr << "fuzz: case with seed " << seed_ << " runs longer than " << limit_.count()
                  << " s (a hang?); its input is " << file_ << "\n";
        std::abort();
      }
    }
  }
};

TEST(Fuzz, MutatedProgramsNeverCrash) {
  const std::vector<std::string> examples = corpus("examples");
  const std::vector<std::string> golden = corpus("tests/diagnostics");
  ASSERT_FALSE(examples.empty());
  ASSERT_FALSE(golden.empty());
  std::vector<std::string> donors;
  for (const auto* set : {&examples, &golden})
    for (const std::string& text : *set) {
      std::istringstream in(text);
      for (std::string l; std::getline(in, l);)
        if (l.find_first_not_of(" \t") != std::string::npos && l.rfind("//", 0) != 0)
          donors.push_back(l + "\n");
    }
  const uint64_t first = env_u64("GROVE_FUZZ_SEED", 20260523);
  const uint64_t iterations = env_u64("GROVE_FUZZ_ITERATIONS", 3000);
  fs::path dir = scratch_dir() / ("grove_fuzz_" + std::to_string(getpid()));
  fs::create_directories(dir);
  fs::path file = dir / "case.grove";
  Watchdog dog(std::chrono::seconds(20), file.string());
  auto t0 = std::chrono::steady_clock::now();
  uint64_t failures = 0, passed = 0;
  double t_check = 0, t_elaborate = 0, t_run = 0, t_explain = 0, t_lower = 0;
  auto since = [](std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  };

  for (uint64_t it = 0; it < iterations && failures < 5; ++it) {
    uint64_t seed = first + it;
    Mutator mu(seed, donors);
    // Half the cases start from an example: a quarter with only numbers changed, a quarter with
    // lines spliced in from elsewhere, half with token edits. The other half mutate golden files.
    const std::string& ex = examples[seed / 8 % examples.size()];
    std::string text;
    switch (seed % 8) {
    case 0:
      text = mu.mutate_numbers(ex);
      break;
    case 1:
      text = mu.splice_lines(ex);
      break;
    case 2:
    case 3:
      text = mu.mutate(ex);
      break;
    case 4:
      text = mu.splice_lines(golden[seed / 8 % golden.size()]);
      break;
    default:
      text = mu.mutate(golden[seed / 2 % golden.size()]);
    }
    std::ofstream(file, std::ios::binary | std::ios::trunc) << text;
    dog.start(seed);

    grove::CliOptions plain;
    plain.file = file.string();
    grove::CliOptions sized = plain;
    // Tiny sizes under every name the corpus uses, and a short budget of launches.
    for (const char* n : {"M", "N", "K", "BH", "S", "D", "R", "C", "B", "SK", "TM", "TN", "BR"})
      sized.sizes[n] = 64;
    sized.max_steps = 20000;
    sized.seed = seed;
    for (const grove::CliOptions* o : {&plain, &sized}) {
      std::ostringstream out, err;
      int rc = -1;
      std::string what;
      try {
        auto c0 = std::chrono::steady_clock::now();
        rc = grove::cmd_check(*o, out, err);
        (o == &plain ? t_check : t_elaborate) += since(c0);
        if (rc == 0) {
          // What passes is also explained and, with sizes, run on the CPU.
          std::ostringstream eo, ee;
          auto e0 = std::chrono::steady_clock::now();
          int erc = grove::cmd_explain(*o, eo, ee);
          t_explain += since(e0);
          if (erc != 0 && erc != 1) rc = erc;
          if (o == &sized) {
            grove::CliOptions small = sized; // smaller still: leaves compute
            for (auto& [n, v] : small.sizes) v = n == "BH" ? 1 : 16;
            small.max_steps = 2000;
            std::ostringstream ro, re;
            auto r0 = std::chrono::steady_clock::now();
            int rrc = grove::cmd_run(small, ro, re);
            t_run += since(r0);
            if (rrc != 0 && rrc != 1) rc = rrc;
            // And lowered: the IR after the last pass, then the kernels in the emulator.
            grove::CliOptions lowered = small;
            lowered.after = "kernel-ir";
            std::ostringstream lo, le;
            auto l0 = std::chrono::steady_clock::now();
            int lrc = grove::cmd_explain(lowered, lo, le);
            if (lrc != 0 && lrc != 1) rc = lrc;
            if (lrc == 0) {
              grove::CliOptions emu = small;
              emu.emulate = true;
              std::ostringstream mo, me;
              int mrc = grove::cmd_run(emu, mo, me);
              if (mrc != 0 && mrc != 1) rc = mrc;
            }
            t_lower += since(l0);
          }
        }
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
        what = "an unknown exception";
      }
      if (!what.empty() || (rc != 0 && rc != 1)) {
        ++failures;
        fs::path keep = dir / ("failure_" + std::to_string(seed) + ".grove");
        std::ofstream(keep, std::ios::binary) << text;
        ADD_FAILURE() << "seed " << seed << (o == &sized ? " (with sizes)" : "")
                      << (what.empty() ? ": exit status " + std::to_string(rc)
                                       : ": exception escaped: " + what)
                      << "\n  input kept in " << keep << "\n  replay: GROVE_FUZZ_SEED=" << seed
                      << " GROVE_FUZZ_ITERATIONS=1";
      }
      if (o == &plain && rc == 0) ++passed;
    }
  }
  dog.stop();
  double secs = since(t0);
  std::cout << "fuzz: " << iterations << " cases from seed " << first << " in " << secs
            << " s: check " << t_check << " s, check --size " << t_elaborate << " s, explain "
            << t_explain << " s, run " << t_run << " s, lower and emulate " << t_lower << " s; "
            << passed << " still passed `grove check`\n";
  if (failures == 0) fs::remove_all(dir);
}

// Inputs that once crashed, hung or overflowed, each checked on its own.
struct Outcome {
  int rc;
  std::string err;
};

Outcome check_text(const std::string& text, std::map<std::string, int64_t> sizes = {},
                   int64_t max_steps = 0) {
  fs::path file = scratch_dir() / ("grove_fuzz_regression_" + std::to_string(getpid()) + ".grove");
  std::ofstream(file, std::ios::binary | std::ios::trunc) << text;
  grove::CliOptions o;
  o.file = file.string();
  o.sizes = std::move(sizes);
  o.max_steps = max_steps;
  std::ostringstream out, err;
  int rc = grove::cmd_check(o, out, err);
  fs::remove(file);
  return {rc, err.str()};
}

Outcome run_regression(const std::string& text, std::map<std::string, int64_t> sizes) {
  fs::path file = scratch_dir() / ("grove_fuzz_regression_" + std::to_string(getpid()) + ".grove");
  std::ofstream(file, std::ios::binary | std::ios::trunc) << text;
  grove::CliOptions o;
  o.file = file.string();
  o.sizes = std::move(sizes);
  o.seed = 1;
  std::ostringstream out, err;
  int rc = grove::cmd_run(o, out, err);
  fs::remove(file);
  return {rc, err.str()};
}

std::string repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

const char* kFill = R"(
task fill(C: write f32[M, N]);
task fill_tile(C: write f32[BM, BN]);
variant fill.tiles inner {
  tunable BM, BN;
  for i, j in prange(cdiv(M, BM), cdiv(N, BN)) {
    launch fill_tile(tile(C, BM, BN)[i, j]);
  }
}
variant fill_tile.zero leaf {
  C[i, j] = 0.0;
}
)";

TEST(FuzzRegression, DeepNestingIsAnErrorNotAStackOverflow) {
  for (const char* open : {"(", "-", "!", "a["}) {
    Outcome r = check_text("task t(x: int = " + repeat(open, 100000) + "1);");
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.err.find("nesting is too deep"), std::string::npos) << r.err;
  }
}

TEST(FuzzRegression, LongOperatorChainsAreBounded) {
  Outcome r = check_text("task t(x: int = 1" + repeat(" + 1", 200000) + ");");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("nesting is too deep"), std::string::npos) << r.err;
  r = check_text("variant t.v inner { let x = a" + repeat("[0]", 100000) + "; }");
  EXPECT_EQ(r.rc, 1);
}

TEST(FuzzRegression, IntegerOverflowInElaborationIsReported) {
  Outcome r = check_text(std::string(kFill) + R"(
variant fill.big inner {
  tunable BM;
  let n = BM * BM * BM * BM;
  launch fill_tile(tile(C, n, n)[0, 0]);
}
mapping m {
  entry host;
  instance host = fill.big @ HOST { tunable BM = 1099511627776; }
  instance block = fill_tile.zero @ BLOCK { }
}
)",
                         {{"M", 64}, {"N", 64}});
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("integer overflow in '(BM * BM)'"), std::string::npos) << r.err;
}

TEST(FuzzRegression, HugeTilesAndLocalsAreErrorsNotAllocations) {
  std::string huge_tiles = std::string(kFill) + R"(
mapping m {
  entry host;
  instance host = fill.tiles @ HOST { tunable BM = 1099511627776, BN = 1099511627776; }
  instance block = fill_tile.zero @ BLOCK { }
}
)";
  Outcome r = check_text(huge_tiles, {{"M", 64}, {"N", 64}});
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("too large for the CPU interpreter"), std::string::npos) << r.err;

  std::string huge_local = R"(
task t(C: write f32[M, N]);
task z(C: write f32[M, N]);
variant t.v inner {
  tunable BM;
  local acc: f32[BM, BM, BM];
  launch z(C);
}
variant z.v leaf { C[i, j] = 0.0; }
mapping m {
  entry host;
  instance host = t.v @ HOST { tunable BM = 1048576; }
  instance leaf = z.v @ HOST { }
}
)";
  r = check_text(huge_local, {{"M", 64}, {"N", 64}});
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("local 'acc' [1048576, 1048576, 1048576] is too large"), std::string::npos)
      << r.err;
}

TEST(FuzzRegression, EnormousLoopsStopAtTheStepBound) {
  std::string text = R"(
task t(C: write f32[M, N]);
variant t.v inner {
  for i, j, k in srange(1099511627776, 1099511627776, 1099511627776) {
    let x = i;
  }
}
mapping m {
  entry host;
  instance host = t.v @ HOST { }
}
)";
  Outcome r = check_text(text, {{"M", 64}, {"N", 64}}, 1000);
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("more than 1000 launches and loop iterations"), std::string::npos) << r.err;
}

TEST(FuzzRegression, OddValuesInMappingsAndShapes) {
  // An MMA shape whose numbers overflow int, a cluster whose size overflows int, an int scalar
  // with a default that is not a whole number.
  Outcome r = check_text(R"(
task t(C: readwrite f32[M, N]);
variant t.v inner { let f = mma_frag(C, C, m99999999999n8k16, WARPGROUP); }
)");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("expected an MMA shape"), std::string::npos) << r.err;
  r = check_text(std::string(kFill) + R"(
mapping m {
  entry host;
  instance host = fill.tiles @ HOST { tunable BM = 64, BN = 64; }
  instance block = fill_tile.zero @ BLOCK { cluster = (65536, 65536); }
}
)");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("cluster shape (65536, 65536) is not supported"), std::string::npos)
      << r.err;
  r = check_text(R"(
task t(C: write f32[M], n: int = 1e300);
variant t.v leaf { C[i] = 0.0; }
mapping m {
  entry host;
  instance host = t.v @ HOST { }
}
)",
                 {{"M", 64}});
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("not a whole number"), std::string::npos) << r.err;
}

TEST(FuzzRegression, ReductionIndexExtentsMustAgree) {
  // k ranges over K = 8 (from A) but B has only N = 4 entries: an error, not a read past B.
  std::string text = R"(
task t(C: write f32[M], A: read f32[M, K], B: read f32[N]);
variant t.v leaf { C[i] = sum[k](A[i, k] * B[k]); }
mapping m {
  entry h;
  instance h = t.v @ HOST { }
}
)";
  Outcome r = run_regression(text, {{"M", 4}, {"K", 8}, {"N", 4}});
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("reduction index 'k' ranges over more than 4"), std::string::npos) << r.err;
  // With literal shapes the checker sees it.
  r = check_text("task t(C: write f32[4], A: read f32[4, 8], B: read f32[4]);\n"
                 "variant t.v leaf { C[i] = sum[k](A[i, k] * B[k]); }\n");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("index 'k' ranges over 8 in 'A' but 4 in 'B'"), std::string::npos) << r.err;
}

} // namespace
